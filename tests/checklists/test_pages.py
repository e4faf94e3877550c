"""The checklist pages: access per role, ticking in place, concurrent ticks, the release
page and dashboard with gates and checklists together, constant queries."""

import threading

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from checklists.models import Checklist, ChecklistItem, ItemKind
from gates.models import GateResultSource, QualityGate
from gates.services import approval_record, gate_result_record, gate_save
from liftoff.models import AuditEvent
from liftoff.roles import Role
from releases.models import Release
from releases.policy import project_created
from tests.factories import ProjectFactory, ReleaseFactory

pytestmark = pytest.mark.django_db

HEAD = "0123456789abcdef0123456789abcdef01234567"


HTMX = {"HX-Request": "true"}


@pytest.fixture
def project():
    project = ProjectFactory(slug="svc", name="Svc")
    project_created(project=project, actor=None)
    return project


def _release(project, manager, version="1.0.0", status="validating", head=HEAD):
    return ReleaseFactory(
        project=project,
        release_manager=manager,
        version=version,
        codename="Orion",
        status=status,
        head_commit=head,
    )


def _gate(project, key):
    return QualityGate.objects.get(project=project, key=key)


def _check_item(release, index=0):
    return ChecklistItem.objects.filter(release=release, kind=ItemKind.CHECK).order_by("pk")[index]


def _text(response):
    return response.content.decode()


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
    assert "1 of 7 required done" in fragment
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
    assert (
        'name="result" value="blocked" class="button small result-button result-button-blocked"'
        ' aria-pressed="true"'
    ) in fragment
    assert fragment.count('aria-pressed="true"') == 1
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
    project_created(project=project, actor=None)
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
    assert any("2 of 7 required done" in _text(r) for r in responses.values())
    for c in clients:
        fragment = _text(c.get(f"/checklists/{one.checklist_id}/", headers=HTMX))
        assert "2 of 7 required done" in fragment
        assert "ticked by first" in fragment and "ticked by second" in fragment
    # Then each ticks a second item from its now stale page: both kept, both responses show all.
    three, four = _check_item(release, 2), _check_item(release, 3)
    for c, item in ((clients[0], three), (clients[1], four)):
        response = c.post(
            f"/checklist-items/{item.pk}/", {"done": "1", "was_done": "0"}, headers=HTMX
        )
        assert "ticked by" in _text(response)
    assert "4 of 7 required done" in _text(response)
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
            # Optional ones, and checks ticked by Liftoff itself, counted and shown apart.
            required=i % 3 != 0,
            auto_key="tag" if i % 4 == 0 else "",
            ticked_by_liftoff=i % 4 == 0,
            updated_by=None if i % 4 == 0 else people[i % len(people)],
            updated_at=timezone.now(),
        )
        for i in range(size)
    )
    # And an open check in a folded phase ("Mark all done" shows for it).
    folded = Checklist.objects.create(release=release, phase="post_release", name=f"Later {size}")
    ChecklistItem.objects.create(checklist=folded, release=release, title=f"Later item {size}")
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
        assert f"Later item {size}" in _text(response) and "ticked by Liftoff" in _text(response)
        assert f"Gate {size}-{size - 1}" in _text(response)
        counts.append(len(captured))
    assert counts[0] == counts[1]


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
    client = client_as(approver)
    client.get("/")
    _release(project, manager, version="1.0.0")
    # Both views are the first after a change: the page's kept cards are rendered anew.
    with CaptureQueriesContext(connection) as few:
        client.get("/")
    for minor in range(1, 8):
        _release(project, manager, version=f"1.{minor}.0")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get("/")
    # Eight releases with three manual gates each; the card lists six and links the rest.
    assert "All 24 on the approvals page" in _text(response)
