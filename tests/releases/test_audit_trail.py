"""A release's audit trail in words: the sentences (ticks, approvals, waivers, results,
moves, runs, git), the filters by kind and person, who may read it, constant queries, and
the release page's partial."""

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from checklists.models import ChecklistItem
from checklists.services import checklist_item_update
from gates.models import QualityGate
from gates.services import approval_record, gate_result_record, gate_save, waiver_grant
from liftoff.audit import audit_latest
from liftoff.roles import Role
from releases.services import release_create, release_git_facts_record, release_transition
from runs.services import run_create
from tests.release_api import approver2, project, release  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db


def _item(of, title):
    return ChecklistItem.objects.get(release=of, title=title)


def _gate(of, key):
    return QualityGate.objects.get(project=of.project, key=key)


def _take_through_a_few_steps(release, manager, approver, approver2):  # noqa: F811
    checklist_item_update(item=_item(release, "Branch cut"), actor=manager, done=True)
    checklist_item_update(item=_item(release, "Smoke scenario"), actor=manager, result="pass")
    checklist_item_update(
        item=_item(release, "Health check green"), actor=manager, note="green since 10:00"
    )
    head = release.head_commit
    coverage = _gate(release, "coverage")
    gate_result_record(release=release, gate=coverage, value=80, source="ci", commit=head)
    gate_result_record(
        release=release, gate=_gate(release, "vulns"), value=0, source="ci", commit=head
    )
    approval_record(
        release=release,
        gate=_gate(release, "security-review"),
        actor=approver,
        decision="approve",
        comment="looks good",
    )
    for signer in (approver, approver2):
        approval_record(
            release=release, gate=_gate(release, "docs"), actor=signer, decision="approve"
        )
    waiver_grant(release=release, gate=coverage, actor=approver2, reason="Generated code.")
    release_transition(release=release, to="ready", actor=manager)
    run = run_create(kind="release.validate", subject=release, requested_by=manager)
    release_git_facts_record(release=release, tagged_at=timezone.now())
    return run


def _page(client, of, query=""):
    response = client.get(f"/releases/{of.pk}/audit/{query}")
    assert response.status_code == 200
    return response.content.decode()


def test_the_trail_reads_as_sentences_with_names_and_reasons(
    client_as,
    release,  # noqa: F811
    manager,
    approver,
    approver2,  # noqa: F811
    stakeholder,
):
    run = _take_through_a_few_steps(release, manager, approver, approver2)

    page = _page(client_as(stakeholder), release)

    for sentence in [
        "<strong>manager-user</strong> planned v1.0.0 (minor)",
        "<strong>manager-user</strong> ticked Branch cut",
        "<strong>manager-user</strong> marked Smoke scenario pass",
        "<strong>manager-user</strong> noted on Health check green: “green since 10:00”",
        "<strong>Liftoff</strong> measured Test coverage at 80 (≥ 90 %): failed",
        "<strong>approver-user</strong> approved Security review: “looks good”",
        "<strong>approver-two</strong> approved Documentation complete<",
        "<strong>approver-two</strong> waived Test coverage: “Generated code.”",
        "<strong>manager-user</strong> moved v1.0.0 to ready",
        f"<strong>manager-user</strong> started Validation (run #{run.pk})",
        "<strong>Liftoff</strong> pushed tag v1.0.0",
    ]:
        assert sentence in page
    # Newest first; the item events (recorded against the items) are among them.
    assert page.index("pushed tag v1.0.0") < page.index("moved v1.0.0 to ready")
    assert page.index("moved v1.0.0 to ready") < page.index("ticked Branch cut")
    assert "release.transition" not in page and "checklist_item.ticked" not in page


def test_another_releases_ticks_and_runs_stay_out(
    client_as,
    project,  # noqa: F811
    release,  # noqa: F811
    manager,
    stakeholder,
):
    other = release_create(actor=manager, project=project, release_type="minor", version="2.0.0")
    checklist_item_update(item=_item(other, "Branch cut"), actor=manager, done=True)
    run_create(kind="release.validate", subject=other, requested_by=manager)

    page = _page(client_as(stakeholder), release)

    assert "ticked Branch cut" not in page and "started" not in page
    assert "planned v1.0.0" in page and "planned v2.0.0" not in page


