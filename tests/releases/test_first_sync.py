"""Adding a project is enough to plan its first release: the project starts its first
sync at once, and nothing is proposed from nothing before that sync has finished."""

from pathlib import Path

import pytest

from liftoff.errors import Conflict
from liftoff.tokens import token_create
from releases.models import Project
from releases.services import (
    project_refs_record,
    project_sync,
    release_create,
    release_proposal,
)
from runs.models import Run, RunStatus
from tests.factories import ProjectFactory
from tests.helpers import wait_for


def _commit(work, message):
    path = Path(work.working_dir) / "CHANGELOG"
    with path.open("a") as handle:
        handle.write(message + "\n")
    work.index.add(["CHANGELOG"])
    return work.index.commit(message)


@pytest.fixture
def tagged_remote(git_remote, settings, tmp_path):
    """A repository already at v4.12.1, with a feature on main since: its next release is
    4.13.0, whatever Liftoff has seen before."""
    settings.DATA_DIR = tmp_path / "data"  # the mirrors; the worker is given the same
    settings.DATA_DIR.mkdir()
    bare, work = git_remote
    _commit(work, "feat: the big one")
    work.create_tag("v4.12.0", message="v4.12.0")
    _commit(work, "fix: a small one")
    work.create_tag("v4.12.1", message="v4.12.1")
    _commit(work, "feat(api): a feature after the last release")
    work.git.push("origin", "HEAD:refs/heads/main", "--tags")
    return bare


def _bearer(user):
    _, secret = token_create(actor=user, name="test", user=user)
    return {"Authorization": f"Bearer {secret}"}


def _syncs(slug):
    project = Project.objects.get(slug=slug)
    return Run.objects.filter(kind="project.sync", subject_id=str(project.pk))


@pytest.mark.worker
def test_a_project_added_with_a_tagged_history_proposes_its_next_version_without_a_sync_click(
    tagged_remote, client, admin_user, manager, start_worker
):
    created = client.post(
        "/api/v1/projects/",
        {"slug": "atlas", "name": "Atlas", "repo_url": str(tagged_remote)},
        content_type="application/json",
        headers=_bearer(admin_user),
    )
    assert created.status_code == 201, created.content
    (sync,) = _syncs("atlas")
    as_manager = _bearer(manager)

    # Before the sync has run (no worker yet): the API refuses, the page waits.
    refused = client.post(
        "/api/v1/releases/",
        {"project": "atlas", "version": "9.0.0"},
        content_type="application/json",
        headers=as_manager,
    )
    assert refused.status_code == 409
    assert refused.json()["detail"] == "No version can be proposed for Atlas yet."
    assert refused.json()["missing"] == [
        f"The repository has not been synced yet: sync run #{sync.pk} is queued; "
        "the proposal follows when it ends."
    ]
    client.force_login(manager)
    page = client.get("/releases/new/?project=atlas").content.decode()
    assert "The proposal is not known yet." in page
    assert f'id="run-{sync.pk}-progress"' in page and "every 1s" in page
    assert 'hx-trigger="liftoff:run-finished from:body"' in page
    assert 'value="0.1.0"' not in page

    start_worker()
    wait_for(
        lambda: Project.objects.filter(slug="atlas", last_synced_at__isnull=False).exists(),
        timeout=60,
        message="the first sync to finish",
    )
    sync.refresh_from_db()
    assert sync.status == RunStatus.SUCCEEDED, sync.error

    # The form the page reloads when the run ends: the proposal from the real history.
    form = client.get("/releases/new/?project=atlas", headers={"HX-Request": "true"})
    assert 'value="4.13.0"' in form.content.decode()
    assert "The proposal is not known yet." not in form.content.decode()

    # No type: the suggestion is used, and the answer says what it was and why.
    planned = client.post(
        "/api/v1/releases/",
        {"project": "atlas"},
        content_type="application/json",
        headers=as_manager,
    )
    assert planned.status_code == 201, planned.content
    body = planned.json()
    assert (body["version"], body["type"], body["suggested_type"]) == ("4.13.0", "minor", "minor")
    assert any("a feature after the last release" in reason for reason in body["reasons"])
    detail = client.get(f"/api/v1/releases/{body['id']}/", headers=as_manager).json()
    assert detail["suggested_type"] == "minor" and detail["reasons"] == body["reasons"]
    assert _syncs("atlas").count() == 1  # nobody pressed Sync


@pytest.mark.django_db
def test_adding_a_project_on_the_page_starts_its_first_sync(client_as, admin_user):
    response = client_as(admin_user).post(
        "/projects/new/",
        {
            "name": "Orbit",
            "slug": "orbit",
            "repo_url": "https://git.example.test/orbit.git",
            "default_branch": "main",
            "version_files": "pyproject.toml",
        },
    )
    assert response.status_code == 302
    (sync,) = _syncs("orbit")
    assert sync.status == RunStatus.QUEUED and sync.requested_by == admin_user


@pytest.mark.django_db
def test_nothing_is_proposed_or_planned_before_the_first_sync(manager):
    project = ProjectFactory(name="Never", last_synced_at=None)
    with pytest.raises(Conflict) as no_sync:
        release_proposal(project=project)
    assert no_sync.value.extra["missing"] == [
        "The repository has not been synced yet: sync it (Sync on the project page) to learn "
        "its released versions."
    ]
    # A version given explicitly too: it would be checked against tags not known yet.
    with pytest.raises(Conflict):
        release_create(actor=manager, project=project, release_type="minor", version="1.0.0")

    project_refs_record(project=project, refs=[])  # what a sync of a tagless repository leaves
    assert release_proposal(project=project)["version"] == "0.1.0"
    release = release_create(actor=manager, project=project, release_type="minor")
    assert release.version == "0.1.0"


@pytest.mark.django_db
def test_a_failed_first_sync_says_so_and_how_to_go_on(admin_user, client, manager):
    project = ProjectFactory(slug="flaky", last_synced_at=None)
    run = project_sync(project=project, actor=admin_user)
    Run.objects.filter(pk=run.pk).update(status=RunStatus.FAILED, error="Repository not found.")
    refused = client.post(
        "/api/v1/releases/",
        {"project": "flaky", "type": "minor"},
        content_type="application/json",
        headers=_bearer(manager),
    )
    assert refused.status_code == 409
    assert refused.json()["missing"] == [
        f"The repository has not been synced yet: sync run #{run.pk} failed "
        "(Repository not found.); retry it or sync again."
    ]
