"""The checklist, gate and approval pages: access per role, ticking in place, concurrent
ticks, approvals and waivers through the views with their refusals, constant queries."""

import threading

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from checklists.models import (
    Approval,
    Checklist,
    ChecklistItem,
    GateResultSource,
    ItemKind,
    QualityGate,
)
from checklists.services import (
    approval_record,
    gate_result_record,
    gate_save,
    project_defaults_install,
    validation_command_save,
)
from liftoff.models import AuditEvent
from liftoff.roles import Role
from releases.models import Release
from releases.services import release_create
from runs.models import Run
from runs.services import run_create
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db

HEAD = "0123456789abcdef0123456789abcdef01234567"
HTMX = {"HX-Request": "true"}


@pytest.fixture
def project():
    project = ProjectFactory(slug="svc", name="Svc")
    project_defaults_install(project=project)
    return project


def _release(project, manager, version="1.0.0", status="validating", head=HEAD):
    release = release_create(
        actor=manager, project=project, release_type="minor", version=version, codename="Orion"
    )
    # The git side (prepare) is tested elsewhere: put the release where the test needs it.
    Release.objects.filter(pk=release.pk).update(status=status, head_commit=head)
    release.refresh_from_db()
    return release


def _gate(project, key):
    return QualityGate.objects.get(project=project, key=key)


def _check_item(release, index=0):
    return ChecklistItem.objects.filter(release=release, kind=ItemKind.CHECK).order_by("pk")[index]


def _text(response):
    return response.content.decode()


# --- Access -----------------------------------------------------------------------------


def _urls(release, project):
    item = _check_item(release)
    gate = _gate(project, "security-review")
    return {
        "reads": [
            f"/releases/{release.pk}/",
            f"/checklists/{item.checklist_id}/",
            f"/releases/{release.pk}/gates/",
            f"/releases/{release.pk}/gates/{gate.pk}/evidence/",
            "/approvals/",
        ],
        "writes": [
            (f"/checklist-items/{item.pk}/", {"done": "1"}),
            (f"/releases/{release.pk}/gates/{gate.pk}/approve/", {"decision": "approve"}),
            (
                f"/releases/{release.pk}/gates/{_gate(project, 'coverage').pk}/waive/",
                {"reason": "Accepted for this hotfix."},
            ),
            (f"/releases/{release.pk}/validate/", {}),
        ],
    }


def test_anonymous_users_are_sent_to_login(client, project, manager):
    urls = _urls(_release(project, manager), project)
    for url in urls["reads"]:
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url
    for url, data in urls["writes"]:
        response = client.post(url, data)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url
    assert not ChecklistItem.objects.filter(done=True).exists()


def test_a_stakeholder_reads_everything_and_changes_nothing(
    client_as, project, manager, stakeholder
):
    release = _release(project, manager)
    urls = _urls(release, project)
    client = client_as(stakeholder)
    for url in urls["reads"]:
        assert client.get(url).status_code == 200, url
    page = _text(client.get(f"/releases/{release.pk}/"))
    assert "Quality gates" in page and "Pre-release checklist" in page
    assert 'type="checkbox"' not in page  # read-only: states, no forms
    assert 'value="approve"' not in page and ">Validate<" not in page
    for url, data in urls["writes"]:
        assert client.post(url, data).status_code == 403, url
        assert client.post(url, data, headers=HTMX).status_code == 403, url
    assert not ChecklistItem.objects.filter(done=True).exists()


def test_an_approver_sees_forms_but_cannot_tick(client_as, project, manager, approver):
    release = _release(project, manager)
    client = client_as(approver)
    page = _text(client.get(f"/releases/{release.pk}/"))
    assert 'value="approve"' in page and 'type="checkbox"' not in page
    item = _check_item(release)
    assert client.post(f"/checklist-items/{item.pk}/", {"done": "1"}).status_code == 403


def test_mutations_answer_only_post(client_as, project, manager):
    release = _release(project, manager)
    client = client_as(manager)
    item = _check_item(release)
    assert client.get(f"/checklist-items/{item.pk}/").status_code == 405
    assert client.get(f"/releases/{release.pk}/validate/").status_code == 405


