"""`make run`'s launcher on the embedded defaults: it migrates, seeds, serves with a real
worker, the notifications' worker and beat beside the web server, and one Ctrl-C stops
them all cleanly."""

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest

from liftoff import devserver
from tests.helpers import ROOT, free_port

pytestmark = pytest.mark.worker

LOGINS = "  Log in as admin, manager, approver or stakeholder, password: liftoff-demo"


def _processes_using(data_dir: Path) -> list[int]:
    """Live processes whose environment names this data folder (the launched ones)."""
    marker = f"LIFTOFF_DATA_DIR={data_dir}".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                if state != "Z":
                    pids.append(int(entry.name))
        except OSError:
            continue
    return pids


def _health(port: int) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
            return json.loads(answer.read())
    except OSError:
        return None


def _signed_in_pages(port: int, username: str) -> dict[str, int]:
    """Log in through the real login form (CSRF cookie and token), then open the main
    pages and the first release, environment and deployment they link to: path → status."""
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    base = f"http://127.0.0.1:{port}"
    with opener.open(f"{base}/accounts/login/", timeout=10) as answer:
        answer.read()
    token = next(c.value for c in jar if c.name == "csrftoken")
    body = urllib.parse.urlencode(
        {"username": username, "password": "liftoff-demo", "csrfmiddlewaretoken": token}
    ).encode()
    login = urllib.request.Request(  # noqa: S310 - http://127.0.0.1 above
        f"{base}/accounts/login/", data=body, headers={"Referer": base}
    )
    with opener.open(login, timeout=10) as answer:
        assert answer.url == f"{base}/", answer.url  # the form redirected: signed in
    statuses: dict[str, int] = {}
    paths = ["/", "/releases/", "/approvals/", "/deployments/", "/incidents/", "/runs/"]
    paths += ["/notifications/"]
    for path in paths:
        try:
            with opener.open(f"{base}{path}", timeout=20) as answer:
                html = answer.read().decode()
                statuses[path] = answer.status
        except urllib.error.HTTPError as error:
            statuses[path] = error.code
            continue
        for link in (r"/releases/\d+/", r"/deployments/[\w-]+/[\w-]+/", r"/deployments/\d+/"):
            found = re.search(f'href="({link})"', html)
            if found and found[1] not in paths:
                paths.append(found[1])
    return statuses


