"""The shared test harness: users per role, a real Celery worker, git repositories with a
bare remote, and a logged-in headless Chromium per role.

Everything talks to real services: the configured database (PostgreSQL when DATABASE_URL
is set, SQLite on disk otherwise), the configured broker, real git and real Chromium.
"""

import os
from pathlib import Path

import git
import pytest
from django.conf import settings
from django.core.cache import cache

from liftoff.roles import Role
from tests.factories import PASSWORD, UserFactory
from tests.helpers import WorkerProcess, wait_for, worker_database_url

# Playwright's sync API runs an event loop in this thread; the tests still touch the ORM
# directly between browser steps, which Django would otherwise refuse.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("LIFTOFF_CHROMIUM", "/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


# --- Database ---------------------------------------------------------------------------
@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """Each pytest-xdist worker has its own test database (pytest-django's suffix, which
    an override of this fixture must keep asking for), and the suite may empty the
    append-only audit table between tests (PostgreSQL only).

    The trigger honours `liftoff.audit_maintenance = on`; production never sets it. The
    trigger's own test switches it off again inside its transaction.
    """
    db = settings.DATABASES["default"]
    if db["ENGINE"] == "django.db.backends.postgresql":
        options = db.setdefault("OPTIONS", {})
        options["options"] = "-c liftoff.audit_maintenance=on"


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's test database, and at its teardown the sessions other processes
    still hold on it ended first (a worker's pool child or a live server thread that had
    not closed yet): dropping it then never fails with "being accessed by other users",
    which left the database behind."""
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


# --- Users per role ---------------------------------------------------------------------
@pytest.fixture
def make_user(db):
    def make(role: Role | None = None, username: str | None = None):
        kwargs = {"role": role}
        if username:
            kwargs["username"] = username
        return UserFactory(**kwargs)

    return make


@pytest.fixture
def admin_user(make_user):
    return make_user(Role.ADMIN, "admin-user")


@pytest.fixture
def manager(make_user):
    return make_user(Role.RELEASE_MANAGER, "manager-user")


@pytest.fixture
def approver(make_user):
    return make_user(Role.APPROVER, "approver-user")


@pytest.fixture
def stakeholder(make_user):
    return make_user(Role.STAKEHOLDER, "stakeholder-user")


@pytest.fixture
def client_as(client):
    """`client_as(user)`: the test client, logged in as that user."""

    def login(user):
        client.force_login(user)
        return client

    return login


# --- A real Celery worker ---------------------------------------------------------------
@pytest.fixture
def start_worker(transactional_db):
    """`start_worker()` starts a real Celery worker on the test database and broker, and
    waits until it has processed a task. Workers are stopped after the test."""
    workers: list[WorkerProcess] = []

    def start(name: str | None = None) -> WorkerProcess:
        from liftoff.models import WorkerHeartbeat
        from liftoff.tasks import worker_heartbeat

        env = {
            **os.environ,
            "DATABASE_URL": worker_database_url(),
            "LIFTOFF_DATA_DIR": str(settings.DATA_DIR),
            # The broker folders as this process uses them, even if a test moved DATA_DIR.
            "LIFTOFF_BROKER_DIR": str(settings.BROKER_DIR),
            "DJANGO_ALLOW_ASYNC_UNSAFE": "",
        }
        if settings.REDIS_URL:
            env["REDIS_URL"] = settings.REDIS_URL
        worker = WorkerProcess(env, name or f"w{len(workers) + 1}").start()
        workers.append(worker)

        def ready():
            if worker.process.poll() is not None:
                pytest.fail(f"The worker exited:\n{worker.output()[-3000:]}")
            # Another running worker may take a heartbeat task: send until this one has.
            worker_heartbeat.delay()
            return WorkerHeartbeat.objects.filter(hostname__startswith=f"{worker.name}@").exists()

        wait_for(
            ready,
            timeout=60,
            interval=0.5,
            message=f"worker {worker.name} to process its first task",
        )
        return worker

    yield start
    for worker in workers:
        worker.stop()


# --- Git repositories with a bare remote ------------------------------------------------
@pytest.fixture
def git_remote(tmp_path):
    """A bare repository (the remote) and a working clone with one commit on main."""
    bare = tmp_path / "remote.git"
    git.Repo.init(bare, bare=True, initial_branch="main")
    work = git.Repo.clone_from(str(bare), tmp_path / "work")
    with work.config_writer() as config:
        config.set_value("user", "name", "Test Author")
        config.set_value("user", "email", "author@example.test")
    (Path(work.working_dir) / "pyproject.toml").write_text('[project]\nversion = "0.1.0"\n')
    work.index.add(["pyproject.toml"])
    work.index.commit("chore: initial commit")
    work.git.push("origin", "HEAD:refs/heads/main")
    return bare, work


# --- Headless Chromium ------------------------------------------------------------------
def pytest_collection_modifyitems(config, items):
    browser_items = [
        i
        for i in items
        if "page" in getattr(i, "fixturenames", ()) or i.get_closest_marker("browser")
    ]
    if not browser_items or Path(CHROMIUM).exists():
        return
    reason = f"no Chromium at {CHROMIUM} (install the chromium package or set LIFTOFF_CHROMIUM)"
    if IN_CI:
        raise pytest.UsageError(f"Browser tests must run in CI, but there is {reason}.")
    for item in browser_items:
        item.add_marker(pytest.mark.skip(reason=f"Browser test skipped: {reason}."))


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "headless": True,
        "args": [
            "--no-sandbox",
            "--headless",
            "--disable-gpu",
            "--disable-quic",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture
def csp_errors(page):
    """Console messages about blocked content: any is a bug in our strict CSP setup."""
    errors = []
    page.on(
        "console",
        lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    return errors


@pytest.fixture
def login_page(page, live_server):
    """`login_page(user)`: a Chromium page logged in through the real login form."""

    def login(user, password: str = PASSWORD):
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Username").fill(user.get_username())
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{live_server.url}/")
        return page

    return login


@pytest.fixture(autouse=True)
def _isolated_git_home(tmp_path_factory, monkeypatch):
    """Git in tests never reads the developer's ~/.gitconfig."""
    home = tmp_path_factory.getbasetemp() / "git-home"
    home.mkdir(exist_ok=True)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / "gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache: what a page keeps for a few seconds (the
    workers' last heartbeat, the runs' scopes, rendered rows) must not leak between tests."""
    cache.clear()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """A cheap hasher for users made in tests (real hashing costs ~0.3 s a user)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
