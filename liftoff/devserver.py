"""`make run`: migrate, seed the demo, then run web, the Celery workers and beat together.

Web, a worker, the notifications' worker (e-mails and webhooks: a slow receiver never
holds a deployment's slot) and beat are separate processes (tasks are truly
asynchronous); Ctrl-C stops them all,
and if one dies the others are stopped too, so nothing is left running half-way.

The terminal gets one short line stream per process (`web    | …`, `worker | …`,
`notify | …`, `beat   | …`) with the periodic housekeeping left out below WARNING; each
process's full output, at INFO, goes to DATA_DIR/logs/<name>.log. The URL and the logins are printed
last, once the web server answers /healthz and the worker has answered a heartbeat.
"""

import argparse
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import deque
from pathlib import Path

from liftoff.env import data_dir, dev_env_load, dev_env_write

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
NAMES = ("web", "worker", "notify", "beat")
# The tasks of settings.CELERY_BEAT_SCHEDULE (tests/liftoff/test_devserver.py keeps the
# two equal; the launcher cannot import the settings before it has written dev.env).
PERIODIC_TASKS = (
    "liftoff.worker_heartbeat",
    "runs.reap",
    "runs.sweep",
    "deployments.start_due",
    "deployments.health",
    "notifications.sweep",
    "incidents.sla_check",
    "metrics.sbom_sweep",
)
HEARTBEAT_TASK = "liftoff.worker_heartbeat"
READY_TIMEOUT = 90

# "2026-11-29 22:15:16,546 INFO celery.beat message": the settings' "plain" log format.
_LOG_LINE = re.compile(
    r"^\d{4}-\d\d-\d\d (?P<time>\d\d:\d\d:\d\d),\d+ "
    r"(?P<level>DEBUG|INFO|WARNING|ERROR|CRITICAL) (?P<logger>\S+) (?P<message>.*)$"
)
_LOUD = {"WARNING", "ERROR", "CRITICAL"}
_PERIODIC = re.compile(r"\bTask (" + "|".join(map(re.escape, PERIODIC_TASKS)) + r")\[")
# Known harmless warnings: kombu's filesystem transport has no host name by design.
_NOISE = ("No hostname was supplied. Reverting to default 'localhost'",)


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


def demo_run_dir() -> Path:
    """demo.services.demo_run_dir, without the settings (not loaded in this process)."""
    return data_dir() / "demo" / "run"


