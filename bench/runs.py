"""Measure the run engine's enqueue-to-first-step latency with a real Celery worker.

For each broker (Redis with PostgreSQL; the embedded filesystem broker with SQLite):

1. a throwaway database: PostgreSQL `liftoff_bench_runs` (dropped and re-created), or
   SQLite in a temporary LIFTOFF_DATA_DIR (which also holds the broker's folders);
2. in a subprocess configured for it (settings are read at import): migrate, start one
   Celery worker (prefork, concurrency 1, with the test run kinds), wait until it has run
   a first run (not counted);
3. N times: create a `test.slow` run of 0 s through `run_create` (dispatched on commit,
   as the application does it), wait for its first step to start, then for it to end;
   latency = first step's `started_at` - run's `created_at` (both stamped by the
   database clients on this machine). A random pause of up to 0.1 s before each run
   keeps the runs from falling in step with the broker's polling.

Prints a Markdown table (median, p99 by nearest rank, which for N <= 100 is the largest
value, and max) and writes it to bench/results/, which git ignores. The worker is
stopped by its process group in a `finally`, whatever happens. Only 127.0.0.1 is used.
See docs/performance.md.
"""

import argparse
import json
import math
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # bench.common, and the project for Django

from bench.common import BenchError, database_recreate  # noqa: E402

BIN = ROOT / ".venv" / "bin"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/liftoff_bench_runs"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
QUEUE = "liftoff-bench"
LOG_DIR = ROOT / "var" / "bench"
# The whole of one configuration: migrate, worker start, warm-up and N runs.
CHILD_TIMEOUT = 55
RESULT_PREFIX = "bench-result="


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


# --- The parent: one subprocess per configuration ---------------------------------------


def child_env(data_dir: Path, database_url: str, redis_url: str, queue: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "liftoff.settings",
        "PYTHONPATH": str(ROOT),
        "LIFTOFF_DATA_DIR": str(data_dir),
        "LIFTOFF_QUEUE": queue,
        "DEBUG": "1",
        "LOG_LEVEL": "WARNING",
    }
    # Empty means the embedded default (SQLite in the data dir, the filesystem broker).
    env["DATABASE_URL"] = database_url
    env["REDIS_URL"] = redis_url
    return env


def run_configuration(label: str, env: dict[str, str], args) -> dict:
    command = [str(BIN / "python"), __file__, "--child", label, "--runs", str(args.runs)]
    proc = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        out, _ = proc.communicate(timeout=CHILD_TIMEOUT)
    except subprocess.TimeoutExpired:
        # SIGTERM: the child stops its worker in its `finally`.
        proc.send_signal(signal.SIGTERM)
        try:
            out, _ = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
        raise BenchError(f"{label}: took more than {CHILD_TIMEOUT} s:\n{out[-3000:]}") from None
    for line in out.splitlines():
        if line.startswith(RESULT_PREFIX):
            return json.loads(line.removeprefix(RESULT_PREFIX))
    raise BenchError(f"{label}: no result (exit {proc.returncode}):\n{out[-3000:]}")


