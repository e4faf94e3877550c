"""A shipped release's SBOM: CycloneDX JSON made offline from the requirements file at
its commit, valid against the CycloneDX schema, made once however often its task runs,
served as made; a commit without a dependency file says so."""

import json
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
from metrics.sbom import SbomProblem, sbom_from_files, sbom_from_requirements, uv_lock_requirements
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


# --- Lock files ---------------------------------------------------------------------------

UV_LOCK = """\
version = 1
requires-python = ">=3.12"

[[package]]
name = "svc"
version = "1.0.0"
source = { editable = "." }
dependencies = [{ name = "requests" }]

[[package]]
name = "tools"
version = "0.1.0"
source = { virtual = "tools" }

[[package]]
name = "requests"
version = "2.32.3"
source = { registry = "https://pypi.org/simple" }
dependencies = [{ name = "urllib3" }]

[[package]]
name = "urllib3"
version = "2.2.2"
source = { registry = "https://pypi.org/simple" }
"""

POETRY_PYPROJECT = """\
[tool.poetry]
name = "svc"
version = "1.0.0"
description = ""
authors = ["A <a@example.test>"]

[tool.poetry.dependencies]
python = "^3.12"
requests = "^2.32"
"""

POETRY_LOCK = """\
[[package]]
name = "requests"
version = "2.32.3"
description = "Python HTTP for Humans."
optional = false
python-versions = ">=3.8"
files = []

[package.dependencies]
urllib3 = ">=1.21.1,<3"

[[package]]
name = "urllib3"
version = "2.2.2"
description = "HTTP library"
optional = false
python-versions = ">=3.8"
files = []

[metadata]
lock-version = "2.0"
python-versions = "^3.12"
content-hash = "0"
"""

PIPFILE_LOCK = """\
{"_meta": {"hash": {"sha256": "0"}, "pipfile-spec": 6, "requires": {},
  "sources": [{"name": "pypi", "url": "https://pypi.org/simple", "verify_ssl": true}]},
 "default": {"requests": {"version": "==2.32.3"}, "urllib3": {"version": "==2.2.2"}},
 "develop": {}}
"""


def _components(text: str) -> set[str]:
    return {f"{c['name']}=={c['version']}" for c in json.loads(text)["components"]}


@pytest.mark.parametrize(
    ("files", "source"),
    [
        ({"uv.lock": UV_LOCK, "requirements.txt": "flask==3.0.0\n"}, "uv.lock"),
        ({"poetry.lock": POETRY_LOCK, "pyproject.toml": POETRY_PYPROJECT}, "poetry.lock"),
        ({"Pipfile.lock": PIPFILE_LOCK, "requirements.txt": "flask==3.0.0\n"}, "Pipfile.lock"),
    ],
)
def test_a_lock_file_makes_a_valid_sbom_of_the_whole_pinned_tree(project, manager, files, source):
    """A lock file is read before a requirements file (it pins the whole tree), and the
    SBOM says which file it came from."""
    release = _shipped(project, manager, _mirror_with(project, files))
    sbom = sbom_make(sbom_id=ReleaseSbom.objects.get(release=release).pk)
    assert sbom.status == "succeeded", sbom.error
    assert sbom.source_file == source and _valid(sbom.document)
    # The project itself and a workspace member are not its dependencies.
    assert _components(sbom.document) == {"requests==2.32.3", "urllib3==2.2.2"}


def test_uv_lock_pins_only_the_dependencies():
    assert uv_lock_requirements(UV_LOCK) == "requests==2.32.3\nurllib3==2.2.2"


@pytest.mark.parametrize(
    ("lock", "problem"),
    [
        ("[[package]\n", "uv.lock is not valid TOML"),
        (
            'version = 1\n[[package]]\nname = "svc"\nsource = { editable = "." }\n',
            "no dependencies",
        ),
        ('[[package]]\nname = "x; rm -rf /"\nversion = "1"\n', "not a name and version"),
    ],
)
def test_a_uv_lock_it_cannot_use_is_refused_with_the_reason(lock, problem):
    with pytest.raises(SbomProblem, match=problem):
        uv_lock_requirements(lock)


def test_liftoffs_own_uv_lock_makes_a_valid_sbom():
    """A real uv.lock of a real project: this one."""
    lock = (Path(__file__).parents[2] / "uv.lock").read_text()
    text = sbom_from_files("uv.lock", {"uv.lock": lock})
    assert _valid(text)
    names = {c["name"].lower() for c in json.loads(text)["components"]}
    assert {"django", "celery", "cyclonedx-bom", "license-expression"} <= names
    assert "liftoff" not in names


def test_a_poetry_lock_without_its_pyproject_is_reported(project, manager):
    release = _shipped(project, manager, _mirror_with(project, {"poetry.lock": POETRY_LOCK}))
    sbom = sbom_make(sbom_id=ReleaseSbom.objects.get(release=release).pk)
    assert sbom.status == "failed" and "no pyproject.toml beside it" in sbom.error
