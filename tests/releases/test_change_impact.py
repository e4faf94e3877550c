"""Change impact analysis against real repositories: the figures per top-level folder for
known changes (added, modified, deleted, renamed across folders, binary), the called-out
migrations, dependency files and security-sensitive paths, a first release (no previous
tag: the whole tree), the preparation run's step through a real worker (Liftoff's own
version bump left out of the lists), a failure recorded and retried, and the project's
patterns (admins only; a bad pattern is a form error)."""

from pathlib import Path

import git
import pytest

from liftoff.audit import audit_for_object
from liftoff.errors import NotAllowed, ValidationFailed
from liftoff.git import list_refs
from releases.impact import (
    DEFAULT_SECURITY_PATTERNS,
    change_impact_compute,
    is_dependency_file,
    is_migration,
    parse_numstat,
    path_matches,
)
from releases.models import ChangeImpact
from releases.selectors import release_change_impact
from releases.services import (
    project_refs_record,
    project_security_patterns_set,
    release_change_analyse,
    release_create,
    release_prepare,
)
from runs.models import RunStatus
from tests.factories import ProjectFactory
from tests.helpers import wait_for

PNG = bytes(range(256)) * 4  # NUL bytes: git sees a binary file


def _write(work, files: dict) -> None:
    root = Path(work.working_dir)
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        work.index.add([name])


def _lines(n: int, word: str = "line") -> str:
    return "".join(f"{word} {i}\n" for i in range(n))


@pytest.fixture
def history(git_remote):
    """v1.0.0 tagged, then one commit of every kind of change since."""
    bare, work = git_remote
    _write(
        work,
        {
            "src/app/models.py": _lines(10),
            "src/app/old_name.py": _lines(20, "kept"),
            "docs/guide.md": _lines(7, "guide"),
            "assets/logo.png": PNG,
            "README.md": "# App\n",
        },
    )
    work.index.commit("feat: the app")
    work.create_tag("v1.0.0", message="v1.0.0")
    base = work.head.commit.hexsha
    root = Path(work.working_dir)
    # modified: +2 −1 (line 0 changed, one line added)
    (root / "src/app/models.py").write_text("changed 0\n" + _lines(10)[len("line 0\n") :] + "x\n")
    work.index.add(["src/app/models.py"])
    # renamed across folders, unchanged: a change of src/ and of lib/, no lines
    (root / "lib").mkdir()
    work.git.mv("src/app/old_name.py", "lib/new_name.py")
    # deleted: −7
    work.index.remove(["docs/guide.md"], working_tree=True)
    # binary, modified
    _write(work, {"assets/logo.png": PNG[::-1]})
    _write(
        work,
        {
            "src/app/migrations/0002_add_field.py": _lines(5, "migrate"),  # a migration: +5
            "src/app/migrations/__init__.py": "",  # not a migration: +0
            "requirements.txt": "django==6.1\ncelery==5.5\n",  # a dependency file: +2
            "src/app/auth/views.py": _lines(3, "auth"),  # security-sensitive: +3
            ".github/workflows/ci.yml": _lines(4, "ci"),  # security-sensitive: +4
            "CHANGELOG.md": _lines(1, "changes"),  # at the root: +1
        },
    )
    work.index.commit("feat: many things")
    work.git.push("origin", "HEAD:refs/heads/main", "--tags")
    return bare, work, base