def test_the_filter_by_kind_and_by_person(
    client_as,
    release,  # noqa: F811
    manager,
    approver,
    approver2,  # noqa: F811
    stakeholder,
):
    _take_through_a_few_steps(release, manager, approver, approver2)
    client = client_as(stakeholder)

    checklists = _page(client, release, "?kind=checklists")
    assert "ticked Branch cut" in checklists and "marked Smoke scenario pass" in checklists
    assert "approved" not in checklists and "moved v1.0.0" not in checklists
    assert "3 events" in checklists

    gates = _page(client, release, "?kind=gates")
    assert "approved Security review" in gates and "measured Test coverage" in gates
    assert "ticked" not in gates

    phases = _page(client, release, "?kind=phase")
    assert "moved v1.0.0 to ready" in phases and "planned v1.0.0" in phases
    assert "ticked" not in phases and "started" not in phases

    approvers = _page(client, release, "?person=approver-user")
    assert "approved Security review: “looks good”" in approvers
    assert "approved Documentation complete" in approvers
    assert "waived" not in approvers and "manager-user</strong>" not in approvers
    assert "2 events<" in approvers

    liftoff = _page(client, release, "?person=:liftoff")
    assert "measured Test coverage" in liftoff and "pushed tag v1.0.0" in liftoff
    assert "manager-user</strong>" not in liftoff and "approver-user</strong>" not in liftoff

    both = _page(client, release, "?kind=checklists&person=approver-user")
    assert "No event matches this filter." in both


def test_a_filter_value_nobody_offers_is_an_error_beside_the_field_not_a_500(
    client_as,
    release,  # noqa: F811
    stakeholder,
):
    page = _page(client_as(stakeholder), release, "?kind=nonsense&person=nobody&page=x")
    assert page.count('class="error" role="alert"') == 2
    assert "planned v1.0.0" in page  # unfiltered


def test_anonymous_is_sent_to_the_login_page(client, release):  # noqa: F811
    response = client.get(f"/releases/{release.pk}/audit/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize("role", list(Role))
def test_every_read_role_may_read_the_trail(client_as, make_user, release, role):  # noqa: F811
    page = _page(client_as(make_user(role, f"reader-{role}")), release)
    assert "planned v1.0.0" in page


def test_a_user_without_a_role_is_refused(client_as, make_user, release):  # noqa: F811
    response = client_as(make_user(None, "no-role")).get(f"/releases/{release.pk}/audit/")
    assert response.status_code == 403


def test_an_unknown_release_is_a_404(client_as, stakeholder):
    assert client_as(stakeholder).get("/releases/999999/audit/").status_code == 404


def test_the_page_reads_a_constant_number_of_queries(
    client_as,
    project,  # noqa: F811
    release,  # noqa: F811
    manager,
    approver,
    approver2,  # noqa: F811
    stakeholder,
):
    client = client_as(stakeholder)
    _take_through_a_few_steps(release, manager, approver, approver2)
    client.get(f"/releases/{release.pk}/audit/")  # session and user warmed up
    with CaptureQueriesContext(connection) as few:
        _page(client, release)
    item = _item(release, "Branch cut")
    for i in range(4):
        checklist_item_update(item=item, actor=manager, done=False)
        checklist_item_update(item=item, actor=manager, done=True, note=f"take {i}")
    with CaptureQueriesContext(connection) as many:
        page = _page(client, release)
    assert page.count("</strong> ticked Branch cut") == 5
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]


def test_the_release_pages_partial_shows_the_latest_ten_and_links_to_the_rest(
    release,  # noqa: F811
    manager,
):
    item = _item(release, "Branch cut")
    for _ in range(6):
        checklist_item_update(item=item, actor=manager, done=True)
        checklist_item_update(item=item, actor=manager, done=False)

    html = render_to_string(
        "releases/release_audit.html#events",
        {"entries": audit_latest(obj=release), "release": release},
    )

    assert html.count("<li") == 10
    assert "unticked Branch cut" in html and "planned v1.0.0" not in html  # the oldest
    assert f'href="/releases/{release.pk}/audit/"' in html


def test_the_release_pages_summary_costs_at_most_three_queries(
    release,  # noqa: F811
    manager,
    approver,
    approver2,  # noqa: F811
):
    _take_through_a_few_steps(release, manager, approver, approver2)
    # The trail, the gate names, the run kinds: the release's own version it is given.
    with CaptureQueriesContext(connection) as queries:
        entries = audit_latest(obj=release, limit=20)
    assert len(queries) == 3
    assert any(e.sentence == "manager-user moved v1.0.0 to ready" for e in entries)


def test_a_gate_rule_changed_while_the_release_is_in_flight_reads_as_a_sentence(
    client_as,
    release,  # noqa: F811
    admin_user,
    stakeholder,
):
    gate_save(
        actor=admin_user,
        project=release.project,
        key="perf",
        name="Performance",
        kind="automated",
        comparator="lte",
        threshold=5,
        unit="%",
    )
    page = _page(client_as(stakeholder), release, "?kind=gates")
    assert "<strong>admin-user</strong> added gate “Performance” (≤ 5 %)" in page