def nearest_rank(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


def table(results: list[dict]) -> str:
    lines = [
        "| broker | n | median ms | p99 ms | max ms | min ms | committed | sent | claimed |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lat = r["latencies_ms"]
        marks = " | ".join(
            f"{statistics.median(r[key]):.1f}" for key in ("committed_ms", "sent_ms", "claim_ms")
        )
        lines.append(
            f"| {r['label']} | {len(lat)} | {statistics.median(lat):.1f} | "
            f"{nearest_rank(lat, 99):.1f} | {max(lat):.1f} | {min(lat):.1f} | {marks} |"
        )
    return "\n".join(lines)


def parent(args) -> int:
    database_url = args.database_url
    redis_url = os.environ.get("REDIS_URL", DEFAULT_REDIS_URL)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    started = time.monotonic()
    temp = Path(tempfile.mkdtemp(prefix="liftoff-bench-runs-"))
    results = []
    try:
        if "redis" in args.brokers:
            database_recreate(database_url)
            env = child_env(temp / "redis", database_url, redis_url, args.queue)
            print("Redis + PostgreSQL ...", flush=True)
            results.append(run_configuration("Redis + PostgreSQL", env, args))
        if "filesystem" in args.brokers:
            env = child_env(temp / "embedded", "", "", args.queue)
            print("filesystem broker + SQLite ...", flush=True)
            results.append(run_configuration("filesystem + SQLite", env, args))
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    header = (
        f"{datetime.now():%Y-%m-%d %H:%M}: enqueue to first step, {args.runs} runs of "
        f"`test.slow` (0 s) per broker, one prefork worker (concurrency 1), one run at a "
        f"time; {os.cpu_count()} cores, load average before the bench {load}. "
        "p99 is nearest-rank. The last three columns are medians, in ms after the run's "
        "created_at, of the commit of run_create's transaction, the end of the message's "
        "send (on commit) and the worker's claim."
    )
    report = table(results)
    print(f"\n{header}\n\n{report}\n")
    results_dir = ROOT / "bench" / "results"
    results_dir.mkdir(exist_ok=True)
    out = results_dir / f"runs-{datetime.now():%Y%m%d-%H%M%S}.md"
    out.write_text(f"{header}\n\n{report}\n")
    print(f"written to {out.relative_to(ROOT)} in {time.monotonic() - started:.0f} s")
    return 0


# --- The child: Django configured for one broker ------------------------------------------


def worker_start(label: str):
    from django.conf import settings

    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log_path = LOG_DIR / f"worker-runs-{'redis' if settings.REDIS_URL else 'filesystem'}.log"
    log = log_path.open("w")
    proc = subprocess.Popen(
        [
            str(BIN / "python"),
            "-m",
            "celery",
            "-A",
            "liftoff",
            "worker",
            "--loglevel",
            "WARNING",
            "--concurrency",
            "1",
            "--pool",
            "prefork",
            "--hostname",
            "bench-runs@%h",
            "--queues",
            settings.CELERY_TASK_DEFAULT_QUEUE,
            "--include",
            "tests.runs.kinds",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    return proc, log_path


def worker_stop(proc) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
    except ProcessLookupError:
        pass


def one_run(user, worker, log_path: Path, timeout: float) -> dict[str, float]:
    """Create a run, wait for its first step to start and for the run to end; returns the
    milestones in ms after the run's created_at: committed (run_create's transaction),
    sent (the message, on commit), claimed (the worker's claim) and first_step."""
    from django.db import transaction
    from django.utils import timezone

    from runs.models import FINAL_STATES, Run, Step
    from runs.services import run_create

    # on_commit callbacks run in the order they were registered: the first stamps the
    # commit, run_create's sends the message, the last stamps the end of the send. (The
    # run's dispatched_at is no use here: a worker quicker than the web side claims the
    # run before run_dispatch records the send, which then writes nothing.)
    moments = {}
    with transaction.atomic():
        transaction.on_commit(lambda: moments.setdefault("committed", timezone.now()))
        run = run_create(kind="test.slow", subject=user, requested_by=user, params={"seconds": 0})
        transaction.on_commit(lambda: moments.setdefault("sent", timezone.now()))
    deadline = time.monotonic() + timeout
    started = None
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise BenchError(f"the worker exited:\n{log_path.read_text()[-3000:]}")
        if started is None:
            started = (
                Step.objects.filter(run=run, order=0, started_at__isnull=False)
                .values_list("started_at", flat=True)
                .first()
            )
        if started is not None:
            fresh = Run.objects.get(pk=run.pk)
            if fresh.status in FINAL_STATES:
                at = {**moments, "claimed": fresh.started_at, "first_step": started}
                return {
                    name: (moment - fresh.created_at).total_seconds() * 1000
                    for name, moment in at.items()
                }
        time.sleep(0.01)
    fresh = Run.objects.get(pk=run.pk)
    raise BenchError(
        f"run {run.pk} not done in {timeout} s (status {fresh.status}, dispatched "
        f"{fresh.dispatched_at}):\n{log_path.read_text()[-3000:]}"
    )


def child(label: str, runs: int) -> int:
    signal.signal(signal.SIGTERM, _interrupt)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.core.management import call_command

    import tests.runs.kinds  # noqa: F401 - registers test.slow here too
    from liftoff.celery import app

    call_command("migrate", interactive=False, verbosity=0)
    if settings.REDIS_URL:
        # Messages another bench left in the queue would keep the worker busy.
        with app.connection_for_write() as conn:
            conn.default_channel.queue_purge(settings.CELERY_TASK_DEFAULT_QUEUE)
    user, _ = User.objects.get_or_create(username="bench-runs")
    worker, log_path = worker_start(label)
    try:
        # Warm-up (not counted): the worker's start-up and its first connections.
        one_run(user, worker, log_path, timeout=30)
        milestones = []
        for _ in range(runs):
            time.sleep(random.uniform(0, 0.1))
            milestones.append(one_run(user, worker, log_path, timeout=10))
    except BenchError as exc:
        print(f"bench failed: {exc}", flush=True)
        return 1
    finally:
        worker_stop(worker)
    result = {
        "label": label,
        "latencies_ms": [m["first_step"] for m in milestones],
        "claim_ms": [m["claimed"] for m in milestones],
        "committed_ms": [m["committed"] for m in milestones],
        "sent_ms": [m["sent"] for m in milestones],
    }
    print(RESULT_PREFIX + json.dumps(result), flush=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50, help="measured runs per broker")
    parser.add_argument(
        "--brokers",
        default="redis,filesystem",
        help="comma-separated: redis (with PostgreSQL), filesystem (with SQLite)",
    )
    parser.add_argument(
        "--database-url",
        default=DEFAULT_DATABASE_URL,
        help="PostgreSQL database for the Redis run (dropped and re-created)",
    )
    parser.add_argument(
        "--queue",
        default=QUEUE,
        help="Celery queue of the bench's worker (another bench on the same Redis needs its own)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.runs)
    args.brokers = {b.strip() for b in args.brokers.split(",")}
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    return parent(args)


if __name__ == "__main__":
    sys.exit(main())
