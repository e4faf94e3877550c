"""Send 1,000 notifications to fast, slow and dead webhook receivers on loopback.

1. Start the receivers on 127.0.0.1 in a subprocess, one threaded server per port: fast
   ones answer 200 at once, slow ones after `--slow-seconds` (2 s), dead ones accept the
   connection, read the request and never answer (the sender's timeout ends it). Each
   request is written to a file: the receiver's kind, the message id, the event's time
   (the signed body's `timestamp`) and the time it arrived.
2. Drop and re-create the PostgreSQL database `liftoff_bench_notify` (it refuses a name
   without "bench"), migrate it, and make one project per receiver, each with one
   endpoint (`webhook_create`, private addresses allowed) listening to `release.shipped`.
3. For each scenario, without the dead receivers (their endpoints disabled) and with
   them: start real Celery workers on the notifications' queues (`--layout`), raise
   `--notifications` events through the real path (`emit` in a transaction, the handler
   writes the outbox rows, their tasks are sent on commit), one event per project in
   turn, as fast as this process can; wait until every fast and slow receiver has its
   message (or `--timeout`); stop the workers and empty their queues.
4. Print, per scenario: the deliveries made, the throughput (delivered per second, from
   the first event to the last arrival), the fast receivers' latency from event to
   arrival (p50, p99, max), and the ratio of the fast p50 and p99 with the dead receivers
   to without. Also written to bench/results/notify-<date>.md (ignored by git).

Layouts: `lanes` (what `make run` and docker-compose.yml run: a worker per lane, see
docs/notifications.md) and `single` (one prefork worker of 2 processes on every queue:
what `make run` ran before the lanes). The receivers and the workers are stopped by
their process id in a `finally`. Only 127.0.0.1 is used. See docs/performance.md.
"""

import argparse
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # bench.common, and the project for Django

from bench.common import BenchError, database_recreate  # noqa: E402

BIN = ROOT / ".venv" / "bin"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/liftoff_bench_notify"
HOST = "127.0.0.1"
KINDS = ("fast", "slow", "dead")


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


# --- The receivers' process -----------------------------------------------------------------