def _demo_process_ours(pid: int, pid_file: Path) -> bool:
    """Alive, and started for `pid_file` (the demo's deploy/serve.py names its PID file
    on the command line of every service it starts): a reused PID is never signalled."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return str(pid_file).encode() in cmdline


def demo_services_stop(run_dir: Path, *, wait: float = 5) -> list[str]:
    """Stop every demo service a deployment started (staging, blue, green, the switch),
    by the PIDs in `run_dir`/*.pid: TERM, then KILL after `wait` seconds. Returns the
    names stopped. The PID files go too: nothing is left that claims to run."""
    stopped = []
    for pid_file in sorted(run_dir.glob("*.pid")) if run_dir.is_dir() else []:
        try:
            pid = int(pid_file.read_text().strip())
        except (OSError, ValueError):
            pid = 0
        if pid and _demo_process_ours(pid, pid_file):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + wait
            while _demo_process_ours(pid, pid_file) and time.monotonic() < deadline:
                time.sleep(0.05)
            if _demo_process_ours(pid, pid_file):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            stopped.append(pid_file.stem)
        pid_file.unlink(missing_ok=True)
    return stopped


def prepare() -> None:
    """What `make run` does before starting the processes: the development file, the
    migrations and the demo data. The README test prepares its data folder with this."""
    written = dev_env_write()
    if written:
        print(f"Wrote {written} (DEBUG=1 and a generated SECRET_KEY) for this checkout.")
    dev_env_load()
    _run("migrate", "--no-input", "--verbosity", "0")
    _run("seed_demo")


def is_housekeeping(message: str, logger: str) -> bool:
    """Periodic work that says nothing new every few seconds: beat sending its schedule,
    the worker receiving and finishing those tasks, and health probes (ours included)."""
    if "Scheduler: Sending due task" in message:
        return True
    if _PERIODIC.search(message):
        return True
    # httpx's INFO line per request: the periodic health check asks every environment's
    # checks each minute (the demo's answer once deployed); the runs keep their own log.
    return logger == "httpx" or (logger == "django.server" and '"GET /healthz' in message)


class Stream:
    """One child process's output: every line to its log file, the short ones to the
    terminal with the process's name in front."""

    def __init__(self, name, process: subprocess.Popen, log_path: Path, echo, expect=()):
        self.name = name
        self.process = process
        self.log_path = log_path
        self.echo = echo
        self.tail: deque[str] = deque(maxlen=15)
        # An event per expected line, set when a line matching its pattern arrives.
        self.seen = {pattern: threading.Event() for pattern in expect}
        self._expected = [(re.compile(pattern), event) for pattern, event in self.seen.items()]
        self._loud = False  # the last log line was shown: its traceback lines are too
        self.thread = threading.Thread(target=self._pump, name=f"devserver-{name}", daemon=True)
        self.thread.start()

    def _pump(self) -> None:
        with self.log_path.open("w", encoding="utf-8") as log:
            for raw in self.process.stdout:
                line = raw.rstrip("\n")
                log.write(raw)
                log.flush()
                self.tail.append(line)
                for pattern, event in self._expected:
                    if pattern.search(line):
                        event.set()
                shown = self._terminal_line(line)
                if shown is not None:
                    self.echo(self.name, shown)

    def _terminal_line(self, line: str) -> str | None:
        match = _LOG_LINE.match(line)
        if match is None:
            # Banners and start-up chatter stay in the log file; a traceback under a
            # shown warning or error is shown with it.
            return line if self._loud and line.strip() else None
        level, logger, message = match["level"], match["logger"], match["message"]
        loud = level in _LOUD
        self._loud = loud and not any(noise in message for noise in _NOISE)
        if not loud and (level == "DEBUG" or is_housekeeping(message, logger)):
            return None
        if loud and not self._loud:
            return None
        return f"{match['time']} {level} {logger} {message}"


def _rotate(path: Path) -> None:
    """Keep the previous run's log beside the new one (a crash is read after a restart)."""
    if path.exists():
        path.replace(path.with_name(path.name + ".1"))


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
            return json.loads(answer.read()).get("status") == "ok"
    except (OSError, ValueError):
        return False


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)))
    port = parser.parse_args().port
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    if not _port_free(port):
        print(f"Port {port} is taken: stop what uses it, or run `make run PORT=8001`.")
        return 1

    # Demo services left by a `make run` that was killed outright: the board shows the
    # demo's environments down until they are deployed again (README, "The demo").
    if leftover := demo_services_stop(demo_run_dir()):
        print(f"Stopped demo services left running: {', '.join(leftover)}.")
    prepare()

    queue = os.environ.get("LIFTOFF_QUEUE", "liftoff")
    # E-mails and webhooks have a worker of their own, so a slow receiver never holds a
    # deployment's slot: threads (the work is waiting on the network), on both of the
    # notifications' lanes (settings.NOTIFICATIONS_QUEUE and NOTIFICATIONS_SLOW_QUEUE).
    # docker-compose.yml gives each lane its own worker; docs/notifications.md.
    notify = os.environ.get("LIFTOFF_NOTIFICATIONS_QUEUE", f"{queue}-notify")
    lanes = f"{notify},{os.environ.get('LIFTOFF_NOTIFICATIONS_SLOW_QUEUE', f'{notify}-slow')}"
    celery = [PY, "-m", "celery", "-A", "liftoff"]
    commands = {
        "web": [PY, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        "worker": [*celery, "worker", "--loglevel", "INFO", "--concurrency", "2", "-Q", queue],
        "notify": [
            *celery,
            "worker",
            "--loglevel",
            "INFO",
            "--pool",
            "threads",
            "--concurrency",
            "16",
            "-Q",
            lanes,
            "--hostname",
            "notify@%h",
        ],
        "beat": [*celery, "beat", "--loglevel", "INFO"],
    }
    log_dir = data_dir() / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    width = max(map(len, NAMES))
    print_lock = threading.Lock()

    def echo(name: str, line: str) -> None:
        with print_lock:
            print(f"{name:<{width}} | {line}", flush=True)

    streams: dict[str, Stream] = {}
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)

    def start(name: str, *expect: str) -> Stream:
        log_path = log_dir / f"{name}.log"
        _rotate(log_path)
        # Own process groups: Ctrl-C reaches us once, and we stop each child cleanly.
        process = subprocess.Popen(
            commands[name],
            cwd=ROOT,
            start_new_session=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        streams[name] = Stream(name, process, log_path, echo, expect)
        return streams[name]

    ready, answered, started = (
        r"celery@\S+ ready\.",
        rf"Task {re.escape(HEARTBEAT_TASK)}\[\S+\] succeeded",
        r"beat: Starting",
    )
    start("web")
    worker = start("worker", ready, answered)

    exit_code = 0
    ready_deadline = time.monotonic() + READY_TIMEOUT
    state = "starting"  # -> "asked" (heartbeat sent) -> "ready" (banner printed)
    asked: subprocess.Popen | None = None
    baseline: subprocess.Popen | None = None
    while not stopping:
        for name, stream in streams.items():
            if stream.process.poll() is not None:
                stream.thread.join(timeout=2)
                with print_lock:
                    print(f"The {name} process ended (exit {stream.process.returncode}).")
                    print(f"Last lines of {stream.log_path}:")
                    print("\n".join(f"  {line}" for line in stream.tail))
                    print("Stopping the rest.", flush=True)
                exit_code, stopping = 1, True
                break
        if stopping:
            break
        if state == "starting" and worker.seen[ready].is_set():
            # Beat and the heartbeat call only once the worker has declared its queue.
            # kombu's filesystem transport reads its exchange and message files without
            # waiting for their writer, so two processes declaring at once during start-up
            # can end one of them with a JSONDecodeError (seen once in the test).
            start("beat", started)
            start("notify")
            # Ask for a heartbeat now instead of waiting up to 15 s for beat's first one.
            asked = subprocess.Popen(
                [*celery, "call", HEARTBEAT_TASK, "--queue", queue],
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            state = "asked"
        elif (
            state == "asked"
            and worker.seen[answered].is_set()
            and streams["beat"].seen[started].is_set()
            and _healthy(port)
        ):
            # The demo's environments run what the board says (real deployments through
            # the worker, bounded: docs/deployments.md), before the URL is printed.
            baseline, baseline_pump = _demo_baseline_start(log_dir, echo_lock=print_lock)
            state = "baseline"
        elif state == "baseline" and baseline is not None and baseline.poll() is not None:
            baseline_pump.join(timeout=2)  # its last lines before the URL
            _banner(port, log_dir, echo_lock=print_lock)
            state = "ready"
        elif state not in {"baseline", "ready"} and time.monotonic() > ready_deadline:
            with print_lock:
                print(
                    f"Not ready after {READY_TIMEOUT} s (no answer from /healthz or no "
                    f"worker heartbeat): see {log_dir}/. Still running; Ctrl-C stops it.",
                    flush=True,
                )
            state = "ready"
        time.sleep(0.2)

    if asked is not None and asked.poll() is None:
        asked.kill()
    if baseline is not None and baseline.poll() is None:
        baseline.terminate()  # only its waiting: the worker's stop ends the deployment
        with contextlib.suppress(subprocess.TimeoutExpired):
            baseline.wait(timeout=5)
    # SIGTERM to each leader only: the Celery worker then stops its own pool (a signal to
    # the whole group would kill the pool children under it, which it logs as errors).
    for stream in streams.values():
        if stream.process.poll() is None:
            stream.process.terminate()
    deadline = time.monotonic() + 15
    for stream in streams.values():
        with contextlib.suppress(subprocess.TimeoutExpired):
            stream.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        # Whatever is left of the group (a leader that did not stop in time, an orphan).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(stream.process.pid, signal.SIGKILL)
        stream.thread.join(timeout=2)
    # After the worker: a deployment it was running may have started one just now.
    demo = demo_services_stop(demo_run_dir())
    print(f"Stopped web, workers and beat. Full logs: {log_dir}/", flush=True)
    if demo:
        print(f"Stopped the demo services: {', '.join(demo)}.", flush=True)
    return exit_code


def _demo_baseline_start(
    log_dir: Path, *, echo_lock: threading.Lock
) -> tuple[subprocess.Popen, threading.Thread]:
    """`manage.py demo_baseline` in the background: its lines go to the terminal (as the
    launcher's own, indented) and to DATA_DIR/logs/demo.log."""
    log_path = log_dir / "demo.log"
    _rotate(log_path)
    process = subprocess.Popen(
        [PY, "manage.py", "demo_baseline"],
        cwd=ROOT,
        start_new_session=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
        errors="replace",
    )

    def pump() -> None:
        with log_path.open("w", encoding="utf-8") as log:
            for line in process.stdout:
                log.write(line)
                log.flush()
                with echo_lock:
                    print(f"  {line.rstrip()}", flush=True)

    with echo_lock:
        print("  Deploying the demo's environments (the worker runs them)...", flush=True)
    thread = threading.Thread(target=pump, name="devserver-demo", daemon=True)
    thread.start()
    return process, thread


def _banner(port: int, log_dir: Path, *, echo_lock: threading.Lock) -> None:
    password = os.environ.get("DEMO_PASSWORD", "liftoff-demo")
    with echo_lock:
        print(
            f"\n  Web, workers and beat are up; full logs in {log_dir}/. Ctrl-C stops them all.\n"
            f"  Liftoff is running at http://127.0.0.1:{port}/\n"
            f"  Log in as admin, manager, approver or stakeholder, password: {password}\n",
            flush=True,
        )


if __name__ == "__main__":
    sys.exit(main())
