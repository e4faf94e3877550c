"""The release page is kept rendered per process under the digest of every row it reads
(liftoff.kept): a view that finds nothing changed reads the digest instead of the page's
rows, and whatever changes (through a service or not), whenever the clock makes it true (a
freeze that starts, "2 hours ago"), and whoever reads, the next view shows it."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from checklists.models import ChecklistItem
from deployments.models import Deployment, Environment, FreezeWindow
from gates.models import QualityGate
from liftoff.audit import audit_record
from liftoff.kept import CSRF_PLACEHOLDER
from releases import policy
from releases.models import Project, Release
from releases.policy import Blocker, project_created
from runs.models import Run, Step
from runs.services import run_create, run_finish
from tests.factories import ProjectFactory, ReleaseFactory
from tests.runs import kinds  # noqa: F401 - registers the test kinds

pytestmark = pytest.mark.django_db

HEAD = "c" * 40


@pytest.fixture
def release(manager):
    project = ProjectFactory(slug="svc", name="Svc")
    project_created(project=project, actor=None)
    for order, (name, phase) in enumerate((("staging", "staging"), ("production", "production"))):
        Environment.objects.create(
            project=project, name=name, order=order, phase=phase, deploy_commands=[["true"]]
        )
    return ReleaseFactory(
        project=project, release_manager=manager, status="validating", head_commit=HEAD
    )


def _page(client, release) -> str:
    response = client.get(f"/releases/{release.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def _add_items(release, count):
    checklist = release.checklists.first()
    for i in range(count):
        ChecklistItem.objects.create(
            checklist=checklist, release=release, order=100 + i, title=f"Extra {i}", kind="check"
        )


def test_a_view_that_finds_nothing_changed_reads_the_digest_only(
    client_as, manager, release, django_assert_max_num_queries
):
    client = client_as(manager)
    for extra in (0, 40):  # two checklist sizes: the kept view's queries do not grow
        _add_items(release, extra)
        first = _page(client, release)  # renders: the page's own reads
        # session, user, roles, the release, the digest, the navigation's count, the
        # critical-incident banner (incidents)
        with django_assert_max_num_queries(7):
            again = _page(client, release)
        assert _untokened(again) == _untokened(first)


def _untokened(page: str) -> str:
    """The page's content without its CSRF tokens, which are masked anew in every answer."""
    main = page[page.index("<main") : page.index("</main>")]
    return re.sub(r'value="[A-Za-z0-9]{64}"', 'value=""', main)


def test_the_first_view_after_a_change_reads_everything_again(
    client_as, manager, release, django_assert_max_num_queries
):
    client = client_as(manager)
    _page(client, release)
    ChecklistItem.objects.filter(release=release).update(title="Changed")
    with pytest.raises(pytest.fail.Exception), django_assert_max_num_queries(7):
        _page(client, release)


def _lock(release):
    Environment.objects.filter(project=release.project, name="production").update(
        locked_at=timezone.now(), locked_reason="Database maintenance"
    )
    return "Database maintenance"


def _freeze(release):
    FreezeWindow.objects.create(
        project=release.project,
        reason="Black Friday",
        starts_at=timezone.now() - timedelta(hours=1),
        ends_at=timezone.now() + timedelta(hours=1),
    )
    return "Black Friday"


def _verified(release):
    staging = Environment.objects.get(project=release.project, name="staging")
    Deployment.objects.create(
        environment=staging,
        release=release,
        status="succeeded",
        version="9.8.7",
        commit=HEAD,
        verified=True,
        finished_at=timezone.now(),
    )
    return "v9.8.7"


def _gate(release):
    QualityGate.objects.filter(project=release.project).update(name="Renamed gate")
    return "Renamed gate"


def _item(release):
    ChecklistItem.objects.filter(release=release).update(title="Renamed in the admin")
    return "Renamed in the admin"


def _summary(release):
    Release.objects.filter(pk=release.pk).update(summary="Summary set in psql")
    return "Summary set in psql"


def _project(release):
    Project.objects.filter(pk=release.project_id).update(name="Renamed project")
    return "Renamed project"


def _manager_renamed(release):
    get_user_model().objects.filter(pk=release.release_manager_id).update(username="new-name")
    return "new-name"


