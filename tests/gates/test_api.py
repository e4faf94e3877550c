"""The gates, validation, CI report, approvals and waivers API (docs/api.md).

Each endpoint: it works for the allowed role, refuses the others, and answers bad input
with a 4xx JSON body naming the field. A small project of our own (two automated gates,
two manual ones, three checklists) keeps the expectations readable.
"""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from gates.models import GateResult, GateResultSource, QualityGate
from gates.services import gate_result_record, validation_command_save
from liftoff.models import AuditEvent
from liftoff.roles import Role
from liftoff.tokens import token_create, token_revoke
from releases.models import Project, Release
from releases.services import release_create, release_git_facts_record
from tests.factories import ProjectFactory
from tests.release_api import HEAD, _post, _validating

pytestmark = pytest.mark.django_db

NEW_HEAD = "b2c3d4e" + "0" * 33


def _gates(client, release) -> dict:
    response = client.get(f"/api/v1/releases/{release.pk}/gates/")
    assert response.status_code == 200
    return {g["key"]: g for g in response.json()}


def _bearer(raw: str) -> dict:
    return {"Authorization": f"Bearer {raw}"}


def test_every_role_reads_the_gates_with_threshold_approvals_and_evidence(
    client_as, release, stakeholder
):
    gate_result_record(
        release=release,
        gate=release.project.quality_gates.get(key="coverage"),
        source=GateResultSource.CI,
        value=93.5,
        commit=HEAD,
        ci_run_id="ci-1",
        report_name="CI run ci-1",
    )
    gates = _gates(client_as(stakeholder), release)
    assert list(gates) == ["coverage", "vulns", "security-review", "docs"]
    coverage = gates["coverage"]
    assert coverage["kind"] == "automated"
    assert coverage["status"] == "passed"
    assert coverage["value"] == 93.5
    assert coverage["threshold"] == "≥ 90 %"
    assert coverage["approvals"] is None
    assert coverage["blocker"] is None
    assert coverage["evidence"]["value"] == 93.5
    assert coverage["evidence"]["source"] == "ci"
    assert coverage["evidence"]["ci_run_id"] == "ci-1"
    assert coverage["evidence"]["commit"] == HEAD
    assert coverage["evidence"]["measured_at"]
    vulns = gates["vulns"]
    assert vulns["status"] == "pending" and vulns["evidence"] is None
    assert "not measured yet" in vulns["blocker"]
    docs = gates["docs"]
    assert docs["kind"] == "manual" and docs["threshold"] == ""
    assert docs["approvals"]["count"] == 0
    assert docs["approvals"]["required"] == 2
    assert docs["approvals"]["label"] == "0 of 2"
    assert docs["waiver"] is None and docs["stale_approvals"] == 0


def test_manager_starts_a_validation_run(client_as, release, manager):
    validation_command_save(
        actor=None, project=release.project, name="Tests", argv=["{python}", "-c", "print(1)"]
    )
    response = _post(client_as(manager), f"/api/v1/releases/{release.pk}/validate/", {})
    assert response.status_code == 202, response.json()
    run = response.json()
    assert run["kind"] == "release.validate"
    assert run["status"] == "queued"
    assert run["subject"] == {
        "type": "release",
        "id": str(release.pk),
        "label": f"{release.project.slug} v{release.version}",
        "url": f"/releases/{release.pk}/",
    }


def test_validation_is_refused_with_what_is_missing(client_as, project, manager, stakeholder):
    planned = release_create(actor=manager, project=project, release_type="minor", version="2.0.0")
    url = f"/api/v1/releases/{planned.pk}/validate/"
    refused = _post(client_as(manager), url, {})
    assert refused.status_code == 409
    assert refused.json()["missing"]
    assert _post(client_as(stakeholder), url, {}).status_code == 403


def test_validation_needs_configured_commands(client_as, release, manager):
    response = _post(client_as(manager), f"/api/v1/releases/{release.pk}/validate/", {})
    assert response.status_code == 409
    assert response.json()["missing"] == ["An admin configures the project's validation commands."]


def test_anonymous_cannot_start_a_validation(client, release):
    assert _post(client, f"/api/v1/releases/{release.pk}/validate/", {}).status_code == 401


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


