"""The checklists API (docs/api.md), and what it shares with the gates endpoints.

Each endpoint: it works for the allowed role, refuses the others, and answers bad input
with a 4xx JSON body naming the field. A small project of our own (two automated gates,
two manual ones, three checklists) keeps the expectations readable.
"""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from checklists.models import ChecklistItem
from checklists.services import checklist_template_save
from liftoff.tokens import token_create
from releases.services import release_create
from tests.release_api import HEAD, _post

pytestmark = pytest.mark.django_db


def _items(release) -> dict:
    return {i.title: i for i in ChecklistItem.objects.filter(release=release)}


def _bearer(raw: str) -> dict:
    return {"Authorization": f"Bearer {raw}"}


def test_reading_gates_and_checklists_needs_a_signed_in_user(client, release):
    for path in ("gates", "checklists"):
        response = client.get(f"/api/v1/releases/{release.pk}/{path}/")
        assert response.status_code == 401
        assert response.json()["detail"]


def test_unknown_release_is_a_404_json(client_as, stakeholder):
    response = client_as(stakeholder).get("/api/v1/releases/999999/gates/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "errors": {}}


def test_a_project_token_cannot_read(client, release, admin_user):
    _, raw = token_create(actor=admin_user, name="ci", project=release.project)
    response = client.get(f"/api/v1/releases/{release.pk}/gates/", headers=_bearer(raw))
    assert response.status_code == 403


@pytest.fixture
def ci_token(admin_user, project):
    token, raw = token_create(actor=admin_user, name="CI", project=project)
    return token, raw


def _report(run_id="pipeline-41", **extra):
    return {
        "run_id": run_id,
        "commit": HEAD,
        "results": [
            {"gate": "coverage", "value": 92.4, "report": "<coverage line-rate='0.924'/>"},
            {"gate": "vulns", "value": 2},
        ],
        **extra,
    }


def _approve(client, release, gate, decision="approve", comment="Looks good."):
    return _post(
        client,
        f"/api/v1/releases/{release.pk}/approvals/",
        {"gate": gate, "decision": decision, "comment": comment},
    )


def _waive(client, release, gate, reason="Accepted: the finding is in a test fixture."):
    return _post(
        client, f"/api/v1/releases/{release.pk}/waivers/", {"gate": gate, "reason": reason}
    )


def test_every_role_reads_the_checklists_by_phase_with_progress(release, client_as, stakeholder):
    response = client_as(stakeholder).get(f"/api/v1/releases/{release.pk}/checklists/")
    assert response.status_code == 200
    phases = response.json()
    assert [p["phase"] for p in phases] == ["preparation", "validation", "staging"]
    preparation = phases[0]
    assert (preparation["label"], preparation["done"], preparation["total"]) == (
        "Preparation",
        0,
        2,
    )
    checklist = preparation["checklists"][0]
    assert (checklist["name"], checklist["done"], checklist["total"]) == ("Pre-release", 0, 2)
    item = checklist["items"][0]
    assert item["title"] == "Branch cut"
    assert item["kind"] == "check" and item["required"] is True
    assert item["done"] is False and item["complete"] is False
    assert item["updated_by"] is None and item["updated_at"] is None
    assert checklist["items"][1]["required"] is False
    assert phases[1]["checklists"][0]["items"][0]["kind"] == "scenario"


def test_manager_ticks_an_item_and_the_progress_follows(release, client_as, manager):
    client = client_as(manager)
    item = _items(release)["Branch cut"]
    response = _post(client, f"/api/v1/checklist-items/{item.pk}/", {"done": True, "note": "ok"})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["done"] is True and body["complete"] is True
    assert body["note"] == "ok"
    assert body["updated_by"] == "manager-user" and body["updated_at"]
    phases = client.get(f"/api/v1/releases/{release.pk}/checklists/").json()
    assert (phases[0]["done"], phases[0]["total"]) == (1, 2)
    unticked = _post(client, f"/api/v1/checklist-items/{item.pk}/", {"done": False})
    assert unticked.json()["done"] is False and unticked.json()["note"] == "ok"


def test_a_scenario_gets_a_result_which_can_be_cleared(release, client_as, manager):
    client = client_as(manager)
    url = f"/api/v1/checklist-items/{_items(release)['Smoke scenario'].pk}/"
    passed = _post(client, url, {"result": "pass"})
    assert passed.status_code == 200
    assert passed.json()["result"] == "pass" and passed.json()["complete"] is True
    cleared = _post(client, url, {"result": ""})
    assert cleared.json()["result"] == "" and cleared.json()["complete"] is False


@pytest.mark.parametrize(
    ("title", "body", "field"),
    [
        ("Smoke scenario", {"result": "maybe"}, "result"),
        ("Smoke scenario", {"done": True}, "done"),
        ("Branch cut", {"result": "pass"}, "result"),
        ("Branch cut", {"done": "perhaps"}, "done"),
        ("Branch cut", {"note": "x" * 2001}, "note"),
    ],
)
def test_a_bad_item_change_is_refused_naming_the_field(
    release, client_as, manager, title, body, field
):
    response = _post(
        client_as(manager), f"/api/v1/checklist-items/{_items(release)[title].pk}/", body
    )
    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"]


def test_an_empty_item_change_is_refused(release, client_as, manager):
    item = _items(release)["Branch cut"]
    response = _post(client_as(manager), f"/api/v1/checklist-items/{item.pk}/", {})
    assert response.status_code == 400
    assert response.json()["detail"] == "Nothing to change: send done, result or note."


def test_only_release_managers_tick(release, client, client_as, approver, stakeholder):
    item = _items(release)["Branch cut"]
    url = f"/api/v1/checklist-items/{item.pk}/"
    assert _post(client, url, {"done": True}).status_code == 401
    for user in (approver, stakeholder):
        assert _post(client_as(user), url, {"done": True}).status_code == 403
    item.refresh_from_db()
    assert item.done is False
    assert _post(client_as(approver), "/api/v1/checklist-items/999999/", {}).status_code == 403


def test_unknown_item_is_a_404_json(client_as, manager):
    response = _post(client_as(manager), "/api/v1/checklist-items/999999/", {"done": True})
    assert response.status_code == 404
    assert response.json()["detail"] == "Not found."


def test_ready_is_refused_until_items_and_gates_pass_then_allowed(
    release, client_as, manager, approver, approver2, ci_token
):
    # `client_as` logs the one test client in as someone else: say who acts at each step.
    url = f"/api/v1/releases/{release.pk}/transition/"
    refused = _post(client_as(manager), url, {"to": "ready"})
    assert refused.status_code == 409
    assert refused.json()["missing"] == [
        "Pre-release: “Branch cut” is not ticked.",
        "Manual tests: “Smoke scenario” has no test result.",
        "Gate “Test coverage” is not measured yet: run the validation, or an approver may "
        "waive it.",
        "Gate “High and critical vulnerabilities” is not measured yet: run the validation, "
        "or an approver may waive it.",
        "Gate “Security review” needs approval (0 of 1).",
        "Gate “Documentation complete” needs approval (0 of 2).",
    ]

    items = _items(release)
    scenario = f"/api/v1/checklist-items/{items['Smoke scenario'].pk}/"
    client = client_as(manager)
    tick = _post(client, f"/api/v1/checklist-items/{items['Branch cut'].pk}/", {"done": True})
    assert tick.status_code == 200
    assert _post(client, scenario, {"result": "fail"}).status_code == 200
    _, raw = ci_token
    ci = _post(Client(), f"/api/v1/releases/{release.pk}/gate-results/", _report(), **_bearer(raw))
    assert ci.status_code == 201
    assert _approve(client_as(approver), release, "docs").status_code == 201
    still = _post(client_as(manager), url, {"to": "ready"})
    assert still.status_code == 409
    assert still.json()["missing"] == [
        "Manual tests: “Smoke scenario” failed.",
        "Gate “High and critical vulnerabilities” failed: 2, needs = 0.",
        "Gate “Security review” needs approval (0 of 1).",
        "Gate “Documentation complete” needs approval (1 of 2).",
    ]

    assert _post(client_as(manager), scenario, {"result": "pass"}).status_code == 200
    assert _waive(client_as(approver), release, "vulns").status_code == 201
    assert _approve(client_as(approver), release, "security-review").status_code == 201
    assert _approve(client_as(approver2), release, "docs").status_code == 201
    moved = _post(client_as(manager), url, {"to": "ready"})
    assert moved.status_code == 200, moved.json()
    assert moved.json()["status"] == "ready"


def _count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_checklists_read_in_constant_queries(project, manager, client_as, approver):
    client = client_as(manager)
    small = release_create(actor=manager, project=project, release_type="minor", version="1.0.0")
    checklist_template_save(
        actor=None,
        project=project,
        name="Long list",
        phase="production",
        items_text="\n".join(f"Step {n}" for n in range(197)),
    )
    large = release_create(actor=manager, project=project, release_type="minor", version="1.1.0")
    assert ChecklistItem.objects.filter(release=small).count() == 4
    assert ChecklistItem.objects.filter(release=large).count() == 201
    for item in ChecklistItem.objects.filter(release=large)[:20]:
        ChecklistItem.objects.filter(pk=item.pk).update(
            done=True, updated_by=manager if item.pk % 2 else approver, updated_at=timezone.now()
        )
    client.get(f"/api/v1/releases/{small.pk}/checklists/")  # warm the session caches
    few = _count_queries(client, f"/api/v1/releases/{small.pk}/checklists/")
    many = _count_queries(client, f"/api/v1/releases/{large.pk}/checklists/")
    assert few == many <= 8


def test_openapi_document_describes_the_checklist_endpoints(client):
    doc = client.get("/api/v1/openapi.json").json()
    paths = doc["paths"]
    expected = {
        ("/api/v1/releases/{release_id}/gates/", "get"): (None, "200"),
        ("/api/v1/releases/{release_id}/validate/", "post"): (None, "202"),
        ("/api/v1/releases/{release_id}/gate-results/", "post"): ("GateResultsPost", "201"),
        ("/api/v1/releases/{release_id}/approvals/", "post"): ("ApprovalPost", "201"),
        ("/api/v1/releases/{release_id}/waivers/", "post"): ("WaiverPost", "201"),
        ("/api/v1/releases/{release_id}/checklists/", "get"): (None, "200"),
        ("/api/v1/checklist-items/{item_id}/", "post"): ("ChecklistItemUpdate", "200"),
    }
    for (path, method), (request, ok) in expected.items():
        operation = paths[path][method]
        if request:
            schema = operation["requestBody"]["content"]["application/json"]["schema"]
            assert schema["$ref"] == f"#/components/schemas/{request}"
        assert operation["responses"][ok]["content"]["application/json"]["schema"], path
    gate = doc["components"]["schemas"]["Gate"]["properties"]
    assert {"key", "kind", "status", "value", "threshold", "approvals", "evidence"} <= set(gate)
    entry = doc["components"]["schemas"]["GateResultEntry"]
    assert entry["required"] == ["gate", "value"]