def test_make_run_serves_with_a_worker_and_ctrl_c_stops_everything(tmp_path):
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "LIFTOFF_BROKER_DIR", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(LIFTOFF_DATA_DIR=str(tmp_path), LIFTOFF_QUEUE="liftoff-devserver-test")
    # The demo's services on free ports: a developer's own `make run` may hold the defaults.
    for name in ("STAGING", "PRODUCTION", "BLUE", "GREEN"):
        env[f"DEMO_{name}_PORT"] = str(free_port())
    log = tmp_path / "devserver.log"
    with log.open("w") as out:
        launcher = subprocess.Popen(
            [sys.executable, "-m", "liftoff.devserver", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        # The URL and the logins come once the web answers and the worker has answered.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and launcher.poll() is None:
            if LOGINS in log.read_text():
                break
            time.sleep(0.5)
        output = log.read_text()
        assert LOGINS in output, output[-3000:]
        assert _health(port) == {"status": "ok", "database": "ok", "broker": "ok"}
        assert "Demo logins: admin (Admin), manager (Release manager)" in output
        # Signed-in pages work on the embedded database too (SQLite, as here).
        statuses = _signed_in_pages(port, "manager")
        assert set(statuses.values()) == {200}, statuses
        assert any(p.startswith("/releases/") and p != "/releases/" for p in statuses), statuses
        # Web, worker (with its pool), the notifications' worker and beat, each a process
        # of its own.
        assert len(_processes_using(tmp_path)) >= 5

        # Beat sends its tasks every 10 and 15 s: none of that reaches the terminal, so
        # the URL and the logins stay the last lines printed.
        time.sleep(12)
        output = log.read_text()
        assert output.rstrip().splitlines()[-2:] == [
            f"  Liftoff is running at http://127.0.0.1:{port}/",
            LOGINS,
        ], output[-3000:]
        for periodic in ("Sending due task", "runs.reap", "runs.sweep", "worker_heartbeat"):
            assert periodic not in output
        assert "[tasks]" not in output  # Celery's banner stays in the log file
        process_lines = [line for line in output.splitlines() if " | " in line]
        assert process_lines, output
        assert all(re.match(r"^(web|worker|notify|beat) +\| ", line) for line in process_lines)
        # ... while the data folder keeps each process's full output.
        logs = tmp_path / "logs"
        assert "Sending due task runs-reap (runs.reap)" in (logs / "beat.log").read_text()
        worker_log = (logs / "worker.log").read_text()
        assert "[tasks]" in worker_log  # Celery's banner
        assert re.search(r"Task runs\.reap\[\S+\] succeeded", worker_log)
        assert re.search(r"Task liftoff\.worker_heartbeat\[\S+\] succeeded", worker_log)
        assert '"GET /healthz HTTP/1.1" 200' in (logs / "web.log").read_text()

        launcher.send_signal(signal.SIGINT)  # what Ctrl-C sends
        assert launcher.wait(timeout=40) == 0
        output = log.read_text()
        assert "Stopped web, workers and beat." in output
        assert "ERROR" not in output, output[-3000:]
        assert "notify@" in (logs / "notify.log").read_text()  # its banner
        for name in ("web", "worker", "notify", "beat"):
            assert " ERROR " not in (tmp_path / "logs" / f"{name}.log").read_text()
        time.sleep(0.5)
        assert _processes_using(tmp_path) == []
    finally:
        if launcher.poll() is None:
            os.killpg(launcher.pid, signal.SIGKILL)
        for pid in _processes_using(tmp_path):
            os.kill(pid, signal.SIGKILL)
        # The demo's services a deployment started (their own sessions): a failed run must
        # not leave them serving (the launcher stops them only when it ends cleanly).
        devserver.demo_services_stop(tmp_path / "demo" / "run", wait=2)


def test_the_launcher_knows_every_periodic_task_of_the_beat_schedule(settings):
    """The launcher keeps these out of the terminal; it cannot import the settings itself."""
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert set(devserver.PERIODIC_TASKS) == scheduled


def test_housekeeping_lines_stay_out_of_the_terminal_and_warnings_reach_it(tmp_path):
    lines = [
        "2026-11-29 22:15:26,624 INFO celery.beat Scheduler: Sending due task runs-reap "
        "(runs.reap)",
        "2026-11-29 22:15:26,647 INFO celery.worker.strategy Task runs.sweep[85bd] received",
        "2026-11-29 22:15:26,700 INFO celery.app.trace Task runs.execute[85be] succeeded in 1s",
        "2026-11-29 22:15:27,000 ERROR celery.app.trace Task runs.reap[85bf] raised: boom",
        "Traceback (most recent call last):",
        " -------------- celery@vm v5.7.0 (collider)",
        "2026-11-29 22:15:28,000 WARNING kombu.connection No hostname was supplied. "
        "Reverting to default 'localhost'",
        " -------------- celery@vm v5.7.0 (collider)",
    ]
    reader, writer = os.pipe()
    with os.fdopen(writer, "w") as out:
        out.write("\n".join(lines) + "\n")
    shown = []
    process = subprocess.Popen(["cat"], stdin=reader, stdout=subprocess.PIPE, text=True)
    os.close(reader)
    stream = devserver.Stream(
        "worker", process, tmp_path / "worker.log", lambda *a: shown.append(a)
    )
    stream.thread.join(timeout=10)
    process.wait(timeout=10)
    assert shown == [
        ("worker", "22:15:26 INFO celery.app.trace Task runs.execute[85be] succeeded in 1s"),
        ("worker", "22:15:27 ERROR celery.app.trace Task runs.reap[85bf] raised: boom"),
        ("worker", "Traceback (most recent call last):"),
        ("worker", " -------------- celery@vm v5.7.0 (collider)"),
    ]
    assert (tmp_path / "worker.log").read_text().splitlines() == lines