def test_ci_posts_results_with_a_project_token_and_a_repeat_changes_nothing(
    release, ci_token, client_as, stakeholder
):
    _, raw = ci_token
    url = f"/api/v1/releases/{release.pk}/gate-results/"
    ci = Client()
    created = _post(ci, url, _report(), **_bearer(raw))
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["created"] is True
    assert [(r["gate"], r["status"], r["value"]) for r in body["results"]] == [
        ("coverage", "passed", 92.4),
        ("vulns", "failed", 2.0),
    ]
    statuses = {g["key"]: g["status"] for g in body["gates"]}
    assert statuses == {
        "coverage": "passed",
        "vulns": "failed",
        "security-review": "pending",
        "docs": "pending",
    }
    assert GateResult.objects.filter(release=release).count() == 2

    again = _post(ci, url, _report(results=[{"gate": "coverage", "value": 10}]), **_bearer(raw))
    assert again.status_code == 200
    assert again.json()["created"] is False
    assert again.json()["results"] == body["results"]
    assert GateResult.objects.filter(release=release).count() == 2

    gates = _gates(client_as(stakeholder), release)
    assert gates["coverage"]["evidence"]["ci_run_id"] == "pipeline-41"
    assert gates["vulns"]["blocker"] == (
        "Gate “High and critical vulnerabilities” failed: 2, needs = 0."
    )


def test_a_null_value_is_not_measured_never_a_pass(release, ci_token):
    _, raw = ci_token
    response = _post(
        Client(),
        f"/api/v1/releases/{release.pk}/gate-results/",
        _report(results=[{"gate": "vulns", "value": None, "reason": "pip-audit was offline"}]),
        **_bearer(raw),
    )
    assert response.status_code == 201
    assert response.json()["results"][0]["status"] == "not_measured"
    assert response.json()["results"][0]["reason"] == "pip-audit was offline"


@pytest.mark.parametrize("results", [None, [{"gate": "nope", "value": "x"}]])
def test_a_token_of_another_project_is_refused(release, admin_user, results):
    other = ProjectFactory(slug="other")
    _, raw = token_create(actor=admin_user, name="CI", project=other)
    body = _report(results=results) if results else _report()
    response = _post(Client(), f"/api/v1/releases/{release.pk}/gate-results/", body, **_bearer(raw))
    assert response.status_code == 403
    assert response.json() == {
        "detail": "This project token belongs to another project.",
        "errors": {},
    }
    assert not GateResult.objects.exists()


def test_a_revoked_token_is_refused(release, ci_token, admin_user):
    token, raw = ci_token
    token_revoke(actor=admin_user, token=token)
    response = _post(
        Client(), f"/api/v1/releases/{release.pk}/gate-results/", _report(), **_bearer(raw)
    )
    assert response.status_code == 401
    assert response.json()["detail"] == "The token is unknown, revoked or expired."
    assert not GateResult.objects.exists()


def test_a_release_manager_may_post_results_with_their_own_token(release, manager):
    _, raw = token_create(actor=manager, name="laptop", user=manager)
    response = _post(
        Client(), f"/api/v1/releases/{release.pk}/gate-results/", _report(), **_bearer(raw)
    )
    assert response.status_code == 201


def test_other_roles_and_anonymous_cannot_post_results(release, client, client_as, make_user):
    url = f"/api/v1/releases/{release.pk}/gate-results/"
    assert _post(client, url, _report()).status_code == 401
    for role in (Role.STAKEHOLDER, Role.APPROVER):
        assert _post(client_as(make_user(role)), url, _report()).status_code == 403
    assert not GateResult.objects.exists()


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"run_id": None}, "run_id", "This field may not be null."),
        ({"commit": "not-a-sha"}, "commit", "Give the commit as a hexadecimal SHA."),
        ({"results": []}, "results", "This list may not be empty."),
        ({"results": [{"gate": "nope", "value": 1}]}, "results[0].gate", "No gate “nope”"),
        ({"results": [{"gate": "docs", "value": 1}]}, "results[0].gate", "manual gate"),
        ({"results": [{"gate": "coverage", "value": "93"}]}, "results[0].value", "a number"),
        ({"results": [{"gate": "coverage", "value": True}]}, "results[0].value", "a number"),
        ({"results": [{"gate": "coverage"}]}, "results[0].value", "This field is required."),
        (
            {"results": [{"gate": "coverage", "value": 1, "report": "x" * 200_001}]},
            "results[0].report",
            "no more than 200000 characters",
        ),
        (
            {"results": [{"gate": "coverage", "value": 1}, {"gate": "coverage", "value": 2}]},
            "results[1].gate",
            "appears twice",
        ),
        (
            {"results": [{"gate": "coverage", "value": i} for i in range(51)]},
            "results",
            "at most 50 results",
        ),
    ],
)
def test_a_bad_report_is_refused_naming_the_field(release, ci_token, change, field, message):
    _, raw = ci_token
    body = _report(**change)
    if change.get("run_id", "") is None:
        del body["run_id"]
        message = "This field is required."
    response = _post(Client(), f"/api/v1/releases/{release.pk}/gate-results/", body, **_bearer(raw))
    assert response.status_code == 400, response.json()
    errors = response.json()["errors"]
    assert field in errors, errors
    assert message in errors[field][0]
    assert not GateResult.objects.exists()


