"""Every command the README shows in its code blocks works as printed, in a new shell,
after `make run` prepared the data folder (issue 9: the newcomer's first hour)."""

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import ROOT, free_port

pytestmark = pytest.mark.worker

# Commands the test does not run, and why. Each must still appear in the README.
SKIPPED = {
    "make run": "starts the servers and runs until Ctrl-C (tests/liftoff/test_devserver.py)",
    "make test": "the whole suite, which this test is part of",
    "docker compose": "needs Docker and builds images",
    "cp .env.example .env": "the production stack's .env (and would overwrite one)",
}
# What each command must print (a regular expression) and its exit status. A command the
# README adds without an entry here fails the test: say what it should print.
EXPECTED = {
    "manage.py authorization_table": (0, r"^/healthz +public"),
    "manage.py seed_demo": (0, r"^Demo logins: admin \(Admin\)"),
    "manage.py verify_audit": (0, r"^Audit trail intact: \d+ events verified"),
    "manage.py release new": (0, r"^Planned PepeluGPT v0\.2\.1 “.+” \(patch\)"),
    "manage.py release check": (1, r"^v0\.3\.0 cannot move to production:"),
    "manage.py release prepare": (0, r"^Preparing v0\.3\.0: run #\d+\."),
    "manage.py release notes": (0, r"^## "),
    "manage.py release move": (0, r"^v0\.3\.0 is now validating\."),
    "manage.py release validate": (0, r"^Validating v0\.3\.0: run #\d+\."),
    "manage.py check --deploy": (0, r"^System check identified no issues"),
}
# What a new shell does not have: `make run` must not be needed in the environment.
UNSET = {
    "DEBUG",
    "SECRET_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "DJANGO_SETTINGS_MODULE",
    "LIFTOFF_BROKER_DIR",
    "VIRTUAL_ENV",
    "DJANGO_ALLOW_ASYNC_UNSAFE",  # the browser tests' harness sets it
}


def readme_commands() -> list[str]:
    """The shell lines of the README's ```sh blocks, without comments."""
    text = (ROOT / "README.md").read_text()
    commands = []
    for block in re.findall(r"^ *```(?:sh|bash|shell)\n(.*?)^ *```", text, re.M | re.S):
        for line in block.splitlines():
            line = re.sub(r"\s+#\s.*$", "", line).strip()
            if line and not line.startswith("#"):
                commands.append(line)
    return commands


def _skip_reason(command: str) -> str | None:
    words = command.split()
    while words and re.match(r"^[A-Z_]+=", words[0]):  # VAR=value in front
        words.pop(0)
    head = " ".join(words)
    return next((why for start, why in SKIPPED.items() if head.startswith(start)), None)


def _expected(command: str) -> tuple[int, str]:
    matches = [value for key, value in EXPECTED.items() if key in command]
    assert len(matches) == 1, f"Say in EXPECTED what `{command}` prints (found {matches})."
    return matches[0]


def _prepare_run_status(data_dir: Path) -> str | None:
    with sqlite3.connect(data_dir / "liftoff.sqlite3") as db:
        row = db.execute(
            "SELECT status FROM runs_run WHERE kind = 'release.prepare' ORDER BY id DESC"
        ).fetchone()
    return row[0] if row else None


def test_the_readme_shows_its_commands_in_code_blocks():
    commands = readme_commands()
    for start in SKIPPED:
        assert any(start in command for command in commands), f"{start} is in no code block"
    # A management command shown only in running text would escape the test below.
    text = re.sub(r"^ *```.*?^ *```", "", (ROOT / "README.md").read_text(), flags=re.M | re.S)
    # (A name such as `manage.py release check` in running text is not a command.)
    for inline in re.findall(r"`((?:\S*/)?python3? manage\.py [^`\n]*)`", text):
        assert "…" in inline, f"`{inline}`: show it in a code block, so that it is tested"


def test_every_readme_command_works_as_printed_after_make_run(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in UNSET}
    env.update(LIFTOFF_DATA_DIR=str(tmp_path), LIFTOFF_QUEUE=f"liftoff-readme-{os.getpid()}")
    # The demo's environments name their ports when seeded: free ones, never a developer's.
    for name in ("STAGING", "PRODUCTION", "BLUE", "GREEN"):
        env[f"DEMO_{name}_PORT"] = str(free_port())
    begun = time.monotonic()
    # The data folder as `make run` leaves it: dev.env, migrations, the demo (same code).
    subprocess.run(
        [sys.executable, "-c", "from liftoff.devserver import prepare; prepare()"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert (tmp_path / "dev.env").exists()
    print(f"prepared in {time.monotonic() - begun:.1f} s")
    # `make run`'s worker, for the preparation run that the later commands wait for.
    worker_log = (tmp_path / "worker.log").open("w")
    celery = [sys.executable, "-m", "celery", "-A", "liftoff"]
    worker = subprocess.Popen(
        [*celery, "worker", "--pool", "solo", "-Q", env["LIFTOFF_QUEUE"], "--loglevel", "INFO"],
        cwd=ROOT,
        env=env,
        stdout=worker_log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    ran, skipped = [], []
    started = time.monotonic()
    try:
        for command in readme_commands():
            if why := _skip_reason(command):
                skipped.append((command, why))
                continue
            status, pattern = _expected(command)
            if "release notes" in command:  # the user waits for the run on its page
                deadline = time.monotonic() + 60
                while _prepare_run_status(tmp_path) not in {"succeeded", "failed"}:
                    assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()
                    time.sleep(0.5)
                assert _prepare_run_status(tmp_path) == "succeeded"
                # Stop it now: the validation run the README starts next only has to be
                # queued, and its scanners must not outlive the test.
                worker.terminate()
                worker.wait(timeout=30)
            # A new login shell in the checkout, as a user types it.
            result = subprocess.run(
                ["bash", "-lc", command],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            output = result.stdout + result.stderr
            assert result.returncode == status, f"{command}\n{output}"
            assert re.search(pattern, output, re.M), f"{command}\n{output}"
            ran.append(command)
            print(f"{time.monotonic() - started:5.1f} s  {command}")
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
        worker_log.close()
    assert len(ran) == len(EXPECTED), ran
    assert {why for _, why in skipped} == set(SKIPPED.values()), skipped
