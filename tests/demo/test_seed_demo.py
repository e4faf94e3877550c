"""`manage.py seed_demo`: users only in development (or --force), idempotent runs, and a
real, reproducible demo git repository whose own tests pass."""

import json
import os
import re
import shutil
import subprocess
import sys
from datetime import datetime
from io import StringIO
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import ProxyHandler, build_opener

import git
import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import RequestFactory

from checklists.models import ChecklistItem
from demo.services import DEMO_CODENAMES, DEMO_REPO_NAME, demo_repo_ensure
from gates.defaults import DEFAULT_GATES
from gates.reports import parse_report
from liftoff.models import AuditEvent
from liftoff.roles import Role, user_roles
from releases.models import ActionItem, Project, Release, RetroAnswer
from runs.models import Run
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db

DEMO_USERNAMES = ["admin", "manager", "approver", "stakeholder"]
PASSWORD = "demo-password-for-tests"
CONVENTIONAL = re.compile(
    r"^(feat|fix|docs|chore|perf|test|refactor|build|ci)(\([a-z0-9-]+\))?!?: "
)
TAG_MESSAGES = {
    "v0.1.0": 'v0.1.0 "Nebula Whisper" – Initial consciousness awakening',
    "v0.2.0": 'v0.2.0 "Quantum Guardian" – Security framework manifestation',
}


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def refs(path: Path) -> dict[str, str]:
    """Every ref of a repository with the object it points at (tag objects for tags)."""
    lines = git.Repo(path).git.for_each_ref("--format=%(refname) %(objectname)").splitlines()
    return dict(line.split() for line in lines)