def serve(counts: dict[str, int], slow_seconds: float, log: str) -> int:
    """Start the receivers, print {kind: [ports]} as one JSON line, serve until SIGTERM."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    lock = threading.Lock()
    out = open(log, "a", buffering=1)  # noqa: SIM115 - open for the process's life
    stopping = threading.Event()

    def handler_for(kind: str):
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                arrived = time.time()
                try:
                    at = datetime.fromisoformat(json.loads(body)["timestamp"]).timestamp()
                except (ValueError, KeyError):
                    at = 0.0
                with lock:
                    out.write(f"{kind} {self.headers.get('webhook-id')} {at:.6f} {arrived:.6f}\n")
                if kind == "dead":
                    stopping.wait()  # never answers; the sender gives up
                    return
                if kind == "slow":
                    time.sleep(slow_seconds)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        return Handler

    ports: dict[str, list[int]] = {}
    for kind in KINDS:
        for _ in range(counts[kind]):
            server = ThreadingHTTPServer((HOST, 0), handler_for(kind))
            server.daemon_threads = True
            server.request_queue_size = 128
            threading.Thread(target=server.serve_forever, daemon=True).start()
            ports.setdefault(kind, []).append(server.server_address[1])
    print(json.dumps(ports), flush=True)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    stopping.set()
    return 0


def receivers_start(counts, slow_seconds, log: Path) -> tuple[subprocess.Popen, dict]:
    proc = subprocess.Popen(
        [
            str(BIN / "python"),
            __file__,
            "--serve",
            json.dumps(counts),
            "--slow-seconds",
            str(slow_seconds),
            "--log",
            str(log),
        ],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    line = proc.stdout.readline()
    if not line:
        raise BenchError(f"the receivers did not start (exit {proc.poll()})")
    return proc, json.loads(line)


def stop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


# --- Workers --------------------------------------------------------------------------------


def workers_start(layout: str, queue: str, threads: tuple[int, int], log_dir: Path):
    """The notification workers of `layout`, on the queues of LIFTOFF_QUEUE=`queue`."""
    from django.conf import settings

    fast = settings.NOTIFICATIONS_QUEUE
    slow = getattr(settings, "NOTIFICATIONS_SLOW_QUEUE", None)
    base = [str(BIN / "python"), "-m", "celery", "-A", "liftoff", "worker", "--loglevel"]
    base += ["WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat"]
    if layout == "single":
        queues = ",".join(q for q in (queue, fast, slow) if q)
        specs = [("single", ["--pool", "prefork", "--concurrency", "2", "-Q", queues])]
    else:
        if not slow:
            raise BenchError("this checkout has no slow lane (NOTIFICATIONS_SLOW_QUEUE)")
        specs = [
            ("fast", ["--pool", "threads", "--concurrency", str(threads[0]), "-Q", fast]),
            ("slow", ["--pool", "threads", "--concurrency", str(threads[1]), "-Q", slow]),
        ]
    env = {**os.environ, "LIFTOFF_QUEUE": queue}
    procs = []
    for name, extra in specs:
        log = (log_dir / f"worker-{name}.log").open("w")
        procs.append(
            subprocess.Popen(
                [*base, *extra, "--hostname", f"bench-notify-{name}@%h"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
    return procs


def workers_ready(procs, timeout: float = 60) -> None:
    """Wait until every worker answers a ping (it then consumes its queues)."""
    import socket

    from liftoff.celery import app

    names = [
        f"bench-notify-{name}@{socket.gethostname()}"
        for name in (["single"] if len(procs) == 1 else ["fast", "slow"])
    ]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for proc in procs:
            if proc.poll() is not None:
                raise BenchError(f"a worker exited ({proc.returncode}); see var/bench-notify/")
        replies = app.control.ping(destination=names, timeout=1.0) or []
        if len(replies) >= len(procs):
            return
    raise BenchError("the workers did not answer a ping in time")


def queues_purge(names: list[str]) -> None:
    from liftoff.celery import app

    with app.connection_for_write() as conn:
        channel = conn.default_channel
        for name in names:
            # A queue never declared has nothing to purge.
            with contextlib.suppress(Exception):
                channel.queue_purge(name)


# --- The bench ------------------------------------------------------------------------------


def seed(ports: dict[str, list[int]]):
    """One project, release and endpoint per receiver; returns (admin, [(kind, release,
    endpoint)])."""
    from django.contrib.auth.models import Group, User

    from notifications.services import webhook_create
    from releases.models import Project, Release

    admin = User.objects.create(username="bench-notify")
    admin.groups.set([Group.objects.get(name="admin")])
    targets = []
    for kind in KINDS:
        for n, port in enumerate(ports.get(kind, [])):
            slug = f"{kind}-{n:02d}"
            project = Project.objects.create(
                slug=slug, name=slug, repo_url=f"https://git.example.com/{slug}.git"
            )
            release = Release.objects.create(
                project=project,
                version="1.0.0",
                major=1,
                minor=0,
                patch=0,
                type="major",
                status="released",
                head_commit="0" * 40,
                created_by=admin,
            )
            endpoint, _ = webhook_create(
                project=project,
                url=f"http://{HOST}:{port}/hook",
                events=["release.shipped"],
                allow_private=True,
                actor=admin,
            )
            targets.append((kind, release, endpoint))
    return admin, targets


def receipts(log: Path) -> list[tuple[str, str, float, float]]:
    rows = []
    for line in log.read_text().splitlines():
        kind, message, at, arrived = line.split()
        rows.append((kind, message, float(at), float(arrived)))
    return rows


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def scenario(name, *, with_dead, targets, admin, args, log: Path, log_dir: Path) -> dict:
    from django.conf import settings
    from django.db import transaction

    from liftoff.events import emit
    from notifications.models import Delivery, DeliveryAttempt, WebhookEndpoint

    dead = [e.pk for kind, _, e in targets if kind == "dead"]
    WebhookEndpoint.objects.filter(pk__in=dead).update(active=with_dead)
    if hasattr(WebhookEndpoint, "slow_until"):  # nothing learnt in the other scenario
        WebhookEndpoint.objects.update(slow_until=None)
    # Queues of their own per scenario: nothing left from the other one is consumed.
    queue = f"{args.queue}-{'dead' if with_dead else 'nodead'}-{os.getpid()}"
    fast_queue = f"{queue}-notify"
    settings.CELERY_TASK_DEFAULT_QUEUE = queue
    settings.NOTIFICATIONS_QUEUE = fast_queue
    names = [queue, fast_queue]
    if hasattr(settings, "NOTIFICATIONS_SLOW_QUEUE"):
        settings.NOTIFICATIONS_SLOW_QUEUE = f"{fast_queue}-slow"
        names.append(settings.NOTIFICATIONS_SLOW_QUEUE)
    log.write_text("")
    procs = workers_start(args.layout, queue, (args.threads, args.slow_threads), log_dir)
    try:
        workers_ready(procs)
        kinds = {}
        started = time.time()
        for i in range(args.notifications):
            _, release, _ = targets[i % len(targets)]
            with transaction.atomic():
                emit(
                    "release.shipped",
                    subject=release,
                    payload={"version": "1.0.0", "tag": "v1.0.0", "n": i},
                    actor=admin,
                )
        raised = time.time() - started
        made = {
            d.message_id: d.endpoint_id
            for d in Delivery.objects.filter(
                created_at__gte=datetime.fromtimestamp(started).astimezone()
            )
        }
        kind_of = {e.pk: kind for kind, _, e in targets}
        for message, endpoint_id in made.items():
            kinds[message] = kind_of[endpoint_id]
        wanted = {m for m, k in kinds.items() if k in ("fast", "slow")}
        deadline = time.monotonic() + args.timeout
        seen: dict[str, tuple[str, float, float]] = {}
        while time.monotonic() < deadline:
            for kind, message, at, arrived in receipts(log):
                seen.setdefault(message, (kind, at, arrived))
            if wanted <= seen.keys():
                break
            time.sleep(0.5)
        finished = time.time()
        rows = receipts(log)
    finally:
        for proc in procs:
            stop(proc)
        queues_purge(names)
    first = {}
    for kind, message, at, arrived in rows:
        first.setdefault(message, (kind, at, arrived))
    fast = [arrived - at for kind, at, arrived in first.values() if kind == "fast"]
    slow = [arrived - at for kind, at, arrived in first.values() if kind == "slow"]
    delivered = [arrived for kind, _, arrived in first.values() if kind in ("fast", "slow")]
    last = max(delivered) if delivered else finished
    fast_arrivals = [arrived for kind, _, arrived in first.values() if kind == "fast"]
    fast_last = max(fast_arrivals) if fast_arrivals else finished
    counts = {k: sum(1 for v in kinds.values() if v == k) for k in KINDS}
    result = {
        "name": name,
        "deliveries": counts,
        "raised_s": raised,
        "fast_delivered": len(fast),
        "slow_delivered": len(slow),
        "dead_requests": sum(1 for kind, *_ in rows if kind == "dead"),
        "complete": wanted <= {m for m in first},
        "throughput": len(delivered) / max(last - started, 1e-9),
        "fast_throughput": len(fast) / max(fast_last - started, 1e-9),
        "seconds": last - started,
        "fast_p50": statistics.median(fast) if fast else float("nan"),
        "fast_p99": percentile(fast, 99),
        "fast_max": max(fast) if fast else float("nan"),
        "slow_p50": statistics.median(slow) if slow else float("nan"),
        "attempts": DeliveryAttempt.objects.count(),
    }
    Delivery.objects.all().delete()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notifications", type=int, default=1000)
    parser.add_argument("--fast", type=int, default=14, help="fast receivers")
    parser.add_argument("--slow", type=int, default=3, help="slow receivers")
    parser.add_argument("--dead", type=int, default=3, help="dead receivers")
    parser.add_argument("--slow-seconds", type=float, default=2.0)
    parser.add_argument("--layout", choices=["lanes", "single"], default="lanes")
    parser.add_argument("--threads", type=int, default=16, help="the fast lane's threads")
    parser.add_argument("--slow-threads", type=int, default=32, help="the slow lane's threads")
    parser.add_argument("--timeout", type=float, default=120, help="seconds per scenario")
    parser.add_argument("--queue", default="liftoff-bench-notify")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--log", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve(json.loads(args.serve), args.slow_seconds, args.log)
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)

    log_dir = ROOT / "var" / "bench-notify"
    log_dir.mkdir(parents=True, exist_ok=True)
    os.environ.update(
        DJANGO_SETTINGS_MODULE="liftoff.settings",
        DATABASE_URL=args.database_url,
        DEBUG="0",
        SECRET_KEY="bench-notify-not-secret",
        ALLOWED_HOSTS=HOST,
        LIFTOFF_DATA_DIR=str(log_dir),
        LIFTOFF_QUEUE=args.queue,
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
    sys.path.insert(0, str(ROOT))
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    receivers = None
    log = log_dir / "receipts.log"
    results = []
    try:
        database_recreate(args.database_url)
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0)
        counts = {"fast": args.fast, "slow": args.slow, "dead": args.dead}
        receivers, ports = receivers_start(counts, args.slow_seconds, log)
        admin, targets = seed(ports)
        for name, with_dead in (("without dead receivers", False), ("with dead receivers", True)):
            print(f"{name} ...", flush=True)
            results.append(
                scenario(
                    name,
                    with_dead=with_dead,
                    targets=targets,
                    admin=admin,
                    args=args,
                    log=log,
                    log_dir=log_dir,
                )
            )
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        stop(receivers)
    layout = (
        f"one worker per lane ({args.threads} threads fast, {args.slow_threads} slow)"
        if args.layout == "lanes"
        else "one prefork worker of 2 processes on every queue"
    )
    header = (
        f"{datetime.now():%Y-%m-%d %H:%M}: {args.notifications} `release.shipped` events over "
        f"{args.fast} fast, {args.slow} slow ({args.slow_seconds:g} s) and {args.dead} dead "
        f"receivers on 127.0.0.1 (one endpoint each, events in turn); {layout}; "
        f"WEBHOOK_TIMEOUT_SECONDS={settings.WEBHOOK_TIMEOUT_SECONDS:g}, "
        f"WEBHOOK_FAST_SECONDS={getattr(settings, 'WEBHOOK_FAST_SECONDS', '-')}; "
        f"PostgreSQL, Redis; {os.cpu_count()} cores, load average before the bench {load}"
    )
    lines = [
        "| scenario | deliveries (fast/slow/dead) | events raised in s | fast delivered | "
        "slow delivered | dead requests | delivered/s (all) | delivered/s (fast) | "
        "fast p50 s | fast p99 s | fast max s |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        d = r["deliveries"]
        done = "" if r["complete"] else f" (stopped after {args.timeout:g} s)"
        lines.append(
            f"| {r['name']}{done} | {d['fast']}/{d['slow']}/{d['dead']} | {r['raised_s']:.1f} | "
            f"{r['fast_delivered']} | {r['slow_delivered']} | {r['dead_requests']} | "
            f"{r['throughput']:.1f} | {r['fast_throughput']:.1f} | {r['fast_p50']:.3f} | "
            f"{r['fast_p99']:.3f} | {r['fast_max']:.3f} |"
        )
    report = "\n".join(lines)
    if len(results) == 2 and results[0]["fast_p50"] > 0:
        without, with_ = results
        report += (
            f"\n\nFast receivers with the dead ones in the mix, against without: p50 "
            f"{with_['fast_p50'] / without['fast_p50']:.2f}×, p99 "
            f"{with_['fast_p99'] / without['fast_p99']:.2f}×."
        )
    print(f"\n{header}\n\n{report}\n")
    results_dir = ROOT / "bench" / "results"
    results_dir.mkdir(exist_ok=True)
    out = results_dir / f"notify-{datetime.now():%Y%m%d-%H%M%S}.md"
    out.write_text(f"{header}\n\n{report}\n")
    print(f"written to {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