def test_a_body_that_is_not_an_object_is_refused(release, ci_token):
    _, raw = ci_token
    response = _post(
        Client(), f"/api/v1/releases/{release.pk}/gate-results/", [1, 2], **_bearer(raw)
    )
    assert response.status_code == 400
    assert "Expected a dictionary" in response.json()["detail"]


def _approve(client, release, gate, decision="approve", comment="Looks good."):
    return _post(
        client,
        f"/api/v1/releases/{release.pk}/approvals/",
        {"gate": gate, "decision": decision, "comment": comment},
    )


def test_a_gate_needing_two_approvals_passes_after_two_different_approvers(
    release, client_as, approver, approver2
):
    first = _approve(client_as(approver), release, "docs")
    assert first.status_code == 201, first.json()
    assert first.json()["status"] == "pending"
    assert first.json()["approvals"]["label"] == "1 of 2"
    assert first.json()["approvals"]["approved_by"] == ["approver-user"]
    second = _approve(client_as(approver2), release, "docs")
    assert second.status_code == 201
    assert second.json()["status"] == "passed"
    assert second.json()["approvals"]["label"] == "2 of 2"


def test_one_person_counts_once(release, client_as, approver):
    client = client_as(approver)
    assert _approve(client, release, "docs").status_code == 201
    duplicate = _approve(client, release, "docs")
    assert duplicate.status_code == 409
    assert "one person counts once" in duplicate.json()["detail"]
    assert _gates(client, release)["docs"]["approvals"]["label"] == "1 of 2"


def test_the_release_manager_cannot_approve_their_own_release(release, client_as, admin_user):
    Release.objects.filter(pk=release.pk).update(release_manager=admin_user)
    response = _approve(client_as(admin_user), release, "security-review")
    assert response.status_code == 403
    assert "You are the release manager of v1.0.0" in response.json()["detail"]
    assert _gates(client_as(admin_user), release)["security-review"]["status"] == "pending"


def test_only_approvers_approve(release, client, client_as, manager, stakeholder):
    assert _approve(client, release, "docs").status_code == 401
    for user in (manager, stakeholder):
        response = _approve(client_as(user), release, "docs")
        assert response.status_code == 403
        assert response.json() == {"detail": "Your role does not allow this.", "errors": {}}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"gate": "nope", "decision": "approve"}, "gate"),
        ({"gate": "coverage", "decision": "approve"}, "gate"),
        ({"gate": "docs", "decision": "maybe"}, "decision"),
        ({"gate": "docs", "decision": "reject", "comment": ""}, "comment"),
        ({"decision": "approve"}, "gate"),
    ],
)
def test_a_bad_approval_is_refused_naming_the_field(release, client_as, approver, body, field):
    response = _post(client_as(approver), f"/api/v1/releases/{release.pk}/approvals/", body)
    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"]


def test_a_switched_off_gate_takes_no_approval(release, client_as, approver):
    QualityGate.objects.filter(project=release.project, key="docs").update(active=False)
    response = _approve(client_as(approver), release, "docs")
    assert response.status_code == 400
    assert response.json()["errors"] == {"gate": ["No gate “docs” in Svc."]}


def test_a_rejection_fails_the_gate(release, client_as, approver):
    response = _approve(client_as(approver), release, "security-review", "reject", "XSS in form")
    assert response.status_code == 201
    assert response.json()["status"] == "failed"
    assert response.json()["approvals"]["rejected_by"] == ["approver-user"]
    assert "rejected by approver-user" in response.json()["blocker"]


def test_approvals_go_stale_when_the_release_head_changes(
    release, client_as, approver, stakeholder
):
    assert _approve(client_as(approver), release, "security-review").json()["status"] == "passed"
    release_git_facts_record(release=release, head_commit=NEW_HEAD)
    gate = _gates(client_as(stakeholder), release)["security-review"]
    assert gate["status"] == "pending"
    assert gate["approvals"]["label"] == "0 of 1"
    assert gate["stale_approvals"] == 1
    # Approving the new head counts again.
    assert _approve(client_as(approver), release, "security-review").json()["status"] == "passed"