def _audit(release):
    audit_record(actor=None, action="release.note", obj=release, after={"status": "noted"})
    return "recorded release note"


@pytest.mark.parametrize(
    "change",
    [_lock, _freeze, _verified, _gate, _item, _summary, _project, _manager_renamed, _audit],
)
def test_a_change_to_any_row_the_page_reads_shows_on_the_next_view(
    client_as, manager, release, change
):
    client = client_as(manager)
    _page(client, release)
    before = _page(client, release)  # the kept copy
    shown = change(release)
    assert shown not in before
    assert shown in _page(client, release)


def test_a_freeze_that_starts_later_shows_when_it_starts(client_as, manager, release):
    starts = timezone.now() + timedelta(minutes=3)  # well within the cache's own expiry
    FreezeWindow.objects.create(
        project=release.project,
        reason="Quarter close",
        starts_at=starts,
        ends_at=starts + timedelta(hours=2),
    )
    client = client_as(manager)
    assert "Quarter close" not in _page(client, release)
    with time_machine.travel(starts - timedelta(seconds=5)):
        assert "Quarter close" not in _page(client, release)
    with time_machine.travel(starts + timedelta(seconds=5)):
        assert "Quarter close" in _page(client, release)  # no row changed: the clock did


def test_an_ended_runs_age_follows_the_clock(client_as, manager, release):
    run = run_create(kind="test.slow", subject=release, scope="svc", requested_by=manager)
    Run.objects.filter(pk=run.pk).update(status="running")
    run.refresh_from_db()
    assert run_finish(run=run, status="succeeded")
    client = client_as(manager)
    assert "0\xa0minutes ago" in _page(client, release)
    with time_machine.travel(timezone.now() + timedelta(minutes=4, seconds=30)):
        assert "4\xa0minutes ago" in _page(client, release)


def test_a_live_run_is_never_shown_frozen(client_as, manager, release):
    run = run_create(kind="test.slow", subject=release, scope="svc", requested_by=manager)
    Run.objects.filter(pk=run.pk).update(status="running")
    client = client_as(manager)
    assert "step-succeeded" not in _page(client, release)
    # A step ends: only the steps table changes, which no digest reads.
    Step.objects.filter(run=run).update(status="succeeded")
    assert "step-succeeded" in _page(client, release)


def test_a_part_that_did_not_say_what_it_reads_keeps_the_page_from_being_kept(
    client_as, manager, release
):
    said = {"text": "First reason"}
    policy.register_blocker("test-live", lambda release, to: [Blocker(said["text"])])
    try:
        client = client_as(manager)
        assert "First reason" in _page(client, release)
        said["text"] = "Second reason"  # nothing in the database changed
        assert "Second reason" in _page(client, release)
    finally:
        policy.unregister_blocker("test-live")


def test_each_reader_gets_the_page_for_their_roles(client_as, manager, stakeholder, release):
    assert 'name="done"' in _page(client_as(manager), release)
    assert 'name="done"' not in _page(client_as(stakeholder), release)
    assert 'name="done"' in _page(client_as(manager), release)


def test_forms_of_a_kept_page_carry_the_sessions_own_token(manager, release):
    client = Client(enforce_csrf_checks=True)
    client.force_login(manager)
    _page(client, release)
    page = _page(client, release)  # the kept copy
    assert CSRF_PLACEHOLDER not in page
    item = ChecklistItem.objects.filter(release=release, kind="check", done=False).first()
    form = re.search(
        rf'<form[^>]*action="(/checklist-items/{item.pk}/)"[^>]*>.*?'
        r'name="csrfmiddlewaretoken" value="([^"]+)"',
        page,
        re.S,
    )
    assert form, "the item's form"
    response = client.post(form.group(1), {"csrfmiddlewaretoken": form.group(2), "done": "on"})
    assert response.status_code in {200, 302}
    item.refresh_from_db()
    assert item.done


def test_the_checklists_tab_never_gets_a_kept_pages_placeholder(client_as, manager, release):
    client = client_as(manager)
    _page(client, release)
    tab = client.get(f"/releases/{release.pk}/checklists/").content.decode()
    assert CSRF_PLACEHOLDER not in tab and 'name="csrfmiddlewaretoken"' in tab
