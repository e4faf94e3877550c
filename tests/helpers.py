"""Helpers the tests import: polling, the worker process, the test database URL, the axe
check of a page."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from playwright.sync_api import expect

ROOT = Path(__file__).resolve().parent.parent


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.1, message: str = ""):
    """Poll `predicate` until it returns a truthy value; fail the test after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"Timed out after {timeout} s waiting for {message or predicate}")


def worker_database_url() -> str:
    """The URL of the test database, for processes started by a test (the worker)."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


class WorkerProcess:
    def __init__(self, env: dict[str, str], name: str):
        self.env = env
        self.name = name
        self.process: subprocess.Popen | None = None
        self.log_path = Path(settings.DATA_DIR) / f"{name}.log"

    def start(self) -> "WorkerProcess":
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "liftoff",
            "worker",
            "--loglevel",
            "INFO",
            "--concurrency",
            "1",
            "--pool",
            "prefork",
            "--hostname",
            f"{self.name}@%h",
            "--queues",
            f"{settings.CELERY_TASK_DEFAULT_QUEUE},{settings.NOTIFICATIONS_QUEUE},"
            f"{settings.NOTIFICATIONS_SLOW_QUEUE}",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            # The test-only run kinds, so that the worker knows them too.
            "--include",
            "tests.runs.kinds",
        ]
        self.log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    @property
    def pid(self) -> int:
        return self.process.pid

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and pool children), as a crash would."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        if hasattr(self, "log"):
            self.log.close()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


# The WCAG 2.1 AA rules of axe-core (bundled by axe-playwright-python: works offline).
WCAG_21_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


def axe_violations(page) -> list[str]:
    """The page's WCAG 2.1 AA violations, one readable line each (empty: none)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options=WCAG_21_AA)
    return [
        f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes)" for v in results.response["violations"]
    ]


def htmx_settled(page) -> None:
    """Wait until htmx has finished every swap on the page. htmx shows swapped content at
    once but attaches its triggers (hx-trigger, hx-post) only when the content settles,
    20 ms later: a test that acts in between acts on a form that does not answer yet (a
    person never does; a test did, once in CI)."""
    # A locator, not wait_for_function: the pages' CSP refuses eval.
    busy = ".htmx-added, .htmx-request, .htmx-settling, .htmx-swapping"
    expect(page.locator(busy)).to_have_count(0)


def free_port() -> int:
    """A port on 127.0.0.1 nothing listens on now (the OS's choice)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