def test_the_figures_per_folder_and_the_called_out_paths_of_a_real_change(history):
    _, work, base = history
    result = change_impact_compute(
        work.working_dir,
        base=base,
        head=work.head.commit.hexsha,
        security_patterns=DEFAULT_SECURITY_PATTERNS,
    )
    folders = {row["folder"]: row for row in result["folders"]}
    assert list(folders) == ["(root)", ".github", "assets", "docs", "lib", "src"]
    assert folders["(root)"] == {
        "folder": "(root)",
        "files": 2,
        "added": 3,
        "removed": 0,
        "binary": 0,
    }
    # models.py +2 −1, migrations +5 and +0, auth +3, and the file renamed away
    assert folders["src"] == {"folder": "src", "files": 5, "added": 10, "removed": 1, "binary": 0}
    assert folders["lib"] == {"folder": "lib", "files": 1, "added": 0, "removed": 0, "binary": 0}
    assert folders["docs"] == {"folder": "docs", "files": 1, "added": 0, "removed": 7, "binary": 0}
    assert folders["assets"] == {
        "folder": "assets",
        "files": 1,
        "added": 0,
        "removed": 0,
        "binary": 1,
    }
    assert folders[".github"]["files"] == 1 and folders[".github"]["added"] == 4
    assert result["totals"] == {
        "files": 10,  # the rename is one change, counted in two folders
        "added": 17,
        "removed": 8,
        "binary": 1,
        "files_added": 6,
        "files_modified": 2,
        "files_deleted": 1,
        "files_renamed": 1,
    }
    assert result["migrations"] == {
        "count": 1,
        "paths": [{"path": "src/app/migrations/0002_add_field.py", "change": "added"}],
    }
    assert result["dependencies"] == {
        "count": 1,
        "paths": [{"path": "requirements.txt", "change": "added"}],
    }
    security = [entry["path"] for entry in result["security"]["paths"]]
    assert security == [".github/workflows/ci.yml", "src/app/auth/views.py"]
    assert result["security_patterns"] == DEFAULT_SECURITY_PATTERNS
    assert result["bump_only"] == []


def test_a_first_release_is_compared_with_the_empty_tree(git_remote):
    """No earlier tag: everything in the tree is the change (names with spaces and
    accents kept as git wrote them, thanks to -z)."""
    _, work = git_remote
    _write(work, {"docs/naïve guide.md": _lines(3, "doc"), "app/main.py": _lines(2, "main")})
    work.index.commit("feat: first")
    result = change_impact_compute(
        work.working_dir, base=None, head=work.head.commit.hexsha, security_patterns=[]
    )
    folders = {
        row["folder"]: (row["files"], row["added"], row["removed"]) for row in result["folders"]
    }
    # pyproject.toml (2 lines) is the git_remote fixture's first commit.
    assert folders == {"(root)": (1, 2, 0), "app": (1, 2, 0), "docs": (1, 3, 0)}
    assert result["totals"]["files_added"] == 3 and result["totals"]["removed"] == 0
    assert result["dependencies"]["paths"] == [{"path": "pyproject.toml", "change": "added"}]


@pytest.mark.parametrize(
    ("path", "migration", "dependency"),
    [
        ("shop/migrations/0003_order.py", True, False),
        ("shop/migrations/__init__.py", False, False),
        ("alembic/versions/4f2a_add_user.py", True, False),
        ("db/migrations/V2__users.sql", True, False),
        ("db/migrate/20240101_add.rb", True, False),
        ("sql/report.sql", False, False),
        ("requirements.txt", False, True),
        ("requirements-dev.txt", False, True),
        ("requirements/prod.txt", False, True),
        ("services/api/package-lock.json", False, True),
        ("go.sum", False, True),
        ("Cargo.lock", False, True),
        ("Gemfile.lock", False, True),
        ("docs/requirements.md", False, False),
    ],
)
def test_migrations_and_dependency_files_are_recognised(path, migration, dependency):
    assert is_migration(path) is migration
    assert is_dependency_file(path) is dependency