# --- Ticking ----------------------------------------------------------------------------


def test_a_manager_ticks_in_place_and_it_is_audited(client_as, project, manager):
    release = _release(project, manager)
    item = _check_item(release)
    client = client_as(manager)
    response = client.post(
        f"/checklist-items/{item.pk}/", {"done": "1", "was_done": "0", "note": ""}, headers=HTMX
    )
    assert response.status_code == 200
    fragment = _text(response)
    # The checklist's body, swapped into its section (which stays in place), with the
    # version of the state it shows.
    assert fragment.lstrip().startswith('<div class="checklist-body" data-version="')
    assert "ticked by manager-user" in fragment
    assert "1 of 7 done" in fragment
    # The phase's progress is swapped out of band.
    assert 'id="phase-preparation-progress" class="progress-label" hx-swap-oob="true"' in fragment
    item.refresh_from_db()
    assert item.done and item.updated_by == manager
    event = AuditEvent.objects.filter(action="checklist_item.ticked").get()
    assert event.actor == manager and event.after["title"] == item.title

    # Unticking is allowed and audited too; a plain form post redirects back to the list.
    response = client.post(f"/checklist-items/{item.pk}/", {"was_done": "1", "note": ""})
    assert response.status_code == 302
    assert response["Location"] == f"/releases/{release.pk}/#checklist-{item.checklist_id}"
    item.refresh_from_db()
    assert not item.done
    assert AuditEvent.objects.filter(action="checklist_item.unticked").count() == 1
    page = _text(client.get(f"/releases/{release.pk}/"))
    assert f"Saved “{item.title}”." in page
    assert "unticked by manager-user" in page


def test_a_scenario_gets_a_result_and_a_note(client_as, project, manager):
    release = _release(project, manager)
    scenario = ChecklistItem.objects.filter(release=release, kind=ItemKind.SCENARIO).first()
    client = client_as(manager)
    fragment = _text(
        client.post(
            f"/checklist-items/{scenario.pk}/",
            {"result": "blocked", "was_result": "", "note": "Staging is down", "was_note": ""},
            headers=HTMX,
        )
    )
    assert '<option value="blocked" selected>' in fragment
    assert "blocked by manager-user" in fragment
    assert 'value="Staging is down"' in fragment
    scenario.refresh_from_db()
    assert (scenario.result, scenario.note, scenario.done) == ("blocked", "Staging is down", False)
    # A tick is refused on a scenario, with the reason in the fragment.
    fragment = _text(client.post(f"/checklist-items/{scenario.pk}/", {"done": "1"}, headers=HTMX))
    assert "A test scenario is given a result, not a tick." in fragment
    assert 'role="alert"' in fragment


def test_a_stale_page_does_not_undo_a_colleagues_tick(client_as, project, manager, make_user):
    release = _release(project, manager)
    item = _check_item(release)
    client_as(make_user(Role.RELEASE_MANAGER, "colleague")).post(
        f"/checklist-items/{item.pk}/", {"done": "1"}
    )
    # My page still shows it unticked; I only write a note (the unticked box is posted).
    client = client_as(manager)
    fragment = _text(
        client.post(
            f"/checklist-items/{item.pk}/",
            {"was_done": "0", "note": "Checked the roadmap", "was_note": ""},
            headers=HTMX,
        )
    )
    item.refresh_from_db()
    assert item.done and item.note == "Checked the roadmap"
    assert 'value="Checked the roadmap"' in fragment
    assert f'id="item-{item.pk}-done" name="done" value="1" checked' in fragment