def clean_env() -> dict[str, str]:
    """For the demo project's own tools: no Django settings, no plugins of Liftoff's venv."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    return env


@pytest.fixture(scope="session")
def demo_repo(tmp_path_factory) -> Path:
    """One demo repository built for the whole session (read-only for the tests)."""
    home = tmp_path_factory.mktemp("git-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GIT_CONFIG_GLOBAL", str(home / "gitconfig"))
        patch.setenv("GIT_CONFIG_NOSYSTEM", "1")
        return demo_repo_ensure(root=tmp_path_factory.mktemp("demo")).path


@pytest.fixture
def data_dir(settings, tmp_path) -> Path:
    settings.DATA_DIR = tmp_path
    settings.DEMO_PASSWORD = PASSWORD
    settings.DEBUG = False
    return tmp_path


@pytest.fixture
def prebuilt(data_dir, demo_repo) -> Path:
    """DATA_DIR with the demo repository already in place, to spare a build per test."""
    shutil.copytree(demo_repo, data_dir / "demo" / DEMO_REPO_NAME)
    return data_dir


@pytest.fixture
def clone(tmp_path, demo_repo) -> git.Repo:
    return git.Repo.clone_from(str(demo_repo), tmp_path / "clone")


# --- Users ------------------------------------------------------------------------------
def test_without_debug_users_are_skipped_and_the_output_says_why(prebuilt):
    output = seed()
    assert "Demo users: skipped, because DEBUG is off" in output
    assert "--force" in output
    assert not get_user_model().objects.filter(username__in=DEMO_USERNAMES).exists()
    assert Project.objects.filter(slug="pepelugpt").exists()


def test_force_creates_the_four_users_in_their_roles(prebuilt):
    output = seed("--force")
    assert "Demo users: created admin, manager, approver, stakeholder" in output
    assert f"Password of admin, manager, approver, stakeholder: {PASSWORD}" in output
    users = {u.username: u for u in get_user_model().objects.filter(username__in=DEMO_USERNAMES)}
    assert sorted(users) == sorted(DEMO_USERNAMES)
    expected = {
        "admin": Role.ADMIN,
        "manager": Role.RELEASE_MANAGER,
        "approver": Role.APPROVER,
        "stakeholder": Role.STAKEHOLDER,
    }
    for username, role in expected.items():
        user = users[username]
        assert list(user.groups.values_list("name", flat=True)) == [role.value]
        assert user.check_password(PASSWORD)
        assert user.is_staff == user.is_superuser == (role is Role.ADMIN)
    assert user_roles(users["manager"]) == {Role.RELEASE_MANAGER}
    created = AuditEvent.objects.filter(action="user.created")
    assert sorted(created.values_list("after__username", flat=True)) == sorted(DEMO_USERNAMES)


def test_debug_creates_the_users_without_force(prebuilt, settings):
    settings.DEBUG = True
    output = seed()
    assert "Demo users: created admin, manager, approver, stakeholder" in output
    assert get_user_model().objects.filter(username__in=DEMO_USERNAMES).count() == 4


def test_a_demo_user_can_log_in(prebuilt, settings, client):
    settings.DEBUG = True
    seed()
    # django-axes needs the request to count attempts, so client.login is given one.
    request = RequestFactory().post("/accounts/login/")
    assert client.login(request=request, username="approver", password=PASSWORD)
    client.logout()
    response = client.post("/accounts/login/", {"username": "manager", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200


def test_an_existing_password_is_kept_unless_reset_is_asked_for(prebuilt, settings):
    settings.DEBUG = True
    seed()
    manager = get_user_model().objects.get(username="manager")
    manager.set_password("the-managers-own")
    manager.save()
    events = AuditEvent.objects.count()

    output = seed()
    manager.refresh_from_db()
    assert manager.check_password("the-managers-own")
    assert AuditEvent.objects.count() == events
    assert "kept the password they had" in output

    output = seed("--reset-passwords")
    manager.refresh_from_db()
    assert manager.check_password(PASSWORD)
    assert AuditEvent.objects.filter(action="user.password_reset").count() == 4
    assert f"Password of admin, manager, approver, stakeholder: {PASSWORD}" in output


def test_a_demo_user_who_lost_its_role_gets_it_back(prebuilt, settings):
    settings.DEBUG = True
    seed()
    approver = get_user_model().objects.get(username="approver")
    approver.groups.clear()
    output = seed()
    assert list(approver.groups.values_list("name", flat=True)) == ["approver"]
    assert "approver: added to the approver group" in output
    assert AuditEvent.objects.filter(action="user.roles_changed").count() == 1


# --- Idempotency ------------------------------------------------------------------------
def test_running_twice_changes_nothing_the_second_time(data_dir, settings):
    settings.DEBUG = True
    first = seed()
    assert "Demo repository: created" in first
    assert "Demo validation commands: added Tests under coverage, Coverage report" in first
    bare = data_dir / "demo" / DEMO_REPO_NAME
    # The staging folder of the build is gone; only the bare repository remains.
    assert [p.name for p in (data_dir / "demo").iterdir()] == [DEMO_REPO_NAME]
    before = {
        "users": get_user_model().objects.count(),
        "projects": Project.objects.count(),
        "events": AuditEvent.objects.count(),
        "refs": refs(bare),
        "head": git.Repo(bare).head.commit.hexsha,
    }

    second = seed()

    after = {
        "users": get_user_model().objects.count(),
        "projects": Project.objects.count(),
        "events": AuditEvent.objects.count(),
        "refs": refs(bare),
        "head": git.Repo(bare).head.commit.hexsha,
    }
    assert after == before
    assert before["users"] == 4 and before["projects"] == 1
    # Creating the project started its first sync; the second seed started no other.
    assert Run.objects.filter(kind="project.sync").count() == 1
    assert "created" not in second
    assert "Demo repository: already there, left unchanged" in second
    assert "Demo project: already there, left unchanged" in second
    assert "Demo users: already there: admin, manager, approver, stakeholder" in second
    assert "Demo validation commands: already there" in second
    assert "Demo release" not in second


def test_the_next_release_is_planned_for_the_manager_with_its_checklists(prebuilt):
    output = seed("--force")
    assert "Demo release: planned v0.3.0 “Digital Oracle” for manager" in output
    release = Release.objects.get(project__slug="pepelugpt", version="0.3.0")
    assert (release.status, release.release_manager.username) == ("planned", "manager")
    assert release.summary == "Wisdom enhancement phase"
    assert release.branch == "release/v0.3.0-digital-oracle"
    assert (
        ChecklistItem.objects.filter(release=release, checklist__phase="validation").count() == 12
    )
    # Planned once: a second seed, or a release already in flight, plans nothing more.
    assert "Demo release" not in seed("--force")
    assert Release.objects.filter(project__slug="pepelugpt").count() == 3


@pytest.mark.parametrize("kind", ["folder", "other-repo"])
def test_something_else_in_the_repository_place_is_left_alone(data_dir, kind):
    path = data_dir / "demo" / DEMO_REPO_NAME
    if kind == "folder":
        path.mkdir(parents=True)
        (path / "notes.txt").write_text("mine")
        message = "is not a git repository"
    else:
        git.Repo.init(path, bare=True, initial_branch="main")
        message = "not a complete demo repository"
    with pytest.raises(CommandError, match=message):
        seed("--force")
    assert kind == "other-repo" or (path / "notes.txt").read_text() == "mine"
    assert not Project.objects.exists()


# --- The project ------------------------------------------------------------------------
def test_the_project_points_at_the_bare_repository(prebuilt):
    seed()
    project = Project.objects.get(slug="pepelugpt")
    assert project.name == "PepeluGPT"
    assert project.repo_url == str(prebuilt / "demo" / DEMO_REPO_NAME)
    assert Path(project.repo_url).is_absolute()
    assert project.default_branch == "main"
    assert project.version_files == ["pyproject.toml", "src/pepelugpt/__init__.py"]
    assert project.codename_pool[:5] == [
        "Nebula Whisper",
        "Quantum Guardian",
        "Digital Oracle",
        "Cosmic Defender",
        "Stellar Navigator",
    ]
    assert project.codename_pool == DEMO_CODENAMES and len(set(DEMO_CODENAMES)) >= 13
    event = AuditEvent.objects.get(action="project.created")
    assert event.after["slug"] == "pepelugpt" and event.actor_label == "system"


def test_an_existing_project_is_left_as_it_is_and_a_foreign_repo_url_reported(prebuilt):
    ProjectFactory(slug="pepelugpt", name="Ours", repo_url="https://git.example.test/p.git")
    output = seed()
    project = Project.objects.get(slug="pepelugpt")
    assert (project.name, project.repo_url) == ("Ours", "https://git.example.test/p.git")
    assert "Demo project: already there, left unchanged: Ours (pepelugpt)" in output
    assert "It points at https://git.example.test/p.git" in output
    assert not AuditEvent.objects.filter(action="project.created").exists()
    assert not project.validation_commands.exists()


def test_the_demo_project_is_validated_by_the_real_tools(prebuilt):
    seed()
    project = Project.objects.get(slug="pepelugpt")
    commands = [
        (c.name, c.argv[:3], c.report_format, c.report_path, c.gate and c.gate.key)
        for c in project.validation_commands.order_by("order")
    ]
    assert commands == [
        ("Tests under coverage", ["{python}", "-m", "coverage"], "none", "", None),
        (
            "Coverage report",
            ["{python}", "-m", "coverage"],
            "cobertura",
            "coverage.xml",
            "coverage",
        ),
        (
            "Security scan (bandit)",
            ["{python}", "-m", "bandit"],
            "bandit",
            "bandit.json",
            "security-scan",
        ),
        (
            "Dependency audit (pip-audit)",
            ["{python}", "-m", "pip_audit"],
            "pip_audit",
            "pip-audit.json",
            "dependency-vulnerabilities",
        ),
        (
            "Performance report",
            ["{python}", "scripts/perf.py", "--requests"],
            "performance",
            "perf.json",
            "performance-regression",
        ),
        (
            "Accessibility report",
            ["{python}", "scripts/a11y.py", "--output"],
            "axe",
            "axe.json",
            "accessibility",
        ),
        (
            "Dependency licences (CycloneDX SBOM)",
            ["{python}", "-m", "cyclonedx_py"],
            "cyclonedx",
            "sbom.json",
            "dependency-licences",
        ),
    ]
    # Every automated gate a new project gets is measured: none is left pending.
    automated = {g["key"] for g in DEFAULT_GATES if g["kind"] == "automated"}
    assert {c[4] for c in commands if c[4]} == automated
    # Offline, pip-audit must fail rather than report "no known vulnerabilities".
    assert "--strict" in project.validation_commands.get(report_format="pip_audit").argv
    event = AuditEvent.objects.filter(action="validation_command.saved").first()
    assert event.actor_label == "system"


# --- The git repository -----------------------------------------------------------------
def test_the_release_tags_are_annotated_on_the_version_bumps(demo_repo):
    repo = git.Repo(demo_repo)
    assert repo.bare and repo.head.reference.name == "main"
    for name, message in TAG_MESSAGES.items():
        tag = repo.tags[name]
        assert tag.tag is not None, f"{name} is a lightweight tag"
        assert tag.tag.message.strip() == message
        version = name.removeprefix("v")
        assert f'__version__ = "{version}"' in repo.git.show(f"{name}:src/pepelugpt/__init__.py")
        assert f'version = "{version}"' in repo.git.show(f"{name}:pyproject.toml")
        assert "pyproject.toml" in tag.commit.stats.files
        # Every release carries the pinned tools its validation audits.
        assert "coverage==" in repo.git.show(f"{name}:requirements-dev.txt")
    since = list(repo.iter_commits("v0.2.0..main"))
    assert 4 <= len(since) <= 6
    assert {c.summary.split(":")[0].split("(")[0] for c in since} == {"feat", "fix"}


def test_the_history_is_conventional_and_reproducible(demo_repo, tmp_path):
    repo = git.Repo(demo_repo)
    commits = list(repo.iter_commits("main"))
    for commit in commits:
        assert CONVENTIONAL.match(commit.summary), commit.summary
        assert commit.authored_datetime == commit.committed_datetime
        assert datetime(2026, 6, 1).date() <= commit.authored_datetime.date()
        assert commit.authored_datetime.date() <= datetime(2026, 11, 30).date()
    released = list(repo.iter_commits("v0.2.0"))
    assert any("!:" in c.summary for c in released)
    assert any("\nBREAKING CHANGE: " in c.message for c in released)
    assert any(c.summary.startswith("fix(security): ") for c in released)
    assert len({c.author.email for c in commits}) >= 3
    repo.git.fsck("--strict")

    again = demo_repo_ensure(root=tmp_path / "again")
    assert again.created
    assert refs(again.path) == refs(demo_repo)


def test_a_clone_holds_the_service_with_its_version_and_health_handler(clone):
    root = Path(clone.working_dir)
    init = (root / "src/pepelugpt/__init__.py").read_text()
    assert re.search(r'^__version__ = "0\.2\.0"$', init, re.MULTILINE)
    assert '"/health"' in (root / "src/pepelugpt/app.py").read_text()
    for path in (
        "README.md",
        "pyproject.toml",
        "tests/test_app.py",
        "scripts/perf.py",
        "scripts/a11y.py",
    ):
        assert (root / path).is_file(), path

    # The service itself, started as documented, answers /health on loopback.
    server = subprocess.Popen(
        [sys.executable, "-m", "pepelugpt", "--port", "0"],
        cwd=root,
        env={**clean_env(), "PYTHONPATH": str(root / "src")},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        url = re.search(r"http://\S+/", server.stdout.readline()).group(0)
        # No proxy from the environment may stand between the test and loopback.
        with build_opener(ProxyHandler({})).open(f"{url}health", timeout=5) as response:
            assert json.loads(response.read()) == {"status": "ok", "version": "0.2.0"}
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.parametrize("ref", ["v0.1.0", "v0.2.0", "main"])
def test_the_demo_projects_own_tests_pass(clone, ref):
    clone.git.checkout(ref)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=clone.working_dir,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout


def test_the_performance_report_prints_the_documented_json(clone):
    result = subprocess.run(
        [sys.executable, "scripts/perf.py", "--requests", "30", "--output", "perf.json"],
        cwd=clone.working_dir,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    report = json.loads(result.stdout)
    assert set(report) == {"metric", "value", "baseline"}
    assert report["metric"] == "p95_ms"
    assert report["value"] > 0 and report["baseline"] == 20.0
    written = Path(clone.working_dir) / "perf.json"
    assert json.loads(written.read_text()) == report
    assert not clone.is_dirty(untracked_files=True)  # the report is git-ignored


def test_the_accessibility_report_is_written_as_axe_core_writes_it(clone):
    """Offline, with the standard library: the pages a person sees, checked, in the shape
    Liftoff's axe report format reads (one object per page, each with its violations)."""
    result = subprocess.run(
        [sys.executable, "scripts/a11y.py", "--output", "axe.json"],
        cwd=clone.working_dir,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.count("violations: none") == 3, result.stdout
    written = Path(clone.working_dir) / "axe.json"
    pages = json.loads(written.read_text())
    # The empty form, an answer, and a refusal (a question over 500 characters).
    urls = [urlsplit(p["url"]) for p in pages]
    assert [(u.hostname, u.path) for u in urls] == [("127.0.0.1", "/ask")] * 3
    assert [u.query for u in urls] == [
        "",
        "q=Should%20I%20rotate%20my%20keys%3F&mode=cosmic",
        "q=" + "a" * 501,
    ]
    assert all(p["testEngine"] == {"name": "pepelugpt-a11y", "version": "1.0"} for p in pages)
    assert {r["id"] for r in pages[1]["passes"]} >= {"html-has-lang", "label", "button-name"}
    measured = parse_report("axe", written, 0)
    assert (measured.value, measured.failed) == (0, False)
    assert measured.reason == (
        "0 accessibility violations on 3 pages; checked by pepelugpt-a11y 1.0"
    )
    assert not clone.is_dirty(untracked_files=True)  # the report is git-ignored


# Each rule of the demo's checker broken once.
INACCESSIBLE = """<head><meta name="viewport" content="width=device-width, user-scalable=no">
</head><body><main></main><main></main><img src="x.png"><input id="a"><input id="a"
type="button"><select></select><a href="/x"></a><button></button>
<label>Name <input name="n"></label><label for="b">Note</label><textarea id="b"></textarea>
<a href="/y"><img src="y.png" alt="Home"></a></body>"""


def test_the_accessibility_checker_finds_what_breaks_its_rules(clone):
    """Not a rubber stamp: every rule the checker names fails on a page that breaks it,
    and a labelled field (by a wrapping label or `for`) or a link named by its image's
    alt text passes."""
    code = (
        "import json, sys; sys.path.insert(0, 'scripts'); import a11y; "
        "print(json.dumps(a11y.check('page', sys.stdin.read())))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=clone.working_dir,
        env=clean_env(),
        input=INACCESSIBLE,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    found = {
        v["id"]: [n["html"] for n in v["nodes"]] for v in json.loads(result.stdout)["violations"]
    }
    assert set(found) == {
        "html-has-lang",
        "document-title",
        "landmark-one-main",
        "page-has-heading-one",
        "image-alt",
        "label",
        "select-name",
        "button-name",
        "link-name",
        "duplicate-id",
        "meta-viewport",
    }
    assert found["label"] == ['<input id="a">']
    assert found["link-name"] == ['<a href="/x">']
    assert found["button-name"] == ["<button>", '<input id="a"\ntype="button">']


def test_the_last_shipped_release_has_a_retrospective_once(prebuilt):
    output = seed("--force")
    assert "Demo retrospective: answers and action items" in output
    release = Release.objects.get(project__slug="pepelugpt", version="0.2.0")
    answers = RetroAnswer.objects.filter(retrospective__release=release)
    assert set(answers.values_list("author__username", flat=True)) == {
        "approver",
        "manager",
        "stakeholder",
    }
    items = {i.title: i for i in ActionItem.objects.filter(release=release)}
    assert len(items) == 3
    assert items["Write down the security scan's waiver procedure"].owner.username == "approver"
    assert sorted(i.status for i in items.values()) == ["done", "open", "open"]
    # Held once: a second seed adds nothing.
    again = seed("--force")
    assert "Demo retrospective" not in again
    assert answers.count() == 5 and ActionItem.objects.filter(release=release).count() == 3


def test_the_shipped_releases_show_their_change_impact(prebuilt):
    """Recorded from their tags, they were never prepared here: the seed analyses each
    once, from the tag before it (v0.1.0: the whole tree), so their reports show it."""
    from releases.selectors import release_change_impact

    seed("--force")
    first, second = (
        release_change_impact(release=Release.objects.get(version=v)) for v in ("0.1.0", "0.2.0")
    )
    assert first["state"] == second["state"] == "analysed"
    assert first["previous_tag"] == "" and first["totals"]["files"] > 0
    assert first["totals"]["files_added"] == first["totals"]["files"]
    assert second["previous_tag"] == "v0.1.0"
    assert second["head_commit"] == Release.objects.get(version="0.2.0").head_commit
    assert {f["folder"] for f in second["folders"]} >= {"src"}
    # "Security framework manifestation": its security module is called out.
    assert {"path": "src/pepelugpt/security.py", "change": "added"} in second["security"]["paths"]
    events = AuditEvent.objects.filter(action="release.impact_analysed").count()
    seed("--force")
    assert AuditEvent.objects.filter(action="release.impact_analysed").count() == events == 2