@pytest.mark.parametrize(
    ("path", "sensitive"),
    [
        ("src/auth/views.py", True),
        ("lib/auth.py", True),
        ("app/basic_auth.py", True),
        ("liftoff/tokens.py", True),
        ("config/settings_prod.py", True),
        ("certs/server.PEM", True),
        (".github/workflows/release.yml", True),
        ("Dockerfile.worker", True),
        ("docker-compose.override.yml", True),
        ("docs/SECURITY.md", True),
        ("CODEOWNERS", True),
        ("AUTHORS", False),
        ("src/author_profile.py", False),
        ("docs/workflows/intro.md", False),
        ("src/app/views.py", False),
    ],
)
def test_the_default_security_patterns(path, sensitive):
    assert any(path_matches(path, p) for p in DEFAULT_SECURITY_PATTERNS) is sensitive


def test_numstat_records_with_renames_and_binaries_are_read():
    out = "\x00".join(["3\t1\tsrc/a.py", "-\t-\tlogo.png", "0\t0\t", "old/x.py", "new/x.py", ""])
    assert parse_numstat(out) == [
        {"path": "src/a.py", "old_path": None, "added": 3, "removed": 1, "binary": False},
        {"path": "logo.png", "old_path": None, "added": None, "removed": None, "binary": True},
        {"path": "new/x.py", "old_path": "old/x.py", "added": 0, "removed": 0, "binary": False},
    ]


# --- Through the preparation run, and the service --------------------------------------


def _project(bare, **extra):
    """A project on the `history` remote, as a sync leaves it (mirror and refs)."""
    from django.conf import settings

    project = ProjectFactory(slug="app", name="App", repo_url=str(bare), **extra)
    mirror = Path(settings.DATA_DIR) / "mirrors" / "app.git"
    git.Repo.clone_from(str(bare), mirror, mirror=True)
    project_refs_record(project=project, refs=list_refs(mirror))
    return project


def _final(run, timeout=90):
    def done():
        run.refresh_from_db()
        return run.is_final

    wait_for(done, timeout=timeout, message=f"run #{run.pk} to end")
    return run


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_preparation_run_analyses_the_change_since_the_previous_tag(
    history, settings, tmp_path, manager, start_worker
):
    settings.DATA_DIR = tmp_path / "data"
    bare, _, base = history
    project = _project(bare)
    release = release_create(actor=manager, project=project, release_type="minor")
    assert release.version == "1.1.0"
    assert release_change_impact(release=release) == {"state": "pending"}
    start_worker()
    run = _final(release_prepare(release=release, actor=manager))
    assert run.status == RunStatus.SUCCEEDED, run.error
    step = run.steps.get(key="impact")
    assert step.summary == (
        "Since v1.0.0: 11 files (+18 -9) in 6 folders; 1 migration, 1 dependency file, "
        "2 security-sensitive paths"
    )
    release.refresh_from_db()
    impact = release_change_impact(release=release)
    assert impact["state"] == "analysed"
    assert (impact["previous_tag"], impact["base_commit"]) == ("v1.0.0", base)
    assert impact["head_commit"] == release.head_commit
    # Liftoff's bump of pyproject.toml is in the figures (+1 −1 at the root) but is no
    # dependency change of the product.
    root = next(f for f in impact["folders"] if f["folder"] == "(root)")
    assert (root["files"], root["added"], root["removed"]) == (3, 4, 1)
    assert impact["bump_only"] == ["pyproject.toml"]
    assert [e["path"] for e in impact["dependencies"]["paths"]] == ["requirements.txt"]
    [event] = [
        e
        for e in audit_for_object(object_type="releases.release", object_id=release.pk)
        if e.action == "release.impact_analysed"
    ]
    assert event.actor_id is None and event.after["migrations"] == 1
    assert event.after["totals"]["files"] == 11


@pytest.mark.django_db
def test_a_head_that_is_not_a_commit_id_never_reaches_git(history, settings, tmp_path):
    """The guard: only a hexadecimal id reaches git's argument list. Without it, git
    would read this "head" as its --output option and write a file."""
    settings.DATA_DIR = tmp_path / "data"
    bare, work, _ = history
    project = _project(bare)
    release = ReleaseFactoryLite.make(project)
    target = tmp_path / "written-by-git.txt"
    impact = release_change_analyse(
        release=release, repo_path=work.working_dir, head=f"--output={target}"
    )
    assert impact.status == "failed" and "no head commit" in impact.error
    assert not target.exists()
    view = release_change_impact(release=release)
    assert view["state"] == "failed" and view["error"] == impact.error


