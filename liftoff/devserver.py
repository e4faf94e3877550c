"""`make run`: migrate, seed the demo, then run web, a Celery worker and beat together.

The three are separate processes (tasks are truly asynchronous); Ctrl-C stops them all,
and if one dies the others are stopped too, so nothing is left running half-way.
"""

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from liftoff.env import dev_env_load, dev_env_write

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


def _run(*args: str) -> None:
    subprocess.run([PY, "manage.py", *args], cwd=ROOT, check=True)


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def prepare() -> None:
    """What `make run` does before starting the processes: the development file, the
    migrations and the demo data. The README test prepares its data folder with this."""
    written = dev_env_write()
    if written:
        print(f"Wrote {written} (DEBUG=1 and a generated SECRET_KEY) for this checkout.")
    dev_env_load()
    _run("migrate", "--no-input", "--verbosity", "0")
    _run("seed_demo")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)))
    port = parser.parse_args().port
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    if not _port_free(port):
        print(f"Port {port} is taken: stop what uses it, or run `make run PORT=8001`.")
        return 1

    prepare()

    celery = [PY, "-m", "celery", "-A", "liftoff"]
    commands = {
        "web": [PY, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        "worker": [
            *celery,
            "worker",
            "--loglevel",
            "INFO",
            "--concurrency",
            "2",
            "--queues",
            os.environ.get("LIFTOFF_QUEUE", "liftoff"),
        ],
        "beat": [*celery, "beat", "--loglevel", "INFO"],
    }
    processes: dict[str, subprocess.Popen] = {}
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    for name, command in commands.items():
        # Own process groups: Ctrl-C reaches us once, and we stop each child cleanly.
        processes[name] = subprocess.Popen(command, cwd=ROOT, start_new_session=True)

    password = os.environ.get("DEMO_PASSWORD", "liftoff-demo")
    print(
        f"\n  Liftoff is running at http://127.0.0.1:{port}/\n"
        f"  Log in as admin, manager, approver or stakeholder, password: {password}\n"
        f"  Web, worker and beat run as separate processes; Ctrl-C stops them all.\n",
        flush=True,
    )
    exit_code = 0
    while not stopping:
        for name, process in processes.items():
            if process.poll() is not None:
                print(f"The {name} process ended (exit {process.returncode}); stopping the rest.")
                exit_code, stopping = 1, True
                break
        time.sleep(0.5)

    # SIGTERM to each leader only: the Celery worker then stops its own pool (a signal to
    # the whole group would kill the pool children under it, which it logs as errors).
    for process in processes.values():
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + 15
    for process in processes.values():
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        # Whatever is left of the group (a leader that did not stop in time, an orphan).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    print("Stopped web, worker and beat.")
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
