"""The environment board (on /deployments/ and the dashboard) and the history are kept
rendered per process under the version of the rows they show (liftoff.kept): what a
deployment, a health check, a lock, a freeze that starts or a rename changes shows on the
next view, and what is in progress stays live."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from deployments.models import Deployment, Environment, FreezeWindow, HealthSample
from releases.models import Project, Release
from releases.policy import project_created
from runs.models import Step
from runs.services import run_create
from tests.deployments.test_pages import HEAD, _deployed, _release
from tests.factories import ProjectFactory
from tests.runs import kinds  # noqa: F401 - registers the test kinds

pytestmark = pytest.mark.django_db

PAGES = ["/", "/deployments/"]
HTMX = {"HX-Request": "true"}


@pytest.fixture
def project():
    project = ProjectFactory(slug="svc", name="Svc")
    project_created(project=project, actor=None)
    return project


@pytest.fixture
def staging(project):
    return Environment.objects.create(
        project=project, name="staging", phase="staging", order=1, deploy_commands=[["true"]]
    )


@pytest.fixture
def production(project):
    return Environment.objects.create(
        project=project, name="production", phase="production", order=2, deploy_commands=[["true"]]
    )


@pytest.fixture
def world(project, staging, production, manager):
    release = _release(project, manager)
    _deployed(staging, release)
    return release


def _get(client, path) -> str:
    response = client.get(path)
    assert response.status_code == 200
    return response.content.decode()


def _version(world, staging):
    newer = _release(world.project, world.release_manager, version="1.1.0", status="ready")
    _deployed(staging, newer, when=timezone.now() + timedelta(seconds=1))
    return "v1.1.0"


def _health(world, staging):
    Environment.objects.filter(pk=staging.pk).update(health="failing")
    return "Failing"


def _sample(world, staging):
    HealthSample.objects.create(environment=staging, at=timezone.now(), ok=False, detail="503")
    return "mark-failing"


def _fixed(world, staging):
    """What runs there, corrected by hand (only that deployment's row changes)."""
    Deployment.objects.filter(environment=staging, verified=True).update(version="1.0.9")
    return "v1.0.9"


def _lock(world, staging):
    Environment.objects.filter(pk=staging.pk).update(
        locked_at=timezone.now(), locked_reason="Disk full"
    )
    return "Locked"


def _renamed(world, staging):
    Project.objects.filter(pk=world.project_id).update(name="Renamed service")
    return "Renamed service"


def _codename(world, staging):
    Release.objects.filter(pk=world.pk).update(codename="Vega")
    return "Vega"


@pytest.mark.parametrize(
    ("path", "change"),
    [
        (path, change)
        for path in PAGES
        for change in (_version, _health, _sample, _fixed, _lock, _renamed)
    ]
    + [("/deployments/", _codename)],  # the dashboard's card shows no codename
)
def test_what_changes_on_the_board_shows_on_the_next_view(
    client_as, manager, world, staging, path, change
):
    client = client_as(manager)
    _get(client, path)
    before = _get(client, path)  # the kept copy
    shown = change(world, staging)
    assert shown not in before
    assert shown in _get(client, path)


@pytest.mark.parametrize("path", PAGES)
def test_a_freeze_shows_on_the_board_when_it_starts(client_as, manager, world, path):
    starts = timezone.now() + timedelta(minutes=3)
    FreezeWindow.objects.create(
        project=world.project,
        reason="Quarter close",
        starts_at=starts,
        ends_at=starts + timedelta(hours=1),
    )
    client = client_as(manager)
    assert "badge-frozen" not in _get(client, path)
    with time_machine.travel(starts + timedelta(seconds=5)):
        assert "badge-frozen" in _get(client, path)  # no row changed: the clock did


def test_a_new_deployment_shows_in_the_history_and_old_pages_follow(
    client_as, manager, world, production
):
    client = client_as(manager)
    first = _get(client, "/deployments/")
    deployment = _deployed(production, world)
    page = _get(client, "/deployments/")
    assert f"#{deployment.pk} v" not in first and f"#{deployment.pk} v" in page
    # A deployment changed outside the services (an admin's fix) shows as well.
    Deployment.objects.filter(pk=deployment.pk).update(version="1.0.1")
    assert f"#{deployment.pk} v1.0.1" in _get(client, "/deployments/")


def test_what_is_in_progress_stays_live(client_as, manager, world, production):
    run = run_create(kind="test.slow", subject=world, scope="svc", requested_by=manager)
    Deployment.objects.create(
        environment=production,
        release=world,
        status="running",
        version=world.version,
        commit=HEAD,
        run=run,
    )
    client = client_as(manager)
    board = _get(client, "/deployments/")
    assert f'hx-get="/runs/{run.pk}/progress/" hx-trigger="load"' in board
    fragment = f"/runs/{run.pk}/progress/"
    assert "step-succeeded" not in client.get(fragment, headers=HTMX).content.decode()
    Step.objects.filter(run=run).update(status="succeeded")  # no deployment row changed
    assert "step-succeeded" in client.get(fragment, headers=HTMX).content.decode()
    # The board itself changes when the deployment does, and no longer loads it.
    Deployment.objects.filter(run=run).update(status="succeeded")
    assert f'hx-get="/runs/{run.pk}/progress/"' not in _get(client, "/deployments/")


@pytest.mark.parametrize("path", PAGES)
def test_a_view_with_nothing_changed_makes_few_queries_at_any_size(
    client_as, manager, world, staging, path, django_assert_max_num_queries
):
    client = client_as(manager)
    for size in (3, 300):
        Deployment.objects.bulk_create(
            Deployment(
                environment=staging,
                release=world,
                status="failed",
                version=world.version,
                commit=HEAD,
            )
            for _ in range(size)
        )
        _get(client, path)
        # session, user, the page's small reads, the digests, the navigation's count
        with django_assert_max_num_queries(10):
            _get(client, path)


def test_an_environments_history_follows_its_deployments(client_as, manager, world, staging):
    client = client_as(manager)
    path = f"/deployments/{world.project.slug}/{staging.name}/"
    _get(client, path)
    deployment = _deployed(staging, world)
    assert f"#{deployment.pk} v" in _get(client, path)
    Deployment.objects.filter(pk=deployment.pk).update(status="failed", verified=False)
    page = _get(client, path)
    assert f"#{deployment.pk} v{world.version}</a></td>" in page and "status-failed" in page