@pytest.mark.django_db
def test_an_analysis_of_an_older_head_is_stale_and_a_new_one_replaces_it(
    history, settings, tmp_path
):
    settings.DATA_DIR = tmp_path / "data"
    bare, work, base = history
    project = _project(bare)
    release = ReleaseFactoryLite.make(project, head_commit=work.head.commit.hexsha)
    release_change_analyse(release=release, repo_path=work.working_dir, head=base)
    assert release_change_impact(release=release)["state"] == "stale"
    release_change_analyse(
        release=release, repo_path=work.working_dir, head=work.head.commit.hexsha
    )
    assert ChangeImpact.objects.filter(release=release).count() == 1
    assert release_change_impact(release=release)["state"] == "analysed"


@pytest.mark.django_db
def test_a_commit_git_does_not_know_is_a_failure_with_gits_reason(history, settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"
    bare, work, _ = history
    release = ReleaseFactoryLite.make(_project(bare))
    impact = release_change_analyse(release=release, repo_path=work.working_dir, head="f" * 40)
    assert impact.status == "failed" and "git diff failed" in impact.error


# --- The project's patterns ------------------------------------------------------------


class ReleaseFactoryLite:
    @staticmethod
    def make(project, **facts):
        from tests.factories import ReleaseFactory

        return ReleaseFactory(project=project, version="1.1.0", **facts)


@pytest.mark.django_db
def test_only_admins_change_the_patterns(admin_user, manager):
    project = ProjectFactory()
    with pytest.raises(NotAllowed):
        project_security_patterns_set(project=project, actor=manager, patterns=["*.key"])
    project_security_patterns_set(project=project, actor=admin_user, patterns=["*.key", "*.key"])
    project.refresh_from_db()
    assert project.security_patterns == ["*.key"]
    [event] = audit_for_object(object_type="releases.project", object_id=project.pk)[-1:]
    assert event.action == "project.security_patterns_changed"


@pytest.mark.django_db
@pytest.mark.parametrize("bad", ["*", "/etc/passwd", "src/[ab", "  "])
def test_a_bad_pattern_is_refused_and_nothing_changes(admin_user, bad):
    project = ProjectFactory()
    with pytest.raises(ValidationFailed) as refused:
        project_security_patterns_set(project=project, actor=admin_user, patterns=[bad, "*.pem"])
    assert refused.value.errors["security_patterns"]
    project.refresh_from_db()
    assert project.security_patterns == DEFAULT_SECURITY_PATTERNS


@pytest.mark.django_db
def test_the_patterns_page_is_for_admins(client_as, admin_user, manager, stakeholder, client):
    project = ProjectFactory()
    url = f"/projects/{project.slug}/impact/"
    assert client.get(url).status_code == 302  # an outsider is sent to log in
    for user in (manager, stakeholder):
        assert client_as(user).get(url).status_code == 403
        assert client_as(user).post(url, {"patterns": "*.key"}).status_code == 403
    project.refresh_from_db()
    assert project.security_patterns == DEFAULT_SECURITY_PATTERNS
    admin = client_as(admin_user)
    page = admin.get(url)
    assert page.status_code == 200 and "*secret*" in page.content.decode()
    refused = admin.post(url, {"patterns": "*.key\n*\n"})
    assert refused.status_code == 400
    assert "“*” matches every path." in refused.content.decode()
    assert "*.key\n*" in refused.content.decode()  # what was typed is kept
    saved = admin.post(url, {"patterns": "  *.key\n\nvault/*\n"})
    assert saved.status_code == 302
    project.refresh_from_db()
    assert project.security_patterns == ["*.key", "vault/*"]