@pytest.mark.django_db(transaction=True)
def test_two_sessions_tick_different_items_of_one_checklist_at_once(make_user):
    project = ProjectFactory(slug="svc2")
    project_defaults_install(project=project)
    first_user = make_user(Role.RELEASE_MANAGER, "first")
    second_user = make_user(Role.RELEASE_MANAGER, "second")
    release = _release(project, first_user)
    one, two = _check_item(release, 0), _check_item(release, 1)
    assert one.checklist_id == two.checklist_id
    clients = []
    for user in (first_user, second_user):
        c = Client()
        c.force_login(user)
        clients.append(c)
    barrier = threading.Barrier(2)
    responses = {}

    def tick(client, item):
        from django.db import connection

        try:
            barrier.wait()
            responses[item.pk] = client.post(
                f"/checklist-items/{item.pk}/",
                {"done": "1", "was_done": "0", "note": "", "was_note": ""},
                headers=HTMX,
            )
        finally:
            connection.close()

    threads = [
        threading.Thread(target=tick, args=(clients[0], one)),
        threading.Thread(target=tick, args=(clients[1], two)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {r.status_code for r in responses.values()} == {200}
    one.refresh_from_db()
    two.refresh_from_db()
    assert (one.done, one.updated_by, two.done, two.updated_by) == (
        True,
        first_user,
        True,
        second_user,
    )
    # Whichever finished last saw both; each session's next look shows both.
    assert any("2 of 7 done" in _text(r) for r in responses.values())
    for c in clients:
        fragment = _text(c.get(f"/checklists/{one.checklist_id}/", headers=HTMX))
        assert "2 of 7 done" in fragment
        assert "ticked by first" in fragment and "ticked by second" in fragment
    # Then each ticks a second item from its now stale page: both kept, both responses show all.
    three, four = _check_item(release, 2), _check_item(release, 3)
    for c, item in ((clients[0], three), (clients[1], four)):
        response = c.post(
            f"/checklist-items/{item.pk}/", {"done": "1", "was_done": "0"}, headers=HTMX
        )
        assert "ticked by" in _text(response)
    assert "4 of 7 done" in _text(response)
    assert ChecklistItem.objects.filter(checklist_id=one.checklist_id, done=True).count() == 4


def test_a_cancelled_releases_checklist_is_closed(client_as, project, manager):
    release = _release(project, manager, status="cancelled")
    item = _check_item(release)
    client = client_as(manager)
    page = _text(client.get(f"/releases/{release.pk}/"))
    assert 'type="checkbox"' not in page  # shown read-only
    fragment = _text(client.post(f"/checklist-items/{item.pk}/", {"done": "1"}, headers=HTMX))
    assert "v1.0.0 is cancelled: its checklists and gates are closed." in fragment
    response = client.post(f"/checklist-items/{item.pk}/", {"done": "1"}, follow=True)
    assert "v1.0.0 is cancelled: its checklists and gates are closed." in _text(response)
    item.refresh_from_db()
    assert not item.done


# --- Gates, approvals, waivers ----------------------------------------------------------


def test_approve_and_reject_through_the_release_page(
    client_as, project, manager, approver, make_user
):
    release = _release(project, manager)
    gate = _gate(project, "security-review")
    url = f"/releases/{release.pk}/gates/{gate.pk}/approve/"
    client = client_as(approver)
    fragment = _text(
        client.post(url, {"decision": "approve", "comment": "Looks fine"}, headers=HTMX)
    )
    assert fragment.lstrip().startswith('<section id="release-gates"')
    assert "1 of 1" in fragment and "by approver-user" in fragment
    assert "Approved “Security review” for v1.0.0." in fragment  # the toast, out of band
    assert AuditEvent.objects.filter(action="gate.approved").count() == 1
    # Twice: one person counts once.
    fragment = _text(client.post(url, {"decision": "approve"}, headers=HTMX))
    assert "You have approved “Security review” already: one person counts once." in fragment
    # A rejection needs a comment (plain post: a toast and a redirect).
    other = client_as(make_user(Role.APPROVER, "second-approver"))
    response = other.post(url, {"decision": "reject"})
    assert response.status_code == 302
    assert response["Location"] == f"/releases/{release.pk}/#release-gates"
    page = _text(other.get(response["Location"]))
    assert "Say why you reject it. A rejection needs a comment." in page
    other.post(url, {"decision": "reject", "comment": "No threat model"})
    page = _text(other.get(f"/releases/{release.pk}/"))
    assert "Rejected by <strong>second-approver</strong>: “No threat model”" in page


def test_the_release_manager_cannot_approve_their_own_release(client_as, project, make_user):
    boss = make_user(Role.RELEASE_MANAGER, "boss")
    boss.groups.add(Group.objects.get(name=Role.APPROVER))
    release = _release(project, boss)
    gate = _gate(project, "security-review")
    client = client_as(boss)
    assert 'value="approve"' not in _text(client.get(f"/releases/{release.pk}/"))
    response = client.post(
        f"/releases/{release.pk}/gates/{gate.pk}/approve/", {"decision": "approve"}, follow=True
    )
    assert "You are the release manager of v1.0.0: someone else must approve its gates." in _text(
        response
    )


def test_a_gate_is_signed_only_by_its_role(client_as, project, manager, make_user):
    release = _release(project, manager)
    gate = _gate(project, "security-review")  # signed by approvers
    other_manager = client_as(make_user(Role.RELEASE_MANAGER))
    assert 'value="approve"' not in _text(other_manager.get(f"/releases/{release.pk}/"))
    response = other_manager.post(
        f"/releases/{release.pk}/gates/{gate.pk}/approve/", {"decision": "approve"}, follow=True
    )
    assert "may approve “Security review”." in _text(response)
    assert not Approval.objects.exists()


def test_a_stale_approval_is_marked_and_no_longer_counts(client_as, project, manager, approver):
    release = _release(project, manager)
    gate = _gate(project, "security-review")
    client_as(approver).post(
        f"/releases/{release.pk}/gates/{gate.pk}/approve/", {"decision": "approve"}
    )
    Release.objects.filter(pk=release.pk).update(head_commit="f" * 40)
    page = _text(client_as(manager).get(f"/releases/{release.pk}/gates/"))
    assert "0 of 1" in page
    assert "stale</span> approved by approver-user on an older commit" in page


def test_waive_a_failed_gate_and_the_waiver_shows(client_as, project, manager, approver):
    release = _release(project, manager)
    gate = _gate(project, "coverage")
    gate_result_record(
        release=release, gate=gate, source=GateResultSource.CI, value=82.5, commit=HEAD
    )
    url = f"/releases/{release.pk}/gates/{gate.pk}/waive/"
    client = client_as(approver)
    page = _text(client.get(f"/releases/{release.pk}/"))
    assert "Measured <strong>82.5 %</strong>, needs ≥ 90 %" in page
    assert ">Waive" in page
    fragment = _text(client.post(url, {"reason": "later"}, headers=HTMX))
    assert "Write why the gate may be waived. Give a reason of at least 10 characters." in fragment
    fragment = _text(
        client.post(url, {"reason": "Legacy module, covered by the e2e suite."}, headers=HTMX)
    )
    assert "Waived by <strong>approver-user</strong>" in fragment
    assert "Legacy module, covered by the e2e suite." in fragment
    # Shown wherever the gate is: the evidence page too.
    evidence = _text(client.get(f"/releases/{release.pk}/gates/{gate.pk}/evidence/"))
    assert "Legacy module, covered by the e2e suite." in evidence
    assert "Revoke the waiver" in evidence
    # A passing gate is not waived.
    passing = _gate(project, "security-scan")
    gate_result_record(release=release, gate=passing, source="ci", value=0, commit=HEAD)
    response = client.post(
        f"/releases/{release.pk}/gates/{passing.pk}/waive/",
        {"reason": "No reason to waive this at all."},
        follow=True,
    )
    assert "only a failed or unmeasured gate is waived" in _text(response)


def test_a_gate_of_another_project_is_404(client_as, project, manager, approver):
    release = _release(project, manager)
    other = ProjectFactory()
    foreign = gate_save(actor=None, project=other, key="x", name="X", kind="manual")
    client = client_as(approver)
    assert client.get(f"/releases/{release.pk}/gates/{foreign.pk}/evidence/").status_code == 404
    url = f"/releases/{release.pk}/gates/{foreign.pk}/approve/"
    assert client.post(url, {"decision": "approve"}).status_code == 404


def test_evidence_page_shows_the_result_and_its_report(client_as, project, manager, stakeholder):
    release = _release(project, manager)
    gate = _gate(project, "security-scan")
    run = run_create(kind="release.prepare", subject=release, requested_by=manager)
    gate_result_record(
        release=release,
        gate=gate,
        source=GateResultSource.VALIDATION,
        value=2,
        commit=HEAD,
        report='{"results": [{"issue_severity": "HIGH", "test_id": "B602"}]}',
        report_name="bandit.json",
        run=run,
    )
    page = _text(client_as(stakeholder).get(f"/releases/{release.pk}/gates/{gate.pk}/evidence/"))
    assert "<dd>2 findings</dd>" in page
    assert "<dd>= 0 findings</dd>" in page
    assert f'<a href="/runs/{run.pk}/">validation run #{run.pk}</a>' in page
    assert f"<code>{HEAD}</code>" in page
    assert "2 is not = 0 findings." in page
    assert "<code>bandit.json</code>" in page
    assert "<pre" in page and "&quot;issue_severity&quot;: &quot;HIGH&quot;" in page


def test_blockers_are_listed_while_validating(client_as, project, manager):
    release = _release(project, manager)
    page = _text(client_as(manager).get(f"/releases/{release.pk}/"))
    assert "Blocking ready:" in page
    assert "Pre-release checklist: “Vision alignment” is not ticked." in page
    assert "Gate “Security review” needs approval (0 of 1)." in page
    planned = _release(project, manager, version="1.1.0", status="planned")
    assert "Blocking" not in _text(client_as(manager).get(f"/releases/{planned.pk}/"))


def test_validate_refusal_is_a_toast(client_as, project, manager):
    release = _release(project, manager)  # validating, but never prepared
    response = client_as(manager).post(f"/releases/{release.pk}/validate/", follow=True)
    assert response.redirect_chain == [(f"/releases/{release.pk}/", 302)]
    assert "The release has no pushed head to validate yet. Prepare the release first" in _text(
        response
    )


def test_validate_starts_a_run_shown_live_on_the_release_page(client_as, project, manager):
    release = _release(project, manager)
    Release.objects.filter(pk=release.pk).update(prepared_at=timezone.now())
    validation_command_save(actor=None, project=project, name="Tests", argv=["{python}", "-V"])
    client = client_as(manager)
    assert ">Validate</button>" in _text(client.get(f"/releases/{release.pk}/"))
    response = client.post(f"/releases/{release.pk}/validate/", follow=True)
    run = Run.objects.get(kind="release.validate")
    page = _text(response)
    assert f"Validating v1.0.0 (run #{run.pk})." in page
    # The run's progress fragment, polling itself, at the top of the page (like Prepare).
    assert f'id="run-{run.pk}-progress"' in page
    assert f'hx-get="/runs/{run.pk}/progress/"' in page


# --- The approvals page and the navigation count ----------------------------------------


def test_approvals_page_lists_what_waits_with_evidence_and_acts(
    client_as, project, manager, approver
):
    release = _release(project, manager)
    gate_result_record(
        release=release, gate=_gate(project, "coverage"), source="ci", value=70, commit=HEAD
    )
    client = client_as(approver)
    page = _text(client.get("/approvals/"))
    assert "Svc v1.0.0 “Orion”" in page
    assert f"<code>{HEAD[:10]}</code>" in page
    assert "0 of " in page and "items done" in page
    for name in ["Security review", "Documentation complete", "Test coverage"]:
        assert name in page
    assert "Measured <strong>70 %</strong>, needs ≥ 90 %" in page
    assert '<input type="hidden" name="next" value="/approvals/">' in page
    assert '<span class="nav-count">3<span class="visually-hidden"> waiting</span>' in page
    gate = _gate(project, "security-review")
    response = client.post(
        f"/releases/{release.pk}/gates/{gate.pk}/approve/",
        {"decision": "approve", "next": "/approvals/"},
    )
    assert response["Location"] == "/approvals/"
    page = _text(client.get("/approvals/"))
    assert "Approved “Security review” for v1.0.0." in page
    assert '<span class="nav-count">2<span class="visually-hidden"> waiting</span>' in page
    # An outside `next` is ignored.
    response = client.post(
        f"/releases/{release.pk}/gates/{_gate(project, 'documentation').pk}/approve/",
        {"decision": "approve", "next": "https://evil.example/"},
    )
    assert response["Location"] == f"/releases/{release.pk}/#release-gates"


def test_approvals_page_is_honestly_empty(client_as, project, manager, approver, stakeholder):
    _release(project, manager, status="planned")
    for user in (approver, stakeholder, manager):
        page = _text(client_as(user).get("/approvals/"))
        assert "Nothing waits for your approval" in page
        assert "nav-count" not in page


def test_only_approvers_and_admins_see_the_count(
    client_as, project, manager, admin_user, stakeholder
):
    _release(project, manager)
    assert "nav-count" not in _text(client_as(manager).get("/"))
    assert "nav-count" not in _text(client_as(stakeholder).get("/"))
    assert "waiting</span>" in _text(client_as(admin_user).get("/"))


# --- Constant queries -------------------------------------------------------------------


def _grow(release, project, people, size):
    """`size` more checklists items (ticked by different people), gates, results (on this
    head and an older one) and approvals for `release`."""
    checklist = Checklist.objects.create(release=release, phase="validation", name=f"Extra {size}")
    ChecklistItem.objects.bulk_create(
        ChecklistItem(
            checklist=checklist,
            release=release,
            order=i,
            title=f"Item {size}-{i}",
            kind=ItemKind.SCENARIO if i % 2 else ItemKind.CHECK,
            result="pass" if i % 2 else "",
            done=True,
            updated_by=people[i % len(people)],
            updated_at=timezone.now(),
        )
        for i in range(size)
    )
    for i in range(size):
        gate = gate_save(
            actor=None,
            project=project,
            key=f"g{size}-{i}",
            name=f"Gate {size}-{i}",
            kind="automated" if i % 2 else "manual",
            comparator="gte",
            threshold=1,
        )
        if gate.is_automated:
            gate_result_record(release=release, gate=gate, source="ci", value=i, commit="a" * 40)
            gate_result_record(release=release, gate=gate, source="ci", value=i, commit=HEAD)
        else:
            approval_record(
                release=release, gate=gate, actor=people[i % len(people)], decision="approve"
            )


@pytest.mark.parametrize("who", [Role.RELEASE_MANAGER, Role.APPROVER])
def test_release_page_makes_constant_queries(
    client_as, project, manager, make_user, who, django_assert_max_num_queries
):
    release = _release(project, manager)
    people = [make_user(Role.APPROVER) for _ in range(3)]
    client = client_as(make_user(who))
    url = f"/releases/{release.pk}/"
    client.get(url)
    counts = []
    for size in (2, 12):
        _grow(release, project, people, size)
        with (
            django_assert_max_num_queries(22),
            CaptureQueriesContext(connection) as captured,
        ):
            response = client.get(url)
        assert f"Item {size}-{size - 1}" in _text(response)
        assert f"Gate {size}-{size - 1}" in _text(response)
        counts.append(len(captured))
    assert counts[0] == counts[1]


def test_approvals_page_makes_constant_queries(
    client_as, project, approver, make_user, django_assert_max_num_queries
):
    client = client_as(approver)
    client.get("/approvals/")
    counts = []
    for size in (1, 6):
        while Release.objects.filter(project=project).count() < size:
            n = Release.objects.filter(project=project).count()
            release = _release(project, make_user(Role.RELEASE_MANAGER), version=f"2.{n}.0")
            gate_result_record(
                release=release, gate=_gate(project, "coverage"), source="ci", value=1, commit=HEAD
            )
        with (
            django_assert_max_num_queries(12),
            CaptureQueriesContext(connection) as captured,
        ):
            page = _text(client.get("/approvals/"))
        assert page.count('class="card approval-release"') == size
        counts.append(len(captured))
    assert counts[0] == counts[1]


# --- Enforcement from the page ----------------------------------------------------------


def test_the_phase_button_is_refused_with_exactly_what_is_missing(
    client_as, project, manager, approver
):
    release = _release(project, manager)
    client = client_as(manager)
    response = client.post(f"/releases/{release.pk}/transition/", {"to": "ready"}, follow=True)
    page = _text(response)
    assert Release.objects.get(pk=release.pk).status == "validating"
    assert "cannot move to ready yet" in page
    assert "Pre-release checklist: “Vision alignment” is not ticked." in page
    assert "Gate “Security review” needs approval (0 of 1)." in page

    # Everything done, measured and signed: the same button moves it.
    for item in ChecklistItem.objects.filter(release=release):
        field = "result" if item.kind == ItemKind.SCENARIO else "done"
        client.post(f"/checklist-items/{item.pk}/", {field: "pass" if field == "result" else "1"})
    for gate in QualityGate.objects.filter(project=project, active=True):
        if gate.is_automated:
            gate_result_record(
                release=release,
                gate=gate,
                source=GateResultSource.CI,
                value=gate.threshold,
                commit=HEAD,
            )
        else:
            approval_record(release=release, gate=gate, actor=approver, decision="approve")
    response = client.post(f"/releases/{release.pk}/transition/", {"to": "ready"}, follow=True)
    assert Release.objects.get(pk=release.pk).status == "ready"
    assert "is now ready" in _text(response)


# --- The dashboard ----------------------------------------------------------------------


def test_the_dashboard_shows_what_waits_for_me_and_the_checklist_progress(
    client_as, project, manager, approver, stakeholder
):
    release = _release(project, manager)
    page = _text(client_as(approver).get("/"))
    assert "Waiting for your approval" in page
    assert f"Svc v{release.version}</a>: Security review" in page
    assert "checklists 0 of" in page
    assert '<span class="nav-count">3<span class="visually-hidden"> waiting</span>' in page
    # A stakeholder signs nothing: an honest empty card, not someone else's list.
    page = _text(client_as(stakeholder).get("/"))
    assert "Nothing waits for your approval." in page
    assert "Security review" not in page


def test_the_dashboard_makes_the_same_queries_for_one_or_many_releases(
    client_as, project, manager, approver, django_assert_max_num_queries
):
    _release(project, manager, version="1.0.0")
    client = client_as(approver)
    client.get("/")
    with CaptureQueriesContext(connection) as few:
        client.get("/")
    for minor in range(1, 8):
        _release(project, manager, version=f"1.{minor}.0")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get("/")
    # Eight releases with three manual gates each; the card lists six and links the rest.
    assert "All 24 on the approvals page" in _text(response)


def test_revoking_a_waiver_from_the_page_blocks_the_release_again(
    client_as, project, manager, approver
):
    release = _release(project, manager)
    gate = _gate(project, "coverage")
    gate_result_record(release=release, gate=gate, source="ci", value=82.5, commit=HEAD)
    client = client_as(approver)
    client.post(
        f"/releases/{release.pk}/gates/{gate.pk}/waive/",
        {"reason": "Legacy module, covered by the e2e suite."},
    )
    url = f"/releases/{release.pk}/gates/{gate.pk}/waiver/revoke/"
    # A manager may not (the gate is signed by approvers): refused with a message.
    refused = client_as(manager).post(url, follow=True)
    assert "Only an approver may revoke the waiver of “Test coverage”." in _text(refused)
    assert "Waived by" in _text(client.get(f"/releases/{release.pk}/"))
    fragment = _text(client_as(approver).post(url, headers=HTMX))
    assert "Waived by" not in fragment and ">Waive" in fragment
    page = _text(client_as(manager).get(f"/releases/{release.pk}/"))
    assert "Gate “Test coverage” failed: 82.5, needs ≥ 90 %." in page
