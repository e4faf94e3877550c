"""`make run`'s launcher on the embedded defaults: it migrates, seeds, serves with a real
worker and beat beside the web server, and one Ctrl-C stops all three cleanly."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.helpers import ROOT

pytestmark = pytest.mark.worker


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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


def test_make_run_serves_with_a_worker_and_ctrl_c_stops_everything(tmp_path):
    port = _free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "LIFTOFF_BROKER_DIR", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(LIFTOFF_DATA_DIR=str(tmp_path), LIFTOFF_QUEUE="liftoff-devserver-test")
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
        deadline = time.monotonic() + 120
        health = None
        while time.monotonic() < deadline and launcher.poll() is None:
            health = _health(port)
            if health and health["status"] == "ok":
                break
            time.sleep(0.5)
        output = log.read_text()
        assert health == {"status": "ok", "database": "ok", "broker": "ok"}, output[-3000:]
        assert f"Liftoff is running at http://127.0.0.1:{port}/" in output
        assert "Demo logins: admin (Admin), manager (Release manager)" in output
        # Web, worker (with its pool) and beat, each a process of its own.
        assert len(_processes_using(tmp_path)) >= 4

        launcher.send_signal(signal.SIGINT)  # what Ctrl-C sends
        assert launcher.wait(timeout=40) == 0
        output = log.read_text()
        assert "Stopped web, worker and beat." in output
        assert "ERROR" not in output, output[-3000:]
        time.sleep(0.5)
        assert _processes_using(tmp_path) == []
    finally:
        if launcher.poll() is None:
            os.killpg(launcher.pid, signal.SIGKILL)
        for pid in _processes_using(tmp_path):
            os.kill(pid, signal.SIGKILL)
