"""Releases: proposal, creation rules, phases, and the git work through a real worker."""

import threading
from pathlib import Path

import git
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from liftoff.errors import Conflict, ValidationFailed
from liftoff.git import list_refs
from releases.models import Release, ReleaseStatus
from releases.services import (
    project_refs_record,
    release_create,
    release_prepare,
    release_proposal,
    release_ship,
    release_transition,
)
from runs.models import Run, RunStatus
from tests.factories import ProjectFactory
from tests.helpers import wait_for


def _commit(work, message, files=None):
    root = Path(work.working_dir)
    for name, content in (files or {"CHANGELOG": message + "\n"}).items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        mode = "w" if files else "a"
        with path.open(mode) as handle:
            handle.write(content)
        work.index.add([name])
    return work.index.commit(message)


def _version_files(version):
    return {
        "pyproject.toml": f'[project]\nname = "svc"\nversion = "{version}"\n',
        "src/svc/__init__.py": f'__version__ = "{version}"\n',
    }


@pytest.fixture
def remote(git_remote, settings, tmp_path):
    """A remote with v0.1.0 and v0.2.0 tagged, then a feature and a fix on main."""
    settings.DATA_DIR = tmp_path / "data"
    bare, work = git_remote
    _commit(work, "feat: oracle mode", _version_files("0.1.0"))
    work.create_tag("v0.1.0", message='v0.1.0 "Nebula Whisper"')
    _commit(work, "fix(security): sanitise input")
    _commit(work, "chore: bump", _version_files("0.2.0"))
    work.create_tag("v0.2.0", message='v0.2.0 "Quantum Guardian"')
    _commit(work, "feat(api): compliance reports")
    _commit(work, "fix: typo in the cosmic mode")
    work.git.push("origin", "HEAD:refs/heads/main", "--tags")
    return bare, work


def _project(bare, **extra):
    project = ProjectFactory(
        slug="svc",
        name="Svc",
        repo_url=str(bare),
        version_files=["pyproject.toml", "src/svc/__init__.py"],
        codename_pool=["Digital Oracle", "Cosmic Defender"],
        **extra,
    )
    # What a sync leaves behind: the mirror and the refs.
    from django.conf import settings

    mirror = Path(settings.DATA_DIR) / "mirrors" / "svc.git"
    git.Repo.clone_from(str(bare), mirror, mirror=True)
    project_refs_record(project=project, refs=list_refs(mirror))
    return project


@pytest.mark.django_db
def test_proposal_suggests_minor_for_a_feature_with_reasons(remote):
    project = _project(remote[0])
    proposal = release_proposal(project=project)
    assert proposal["suggested_type"] == "minor"
    assert proposal["version"] == "0.3.0"
    assert proposal["codename"] == "Digital Oracle"
    assert any("feat(api): compliance reports" in r for r in proposal["reasons"])
    assert release_proposal(project=project, release_type="major")["version"] == "1.0.0"
    assert release_proposal(project=project, release_type="patch")["version"] == "0.2.1"


@pytest.mark.django_db
def test_hotfix_is_a_patch_on_production_branched_from_its_tag(remote, manager):
    project = _project(remote[0])
    release = release_create(actor=manager, project=project, release_type="hotfix")
    assert release.version == "0.2.1"
    assert release.base_ref == "v0.2.0"
    assert release.branch == "release/v0.2.1-digital-oracle"
    assert release.tag == "v0.2.1"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("version", "message"),
    [
        ("0.3", "is not a semantic version"),
        ("0.2.0", "exists already"),
        ("0.1.5", "lower than the released"),
    ],
)
def test_bad_versions_are_refused_with_the_field_named(remote, manager, version, message):
    project = _project(remote[0])
    with pytest.raises(ValidationFailed) as refused:
        release_create(actor=manager, project=project, release_type="minor", version=version)
    assert message in " ".join(refused.value.errors["version"])
    assert Release.objects.count() == 0