def test_approvals_are_kept_across_commits_when_the_project_says_so(
    release, client_as, approver, stakeholder
):
    Project.objects.filter(pk=release.project_id).update(keep_approvals_on_new_commits=True)
    assert _approve(client_as(approver), release, "security-review").status_code == 201
    release_git_facts_record(release=release, head_commit=NEW_HEAD)
    gate = _gates(client_as(stakeholder), release)["security-review"]
    assert gate["status"] == "passed"
    assert gate["stale_approvals"] == 0


def _measure(release, key, value):
    gate_result_record(
        release=release,
        gate=release.project.quality_gates.get(key=key),
        source=GateResultSource.VALIDATION,
        value=value,
        commit=HEAD,
    )


def _waive(client, release, gate, reason="Accepted: the finding is in a test fixture."):
    return _post(
        client, f"/api/v1/releases/{release.pk}/waivers/", {"gate": gate, "reason": reason}
    )


def test_a_waived_failed_gate_shows_waived_everywhere(release, client_as, approver, stakeholder):
    _measure(release, "vulns", 1)
    response = _waive(client_as(approver), release, "vulns")
    assert response.status_code == 201, response.json()
    assert response.json()["status"] == "waived"
    gate = _gates(client_as(stakeholder), release)["vulns"]
    assert gate["status"] == "waived"
    assert gate["blocker"] is None
    assert gate["waiver"]["by"] == "approver-user"
    assert gate["waiver"]["reason"] == "Accepted: the finding is in a test fixture."
    assert gate["waiver"]["at"]
    assert gate["evidence"]["value"] == 1


def test_a_passed_gate_is_not_waived(release, client_as, approver):
    _measure(release, "vulns", 0)
    response = _waive(client_as(approver), release, "vulns")
    assert response.status_code == 409
    assert "only a failed, unmeasured or pending gate is waived" in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"gate": "vulns", "reason": "ok"}, "reason"),
        ({"gate": "vulns"}, "reason"),
        ({"gate": "nope", "reason": "A long enough reason."}, "gate"),
        ({"gate": "docs", "reason": "A long enough reason."}, "gate"),
    ],
)
def test_a_bad_waiver_is_refused_naming_the_field(release, client_as, approver, body, field):
    _measure(release, "vulns", 1)
    response = _post(client_as(approver), f"/api/v1/releases/{release.pk}/waivers/", body)
    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"]


def test_only_approvers_waive(release, client, client_as, manager, stakeholder):
    _measure(release, "vulns", 1)
    assert _waive(client, release, "vulns").status_code == 401
    for user in (manager, stakeholder):
        assert _waive(client_as(user), release, "vulns").status_code == 403
    assert _gates(client_as(manager), release)["vulns"]["status"] == "failed"


def test_a_revoked_waiver_makes_the_gate_block_again(release, client, client_as, approver, manager):
    _measure(release, "vulns", 1)
    _waive(client_as(approver), release, "vulns")
    url = f"/api/v1/releases/{release.pk}/waivers/vulns/"
    assert client_as(manager).delete(url).status_code == 403
    response = client_as(approver).delete(url)
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "failed" and response.json()["waiver"] is None
    assert client_as(approver).delete(url).status_code == 409  # nothing left to revoke
    assert AuditEvent.objects.filter(action="gate.waiver_revoked").count() == 1


def _count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_gates_read_in_constant_queries(project, manager, client_as, approver, approver2):
    client = client_as(manager)
    one = _validating(
        release_create(actor=manager, project=project, release_type="minor", version="1.0.0")
    )
    fifty = _validating(
        release_create(actor=manager, project=project, release_type="minor", version="1.1.0")
    )
    _measure(one, "coverage", 95)
    for n in range(50):
        _measure(fifty, "coverage" if n % 2 else "vulns", n)
    _approve(client_as(approver), fifty, "docs")
    _approve(client_as(approver2), fifty, "docs")
    _waive(client_as(approver), fifty, "vulns")
    client = client_as(manager)
    client.get(f"/api/v1/releases/{one.pk}/gates/")
    few = _count_queries(client, f"/api/v1/releases/{one.pk}/gates/")
    many = _count_queries(client, f"/api/v1/releases/{fifty.pk}/gates/")
    assert few == many <= 10
