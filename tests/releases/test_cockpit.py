"""The release page's action bar and what is left: one primary button (the next step),
moves that would be refused not offered, irreversible steps asked for first, what is left
grouped by who must act and re-rendered on its own."""

import re

import pytest
from django.utils import timezone

from gates.models import ValidationCommand
from liftoff.roles import Role
from releases.models import Release
from releases.policy import project_created
from runs.models import Run
from runs.services import run_create, run_finish
from tests.factories import ProjectFactory, ReleaseFactory
from tests.runs import kinds  # noqa: F401 - registers the test kinds

pytestmark = pytest.mark.django_db

HEAD = "0123456789abcdef0123456789abcdef01234567"
PRIMARY = re.compile(r'class="button primary"[^>]*>([^<]+)<')


@pytest.fixture
def project():
    project = ProjectFactory(slug="svc", name="Svc")
    project_created(project=project, actor=None)
    return project


def _release(project, manager, status, **facts):
    facts.setdefault("head_commit", HEAD)
    return ReleaseFactory(project=project, release_manager=manager, status=status, **facts)


def _primary(client, release) -> list[str]:
    page = client.get(f"/releases/{release.pk}/").content.decode()
    return [label.strip() for label in PRIMARY.findall(page)]


def test_the_primary_button_is_the_next_step_of_the_phase(client_as, project, manager):
    client = client_as(manager)
    assert _primary(client, _release(project, manager, "planned", head_commit="")) == ["Prepare"]
    ValidationCommand.objects.create(project=project, name="tests", argv=["true"])
    prepared = _release(project, manager, "preparing", prepared_at=timezone.now())
    # After a successful Prepare, Validate is next; "Prepare again" is still offered.
    assert _primary(client, prepared) == ["Validate"]
    assert "Prepare again" in client.get(f"/releases/{prepared.pk}/").content.decode()
    shipping = _release(project, manager, "production", prepared_at=timezone.now())
    assert _primary(client, shipping) == [f"Ship (tag v{shipping.version})"]


def test_a_blocked_move_carries_its_count_and_is_not_primary(client_as, project, manager):
    release = _release(project, manager, "validating", prepared_at=timezone.now())
    page = client_as(manager).get(f"/releases/{release.pk}/").content.decode()
    left = re.search(r"Move to ready — (\d+) left", page)
    assert left, page
    assert f"{left.group(1)} left before ready" in page
    assert "Move to ready — " not in "".join(_primary(client_as(manager), release))


def test_actions_that_would_be_refused_are_not_offered(client_as, project, manager):
    ValidationCommand.objects.create(project=project, name="tests", argv=["true"])
    client = client_as(manager)
    for status in ("planned", "released", "cancelled"):
        release = _release(project, manager, status, prepared_at=timezone.now())
        page = client.get(f"/releases/{release.pk}/").content.decode()
        assert ">Validate</button>" not in page, status


def test_cancel_is_behind_more_and_asked_for_first(client_as, project, manager):
    release = _release(project, manager, "validating")
    client = client_as(manager)
    page = client.get(f"/releases/{release.pk}/").content.decode()
    more = page.split('class="more-menu"')[1].split("</details>")[0]
    assert "Cancel the release…" in more
    # A POST without the confirmation only leads to the question.
    response = client.post(f"/releases/{release.pk}/transition/", {"to": "cancelled"})
    assert response.status_code == 302
    assert response["Location"] == f"/releases/{release.pk}/confirm/cancel/"
    assert Release.objects.get(pk=release.pk).status == "validating"
    question = client.get(response["Location"]).content.decode()
    assert "This cannot be undone." in question
    assert 'name="confirmed" value="1"' in question
    # The same question as a panel for htmx, without the layout.
    panel = client.get(response["Location"], headers={"HX-Request": "true"}).content.decode()
    assert "This cannot be undone." in panel and "<html" not in panel
    client.post(f"/releases/{release.pk}/transition/", {"to": "cancelled", "confirmed": "1"})
    assert Release.objects.get(pk=release.pk).status == "cancelled"


def test_ship_says_what_it_will_do_and_waits_for_the_confirmation(client_as, project, manager):
    release = _release(project, manager, "production", prepared_at=timezone.now())
    client = client_as(manager)
    response = client.post(f"/releases/{release.pk}/ship/")
    assert response["Location"] == f"/releases/{release.pk}/confirm/ship/"
    assert not Run.objects.filter(kind="release.ship").exists()
    question = client.get(response["Location"]).content.decode()
    assert f"annotated tag v{release.version} on {HEAD[:10]}" in question
    assert "pushes it to the project&#x27;s remote" in question


def test_what_is_left_is_grouped_by_who_must_act_and_links_to_its_row(
    client_as, project, manager, make_user
):
    release = _release(project, manager, "validating", prepared_at=timezone.now())
    fragment = client_as(manager).get(f"/releases/{release.pk}/cockpit/").content.decode()
    assert "<html" not in fragment
    groups = re.findall(r'<h3 class="blocker-group">([^<]+)</h3>', fragment)
    assert groups[:2] == ["You", "An approver"], groups
    assert re.search(r'<a href="#item-\d+">Pre-release checklist: “Vision alignment”', fragment)
    assert re.search(r'<a href="#gate-\d+-\d+">Gate “Security review” needs approval', fragment)
    # Another reader sees the release manager's work as theirs, and no buttons.
    other = client_as(make_user(Role.STAKEHOLDER)).get(f"/releases/{release.pk}/cockpit/")
    text = other.content.decode()
    assert "The release manager" in text and "<button" not in text


def test_a_refused_move_lists_what_is_left_once(client_as, project, manager):
    release = _release(project, manager, "validating", prepared_at=timezone.now())
    response = client_as(manager).post(
        f"/releases/{release.pk}/transition/", {"to": "ready"}, follow=True
    )
    page = response.content.decode()
    assert "cannot move to ready yet" in page
    assert page.count("“Vision alignment” is not ticked.") == 1


def test_only_release_managers_are_asked_to_confirm(client_as, project, manager, make_user):
    release = _release(project, manager, "validating")
    stakeholder = client_as(make_user(Role.STAKEHOLDER))
    assert stakeholder.get(f"/releases/{release.pk}/confirm/cancel/").status_code == 403
    response = stakeholder.post(
        f"/releases/{release.pk}/transition/", {"to": "cancelled", "confirmed": "1"}
    )
    assert response.status_code == 403
    assert Release.objects.get(pk=release.pk).status == "validating"
    assert client_as(manager).get(f"/releases/{release.pk}/confirm/nothing/").status_code == 404


def test_a_run_that_ended_steps_aside_on_the_release_page(client_as, project, manager):
    release = _release(project, manager, "preparing")
    run = run_create(kind="test.slow", subject=release, scope="svc", requested_by=manager)
    client = client_as(manager)
    page = client.get(f"/releases/{release.pk}/").content.decode()
    assert 'class="card run-progress"' in page and '"compact": "1"' in page  # polled in full
    Run.objects.filter(pk=run.pk).update(status="running")
    run.refresh_from_db()
    assert run_finish(run=run, status="succeeded")
    page = client.get(f"/releases/{release.pk}/").content.decode()
    assert 'class="card run-progress"' not in page
    assert f'<a href="/runs/{run.pk}/">Test slow #{run.pk}</a>' in page
    # Its own page keeps everything.
    assert 'class="card run-progress"' in client.get(f"/runs/{run.pk}/").content.decode()
