"""A shipped release's SBOM: CycloneDX JSON made offline from the requirements file at
its commit, valid against the CycloneDX schema, made once however often its task runs,
served as made; a commit without a dependency file says so."""

from datetime import timedelta
from pathlib import Path

import git
import pytest
import time_machine
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from django.test import override_settings
from django.utils import timezone

from demo.pepelugpt_repo import REQUIREMENTS_DEV
from metrics.models import ReleaseSbom
from metrics.sbom import sbom_from_requirements
from metrics.services import sbom_make, sboms_sweep
from releases.selectors import project_mirror_path
from releases.services import release_transition
from tests.factories import ReleaseFactory
from tests.helpers import wait_for

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _own_data_dir(settings, tmp_path):
    """Each test's mirrors and workspaces in a folder of its own."""
    settings.DATA_DIR = tmp_path / "data"


def _valid(text: str) -> bool:
    return JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None


def test_the_demo_requirements_make_a_valid_cyclonedx_sbom():
    text = sbom_from_requirements(REQUIREMENTS_DEV)
    assert _valid(text)
    assert '"name": "bandit"' in text and '"purl": "pkg:pypi/pytest@9.2.0"' in text


def test_the_validator_refuses_a_broken_sbom():
    # The check above means something: a document without its required format fails.
    assert not _valid('{"bomFormat": "NotCycloneDX", "specVersion": "1.6"}')


def _mirror_with(project, files: dict[str, str]) -> str:
    """The project's mirror, a real repository with one commit holding `files`."""
    path = Path(project_mirror_path(project))
    repo = git.Repo.init(path, initial_branch="main")
    with repo.config_writer() as config:
        config.set_value("user", "name", "Test Author")
        config.set_value("user", "email", "author@example.test")
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    repo.index.add(list(files) or [])
    return repo.index.commit("release").hexsha


def _shipped(project, manager, commit):
    release = ReleaseFactory(
        project=project,
        version="4.0.0",
        release_manager=manager,
        status="production",
        head_commit=commit,
        tag="v4.0.0",
        prepared_at=timezone.now(),
    )
    release_transition(release=release, to="released", actor=manager, system_reason="tagged")
    return release


def test_shipping_asks_for_the_sbom_and_the_task_makes_it_once(
    project, manager, client_as, stakeholder
):
    commit = _mirror_with(project, {"requirements-dev.txt": REQUIREMENTS_DEV, "README.md": "x"})
    release = _shipped(project, manager, commit)
    sbom = ReleaseSbom.objects.get(release=release)
    assert sbom.status == "queued" and sbom.commit == commit

    made = sbom_make(sbom_id=sbom.pk)
    assert made.status == "succeeded" and made.source_file == "requirements-dev.txt"
    assert _valid(made.document)
    # A second delivery of the task finds the row claimed and does nothing.
    assert sbom_make(sbom_id=sbom.pk) is None

    client = client_as(stakeholder)
    api = client.get(f"/api/v1/releases/{release.pk}/sbom/")
    assert api.status_code == 200 and api.content.decode() == made.document
    page = client.get(f"/metrics/releases/{release.pk}/compliance/").content.decode()
    assert "made from <code>requirements-dev.txt</code>" in page


def test_a_commit_without_dependency_file_is_reported(project, manager, client_as, stakeholder):
    commit = _mirror_with(project, {"README.md": "no dependencies"})
    release = _shipped(project, manager, commit)
    sbom = sbom_make(sbom_id=ReleaseSbom.objects.get(release=release).pk)
    assert sbom.status == "failed" and "No dependency file" in sbom.error
    client = client_as(stakeholder)
    assert client.get(f"/api/v1/releases/{release.pk}/sbom/").status_code == 404
    page = client.get(f"/metrics/releases/{release.pk}/compliance/").content.decode()
    assert "The SBOM could not be made: No dependency file" in page


def test_a_real_worker_makes_the_sbom_after_the_release_ships(start_worker, project, manager):
    """The whole flow: the row is written with the shipping move, sent on commit, and a
    real Celery worker makes it (the worker reads the same data folder)."""
    commit = _mirror_with(project, {"requirements.txt": "httpx==0.28.1\n"})
    start_worker()
    release = _shipped(project, manager, commit)
    sbom = ReleaseSbom.objects.get(release=release)
    wait_for(
        lambda: ReleaseSbom.objects.get(pk=sbom.pk).status == "succeeded",
        timeout=60,
        interval=0.5,
        message="the worker to make the SBOM",
    )
    sbom.refresh_from_db()
    assert sbom.source_file == "requirements.txt" and _valid(sbom.document)
    assert "pkg:pypi/httpx@0.28.1" in sbom.document


def test_a_dead_broker_never_fails_the_shipping_and_the_sweeper_sends_it_later(
    project, manager, django_capture_on_commit_callbacks, caplog
):
    commit = _mirror_with(project, {"requirements.txt": "httpx==0.28.1\n"})
    # The broker's port is closed, as if Redis were down.
    with (
        override_settings(CELERY_BROKER_URL="redis://127.0.0.1:9/0"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        release = _shipped(project, manager, commit)
    sbom = ReleaseSbom.objects.get(release=release)
    assert sbom.status == "queued" and "the sweeper will send it" in caplog.text
    assert sboms_sweep() == []  # not yet: it may still be on its way
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        assert sboms_sweep() == [sbom.pk]
