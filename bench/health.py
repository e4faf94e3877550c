"""Time the periodic health check against many endpoints on loopback.

1. Start N tiny HTTP endpoints on 127.0.0.1 (default 200): one subprocess, one threaded
   server per endpoint, each on its own port, answering `{"status": "ok", "version":
   "1.0.0"}` after an optional delay (`--delay-ms`, as a real service takes a moment).
2. Drop and re-create the PostgreSQL database `liftoff_bench_health` (it refuses a name
   without "bench"), migrate it, and give it one project with N / 5 environments, each
   with 5 health checks (expected 200 and `version` = the environment's current version,
   as the seed's checks do) and one verified deployment of 1.0.0.
3. Time `deployments.health.environments_check_health()` (what the worker's periodic task
   runs) `--rounds` times and print each round's seconds, with HEALTH_CHECK_CONCURRENCY.

The endpoints' process is stopped by its id in a `finally`. Only 127.0.0.1 is used. See
docs/performance.md.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # bench.common, and the project for Django

from bench.common import BenchError, database_recreate  # noqa: E402

BIN = ROOT / ".venv" / "bin"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/liftoff_bench_health"
HOST = "127.0.0.1"
CHECKS_PER_ENVIRONMENT = 5
VERSION = "1.0.0"


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


# --- The endpoints' process ----------------------------------------------------------------


def serve(count: int, delay_ms: int) -> int:
    """Start `count` servers on free ports, print their ports as one JSON line, serve."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    body = json.dumps({"status": "ok", "version": VERSION}).encode()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            if delay_ms:
                time.sleep(delay_ms / 1000)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    servers = [ThreadingHTTPServer((HOST, 0), Handler) for _ in range(count)]
    for server in servers:
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print(json.dumps([s.server_address[1] for s in servers]), flush=True)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    return 0


def endpoints_start(count: int, delay_ms: int) -> tuple[subprocess.Popen, list[int]]:
    proc = subprocess.Popen(
        [str(BIN / "python"), __file__, "--serve", str(count), "--delay-ms", str(delay_ms)],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    line = proc.stdout.readline()
    if not line:
        raise BenchError(f"the endpoints did not start (exit {proc.poll()})")
    return proc, json.loads(line)


def endpoints_stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


# --- The bench -----------------------------------------------------------------------------


def seed(ports: list[int]) -> int:
    from django.contrib.auth.models import User
    from django.utils import timezone

    from deployments.models import Deployment, Environment, HealthCheck
    from releases.models import Project, Release

    user = User.objects.create(username="bench-health")
    project = Project.objects.create(
        slug="bench-health", name="Bench health", repo_url="https://git.example.com/b.git"
    )
    release = Release.objects.create(
        project=project,
        version=VERSION,
        major=1,
        minor=0,
        patch=0,
        type="major",
        status="released",
        head_commit="0" * 40,
        created_by=user,
    )
    now = timezone.now()
    environments = 0
    for start in range(0, len(ports), CHECKS_PER_ENVIRONMENT):
        environments += 1
        environment = Environment.objects.create(
            project=project, name=f"env-{environments:03d}", order=environments
        )
        HealthCheck.objects.bulk_create(
            HealthCheck(
                environment=environment,
                url=f"http://{HOST}:{port}/healthz",
                json_field="version",
                json_value="{version}",
                timeout_seconds=5,
                order=i,
            )
            for i, port in enumerate(ports[start : start + CHECKS_PER_ENVIRONMENT])
        )
        Deployment.objects.create(
            environment=environment,
            release=release,
            strategy=environment.strategy,
            status="succeeded",
            version=VERSION,
            commit=release.head_commit,
            started_at=now,
            finished_at=now,
            verified=True,
            verified_at=now,
        )
    return environments


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=int, default=200)
    parser.add_argument("--delay-ms", type=int, default=0, help="each endpoint's pause")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve(args.serve, args.delay_ms)
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)

    os.environ.update(
        DJANGO_SETTINGS_MODULE="liftoff.settings",
        DATABASE_URL=args.database_url,
        DEBUG="0",
        SECRET_KEY="bench-health-not-secret",
        ALLOWED_HOSTS=HOST,
        LIFTOFF_DATA_DIR=str(ROOT / "var" / "bench-health"),
        LOG_LEVEL="WARNING",
    )
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
    sys.path.insert(0, str(ROOT))
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    proc = None
    try:
        database_recreate(args.database_url)
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command

        from deployments.health import environments_check_health

        call_command("migrate", interactive=False, verbosity=0)
        proc, ports = endpoints_start(args.endpoints, args.delay_ms)
        environments = seed(ports)
        seconds = []
        for _ in range(args.rounds):
            started = time.perf_counter()
            healthy = environments_check_health()
            seconds.append(time.perf_counter() - started)
            if not all(healthy.values()):
                from deployments.models import Environment

                bad = Environment.objects.filter(health="failing").first()
                raise BenchError(f"an environment failed its checks: {bad.health_detail}")
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        if proc is not None:
            endpoints_stop(proc)
    header = (
        f"{datetime.now():%Y-%m-%d %H:%M}: environments_check_health() on {args.endpoints} "
        f"endpoints of 127.0.0.1 ({environments} environments of {CHECKS_PER_ENVIRONMENT} "
        f"checks, each endpoint answering after {args.delay_ms} ms), "
        f"HEALTH_CHECK_CONCURRENCY={settings.HEALTH_CHECK_CONCURRENCY}, PostgreSQL; "
        f"{os.cpu_count()} cores, load average before the bench {load}"
    )
    rounds = ", ".join(f"{s:.2f}" for s in seconds)
    print(f"\n{header}\n\nseconds per round: {rounds}\n")
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    out = results / f"health-{datetime.now():%Y%m%d-%H%M%S}.md"
    out.write_text(f"{header}\n\nseconds per round: {rounds}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
