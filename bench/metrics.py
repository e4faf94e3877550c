"""Measure the metrics on a large history: the report's time beside the bare SQL of its
aggregates, and /metrics/ with wrk against the ceiling (docs/performance.md, "Metrics").

1. Create the bench database if it is missing (`DATABASE_URL`, default
   liftoff_bench_metrics), migrate it, collect static files.
2. Seed (idempotent) a project with a production environment and N deployments (default
   100,000: deploys with one to three commits each, some failed verification and rolled
   back, some hotfixes) spread over the last 90 days, and M incidents (default 10,000),
   written with bulk_create (the services' work is measured elsewhere).
3. In one process: compute the 90-day report (cache bypassed) 5 times; record the SQL it
   sends and run exactly those statements bare on a cursor 5 times; render /metrics/
   through Django's test client 5 times uncached and 5 times cached. Print the medians
   and the ratio of the report to its bare SQL (aim: at most 1.5).
4. Start the application and the ceiling under gunicorn (bench/pages.py's helpers), sign
   in, and run wrk on /metrics/ for the project over 90 days, on /metrics/ for all
   projects, and on the ceiling first and last; print the ratios (aim: at least 0.20).
"""

import argparse
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from datetime import datetime

import psycopg

from bench.pages import (
    CEILING,
    ROOT,
    BenchError,
    _interrupt,
    database_ensure,
    free_ports,
    gunicorn_start,
    gunicorn_stop,
    login,
    machine,
    manage,
    measure,
    server_env,
    table,
    wait_ready,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/liftoff_bench_metrics"
SLUG = "bench-metrics"
REPORT_AIM = 1.5
PAGE_AIM = 0.20

SEED = """
import os, random
from datetime import timedelta
from django.contrib.auth.models import Group, User
from django.utils import timezone
from deployments.models import Deployment, Environment
from deployments.services import environment_create
from incidents.models import Incident
from releases.models import Project, Release
from releases.services import project_create

random.seed(13)
user, _ = User.objects.get_or_create(username="bench", defaults={"email": "bench@localhost"})
user.set_password(os.environ["BENCH_PASSWORD"])
user.save()
user.groups.set([Group.objects.get(name="admin")])
project = Project.objects.filter(slug="%(slug)s").first()
if project is None:
    project = project_create(actor=user, slug="%(slug)s", name="Bench metrics",
                             repo_url="https://git.example.com/bench/metrics.git")
production = Environment.objects.filter(project=project, name="production").first()
if production is None:
    production, _ = environment_create(project=project, actor=user, name="production",
        order=2, phase="production", strategy="command", deploy_commands=[["true"]])
def release(version, kind):
    found = Release.objects.filter(project=project, version=version).first()
    if found:
        return found
    major, minor, patch = (int(p) for p in version.split("."))
    return Release.objects.create(project=project, version=version, major=major, minor=minor,
        patch=patch, type=kind, status="released", released_at=timezone.now())
planned, hotfix = release("1.0.0", "minor"), release("1.0.1", "hotfix")
want = int(os.environ["BENCH_DEPLOYMENTS"])
have = Deployment.objects.filter(environment=production).count()
now = timezone.now()
span = 90 * 86400
batch = []
for i in range(have, want):
    began = now - timedelta(seconds=span * (want - i) / want)
    failed = i %% 20 == 7
    committed = began - timedelta(hours=random.randint(1, 200))
    commits = [{"sha": f"c{i}-{k}", "committed_at": committed.isoformat()}
               for k in range(1 + i %% 3)]
    batch.append(Deployment(environment=production, release=hotfix if i %% 25 == 3 else planned,
        version="1.0.0", strategy="command", status="failed" if failed else "succeeded",
        verified=not failed, verification_failed=failed, started_at=began,
        finished_at=began + timedelta(minutes=random.randint(2, 30)),
        verified_at=None if failed else began + timedelta(minutes=30),
        new_commits=commits))
    if len(batch) == 5000:
        made = Deployment.objects.bulk_create(batch)
        pks = [d.pk for d in made]
        Deployment.objects.filter(pk__in=pks).update(created_at=models_F("started_at"))
        batch = []
if batch:
    made = Deployment.objects.bulk_create(batch)
    pks = [d.pk for d in made]
    Deployment.objects.filter(pk__in=pks).update(created_at=models_F("started_at"))
incidents = Incident.objects.filter(project=project).count()
wanted = int(os.environ["BENCH_INCIDENTS"])
if incidents < wanted:
    ids = list(Deployment.objects.filter(environment=production).order_by("pk")
               .values_list("pk", "started_at"))
    rows = []
    for n in range(incidents, wanted):
        pk, began = ids[(n * 10) %% len(ids)]
        opened = began + timedelta(hours=1)
        rows.append(Incident(project=project, environment=production, deployment_id=pk,
            severity="high", status="resolved", title=f"Bench {n}", opened_at=opened,
            started_at=opened, resolved_at=opened + timedelta(minutes=random.randint(5, 600))))
    Incident.objects.bulk_create(rows, batch_size=5000)
print("bench-deployments=" + str(Deployment.objects.filter(environment=production).count()))
print("bench-incidents=" + str(Incident.objects.filter(project=project).count()))
"""

MEASURE = """
import statistics, time
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.contrib.auth.models import User
from metrics.selectors import metrics_report, metrics_window
from metrics.services import metrics_version_bump
from releases.models import Project
from django.db import transaction
from datetime import timedelta
from django.utils import timezone

project = Project.objects.get(slug="%(slug)s")
window = metrics_window(since=timezone.localdate() - timedelta(days=89))
metrics_report(project=project, window=window)  # warm: plans, caches of the OS
with CaptureQueriesContext(connection) as captured:
    metrics_report(project=project, window=window)
statements = [q["sql"] for q in captured.captured_queries]

def timed(fn, times=5):
    found = []
    for _ in range(times):
        started = time.perf_counter()
        fn()
        found.append(time.perf_counter() - started)
    return statistics.median(found) * 1000

def bare():
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
            cursor.fetchall()

report_ms = timed(lambda: metrics_report(project=project, window=window))
bare_ms = timed(bare)
client = Client(HTTP_HOST="127.0.0.1")
client.force_login(User.objects.get(username="bench"))
url = f"/metrics/?project={project.slug}&since={window.since}&until={window.until}"
def uncached():
    with transaction.atomic():
        metrics_version_bump(project_id=project.pk)
    assert client.get(url).status_code == 200
page_ms = timed(uncached)
cached_ms = timed(lambda: client.get(url))
print(f"bench-statements={len(statements)}")
print(f"bench-report-ms={report_ms:.1f}")
print(f"bench-bare-ms={bare_ms:.1f}")
print(f"bench-page-ms={page_ms:.1f}")
print(f"bench-cached-ms={cached_ms:.1f}")
print(f"bench-since={window.since}")
print(f"bench-until={window.until}")
"""


def _value(name: str, text: str) -> str:
    found = re.search(rf"^bench-{name}=(.+)$", text, re.M)
    if not found:
        raise BenchError(f"no {name} in:\n{text[-2000:]}")
    return found.group(1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deployments", type=int, default=100_000)
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--duration", type=int, default=5, help="seconds of wrk per page")
    parser.add_argument("--warmup", type=int, default=1, help="seconds of warm-up per page")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    args = parser.parse_args()
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)

    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    data_dir = ROOT / "var" / "bench-metrics"
    data_dir.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(24)
    env = server_env(database_url, data_dir)
    procs: list[subprocess.Popen] = []
    try:
        started = time.monotonic()
        database_ensure(database_url)
        print("migrating, collecting static files, seeding ...", flush=True)
        manage(env, "migrate", "--noinput", "-v", "0")
        manage(env, "collectstatic", "--noinput", "-v", "0")
        seed = "from django.db.models import F as models_F\n" + SEED % {"slug": SLUG}
        seeded = manage(
            {
                **env,
                "BENCH_PASSWORD": password,
                "BENCH_DEPLOYMENTS": str(args.deployments),
                "BENCH_INCIDENTS": str(args.incidents),
            },
            "shell",
            "-c",
            seed,
        )
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
        deployments, incidents = _value("deployments", seeded), _value("incidents", seeded)
        print(f"{deployments} deployments, {incidents} incidents; measuring in process ...")
        measured = manage(env, "shell", "-c", MEASURE % {"slug": SLUG})
        statements = _value("statements", measured)
        report_ms, bare_ms = (
            float(_value("report-ms", measured)),
            float(_value("bare-ms", measured)),
        )
        page_ms, cached_ms = (
            float(_value("page-ms", measured)),
            float(_value("cached-ms", measured)),
        )
        since, until = _value("since", measured), _value("until", measured)
        ratio = report_ms / bare_ms if bare_ms else 0

        app_port, ceiling_port = free_ports(2)
        app_log = data_dir / "gunicorn-app.log"
        ceiling_log = data_dir / "gunicorn-ceiling.log"
        ceiling_env = {**env, "DJANGO_SETTINGS_MODULE": "bench.ceiling_settings"}
        procs.append(gunicorn_start(env, "liftoff.wsgi", app_port, args.workers, app_log))
        procs.append(
            gunicorn_start(ceiling_env, "liftoff.wsgi", ceiling_port, args.workers, ceiling_log)
        )
        wait_ready(procs[0], app_port, "/healthz", app_log)
        wait_ready(procs[1], ceiling_port, "/ceiling", ceiling_log)
        cookie = login(app_port, password)
        ceiling_label, ceiling_path, _, _ = CEILING
        first = measure(f"{ceiling_label}, first", ceiling_port, ceiling_path, cookie, args)
        results = [
            measure(
                "/metrics/ (project, 90 days)",
                app_port,
                f"/metrics/?project={SLUG}&since={since}&until={until}",
                cookie,
                args,
            ),
            measure(
                "/api/v1/metrics/ (project, 90 days)",
                app_port,
                f"/api/v1/metrics/?project={SLUG}&since={since}&until={until}",
                cookie,
                args,
            ),
            measure("/metrics/ (all, 30 days)", app_port, "/metrics/", cookie, args),
        ]
        last = measure(f"{ceiling_label}, last", ceiling_port, ceiling_path, cookie, args)
        ceiling_rps = (first.requests_per_s + last.requests_per_s) / 2
        page_ratio = results[0].requests_per_s / ceiling_rps if ceiling_rps else 0
        header = (
            f"{datetime.now():%Y-%m-%d %H:%M}: {deployments} deployments, {incidents} "
            f"incidents, PostgreSQL; {machine()}.\n\n"
            f"In process, 90 days of one project, medians of 5: the report "
            f"{report_ms:.1f} ms, its {statements} statements run bare {bare_ms:.1f} ms "
            f"(ratio {ratio:.2f}, aim ≤ {REPORT_AIM}: "
            f"{'met' if ratio <= REPORT_AIM else 'missed'}); the page /metrics/ rendered "
            f"uncached {page_ms:.1f} ms, cached {cached_ms:.1f} ms.\n\n"
            f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s, gunicorn "
            f"{args.workers} sync workers, DEBUG=0: /metrics/ keeps {page_ratio:.2f} of the "
            f"ceiling (aim ≥ {PAGE_AIM}: {'met' if page_ratio >= PAGE_AIM else 'missed'}); "
            f"the report is cached under the figures' version, so this is the steady state "
            f"between changes."
        )
        report = table([*results, first, last], ceiling_rps, {})
        print(f"\n{header}\n\n{report}\n")
        out_dir = ROOT / "bench" / "results"
        out_dir.mkdir(exist_ok=True)
        out = out_dir / f"metrics-{datetime.now():%Y%m%d-%H%M%S}.md"
        out.write_text(f"{header}\n\n{report}\n")
        print(f"written to {out.relative_to(ROOT)} in {time.monotonic() - started:.0f} s")
        return 0
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        for proc in procs:
            gunicorn_stop(proc)


if __name__ == "__main__":
    sys.exit(main())