@pytest.mark.django_db
def test_api_create_and_errors(remote, client_as, manager, stakeholder):
    _project(remote[0])
    client = client_as(manager)
    created = client.post(
        "/api/v1/releases/", {"project": "svc", "type": "minor"}, content_type="application/json"
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["version"], body["codename"], body["status"]) == (
        "0.3.0",
        "Digital Oracle",
        "planned",
    )
    again = client.post(
        "/api/v1/releases/",
        {"project": "svc", "type": "minor", "version": "0.3.0"},
        content_type="application/json",
    )
    assert again.status_code == 400
    assert "exists already" in again.json()["errors"]["version"][0]
    unknown = client.post(
        "/api/v1/releases/", {"project": "nope", "type": "minor"}, content_type="application/json"
    )
    assert unknown.status_code == 400 and "project" in unknown.json()["errors"]
    listed = client_as(stakeholder).get("/api/v1/releases/?project=svc&status=planned").json()
    assert [r["version"] for r in listed["results"]] == ["0.3.0"]
    refused = client_as(stakeholder).post(
        "/api/v1/releases/", {"project": "svc", "type": "minor"}, content_type="application/json"
    )
    assert refused.status_code == 403


@pytest.mark.django_db(transaction=True)
def test_two_people_creating_the_same_version_at_once_get_one_release(remote, manager, approver):
    from django.db import connections

    project = _project(remote[0])
    start = threading.Barrier(2)
    outcomes = []

    def create(user):
        try:
            start.wait()
            release_create(actor=user, project=project, release_type="minor", version="0.3.0")
            outcomes.append("created")
        except ValidationFailed as exc:
            outcomes.append(exc.errors["version"][0])
        finally:
            connections.close_all()

    threads = [threading.Thread(target=create, args=(u,)) for u in (manager, approver)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["created", "v0.3.0 exists already."] or (
        outcomes.count("created") == 1 and any("exists already" in o for o in outcomes)
    )
    assert Release.objects.count() == 1


@pytest.mark.django_db
def test_phase_moves_are_checked_and_say_what_is_missing(remote, manager, client_as):
    project = _project(remote[0])
    release = release_create(actor=manager, project=project, release_type="minor")
    client = client_as(manager)
    skip = client.post(
        f"/api/v1/releases/{release.pk}/transition/",
        {"to": "ready"},
        content_type="application/json",
    )
    assert skip.status_code == 409
    assert skip.json()["missing"] == ["planned → ready is not a step of the release process."]
    with pytest.raises(Conflict):
        release_transition(release=release, to="preparing", actor=manager)
    Release.objects.filter(pk=release.pk).update(status=ReleaseStatus.PREPARING)
    release.refresh_from_db()
    blocked = client.post(
        f"/api/v1/releases/{release.pk}/transition/",
        {"to": "validating"},
        content_type="application/json",
    )
    assert blocked.status_code == 409
    assert "not prepared yet" in blocked.json()["missing"][0]
    cancel = client.post(
        f"/api/v1/releases/{release.pk}/transition/",
        {"to": "cancelled"},
        content_type="application/json",
    )
    assert cancel.status_code == 200 and cancel.json()["status"] == "cancelled"


@pytest.mark.django_db
def test_command_line_plans_and_prints_notes(remote, capsys):
    _project(remote[0])
    call_command(
        "release", "new", "--project", "svc", "--type", "minor", "--codename", "Cosmic Defender"
    )
    assert "Planned Svc v0.3.0 “Cosmic Defender”" in capsys.readouterr().out
    Release.objects.update(notes="# Notes of 0.3.0")
    call_command("release", "notes", "--project", "svc", "0.3.0")
    assert capsys.readouterr().out.strip() == "# Notes of 0.3.0"
    with pytest.raises(CommandError, match="exists already"):
        call_command("release", "new", "--project", "svc", "--type", "minor", "--version", "0.3.0")


def _final(run, timeout=90):
    def done():
        run.refresh_from_db()
        return run.is_final

    wait_for(done, timeout=timeout, message=f"run #{run.pk} to end")
    return run


def _branch_log(bare, branch):
    return git.Repo(bare).git.log("--format=%s", f"refs/heads/{branch}").splitlines()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_preparation_through_a_real_worker_then_ship(remote, manager, start_worker):
    bare, _ = remote
    project = _project(bare)
    release = release_create(
        actor=manager, project=project, release_type="minor", summary="Wisdom enhancement phase"
    )
    start_worker()
    run = _final(release_prepare(release=release, actor=manager))
    assert run.status == RunStatus.SUCCEEDED, run.error
    release.refresh_from_db()
    assert release.status == ReleaseStatus.PREPARING and release.prepared_at
    assert release.previous_tag == "v0.2.0"
    remote_repo = git.Repo(bare)
    head = remote_repo.commit(f"refs/heads/{release.branch}")
    assert head.hexsha == release.head_commit
    assert head.message.startswith('chore(release): v0.3.0 "Digital Oracle"')
    assert 'version = "0.3.0"' in (head.tree / "pyproject.toml").data_stream.read().decode()
    assert (
        '__version__ = "0.3.0"' in (head.tree / "src/svc/__init__.py").data_stream.read().decode()
    )
    assert "compliance reports" in release.notes and "typo in the cosmic mode" in release.notes
    assert "oracle mode" not in release.notes  # before v0.2.0
    # Liftoff's own bump commit is marked, and neither a change nor a contributor.
    assert head.author.email == "liftoff@localhost"
    assert head.message.rstrip().endswith("Liftoff-Release: 0.3.0")
    assert "chore(release)" not in release.notes and "- Liftoff (" not in release.notes

    for phase in ("validating", "ready", "staging", "production"):
        release_transition(release=release, to=phase, actor=manager)
    ship = _final(release_ship(release=release, actor=manager))
    assert ship.status == RunStatus.SUCCEEDED, ship.error
    release.refresh_from_db()
    assert release.status == ReleaseStatus.RELEASED and release.tagged_at
    tag = remote_repo.tags["v0.3.0"]
    assert tag.commit.hexsha == release.head_commit
    assert tag.tag.message.strip() == 'v0.3.0 "Digital Oracle" – Wisdom enhancement phase'


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_rejected_push_then_retry_finishes_without_duplicates(remote, manager, start_worker):
    bare, _ = remote
    project = _project(bare)
    release = release_create(actor=manager, project=project, release_type="minor")
    hook = Path(bare) / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'remote: branch protection says no' >&2\nexit 1\n")
    hook.chmod(0o755)
    start_worker()
    failed = _final(release_prepare(release=release, actor=manager))
    assert failed.status == RunStatus.FAILED
    assert failed.steps.get(key="push").status == "failed"
    assert "rejected" in failed.error or "says no" in failed.error
    hook.unlink()
    from runs.services import run_retry

    retry = _final(run_retry(run=failed, actor=manager))
    assert retry.status == RunStatus.SUCCEEDED, retry.error
    subjects = _branch_log(bare, release.branch)
    assert sum(s.startswith("chore(release): v0.3.0") for s in subjects) == 1
    assert Run.objects.filter(kind="release.prepare").count() == 2


@pytest.mark.django_db
def test_command_line_moves_with_the_same_rules(remote, capsys):
    _project(remote[0])
    call_command("release", "new", "--project", "svc", "--type", "minor")
    with pytest.raises(CommandError, match="planned → validating is not a step"):
        call_command("release", "move", "--project", "svc", "0.3.0", "validating")
    call_command("release", "move", "--project", "svc", "v0.3.0", "cancelled")
    assert "v0.3.0 is now cancelled." in capsys.readouterr().out
    assert Release.objects.get().status == ReleaseStatus.CANCELLED
