"""Measure Liftoff's pages with wrk against gunicorn on PostgreSQL (`make bench`).

1. Create the bench database if it is missing, migrate it, collect static files.
2. Give it a user with the admin role, a few projects (through the real service), a
   release in validation with the default gates and checklists, and
   some runs: one running with 6 steps and 200 log chunks, whose live-progress fragment
   is measured as htmx polls it (in full, and unchanged: the poll sends the version it
   shows and gets 204), and finished ones to fill the first page of /runs/.
3. Start two gunicorns on loopback with production settings: the application, and a
   ceiling server whose only view returns "ok" through the same settings and middleware.
4. Sign in, check that every page answers 200, then run wrk on each page and print a
   Markdown table (also written to bench/results/, which git ignores).

Both gunicorns are stopped by their process id whatever happens (error, Ctrl-C, SIGTERM).
Only 127.0.0.1 is used. See docs/performance.md.
"""

import argparse
import http.client
import os
import platform
import re
import secrets
import signal
import socket
import string
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/liftoff_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
HOST = "127.0.0.1"
BENCH_USER = "bench"

HTMX = {"HX-Request": "true"}
# The dashboard by role: each of these users (and `bench`, an admin) signs in with the
# same password and is measured on `/` and on the cards of their own work, which `/`
# loads with htmx once it shows (`/dashboard/cards/`). The release manager manages
# MANAGED_RELEASES releases in flight, each with its gates and checklists.
ROLE_USERS = {
    "release manager": "bench-manager",
    "approver": "bench-approver",
    "stakeholder": "bench-stakeholder",
    "admin": BENCH_USER,
}
MANAGED_RELEASES = 20
# (label, path, who signs in, extra headers): who is True for `bench` (an admin), a
# username, or False. /healthz is measured as a monitor calls it: with no cookie.
# `{release}` is the seeded release in validation. `{run}` is the id of the seeded
# running run; its progress fragment is measured as htmx polls it (without HX-Request the
# view redirects to the run's page).
PAGES = [
    ("/", "/", True, {}),  # the admin's (`bench`)
    *[
        page
        for role, username in ROLE_USERS.items()
        for page in (
            *([(f"/ ({role})", "/", username, {})] if username != BENCH_USER else []),
            (f"/dashboard/cards/ ({role})", "/dashboard/cards/", username, HTMX),
        )
    ],
    ("/releases/", "/releases/", True, {}),
    ("/projects/", "/projects/", True, {}),
    ("/api/v1/projects/", "/api/v1/projects/", True, {}),
    ("/healthz", "/healthz", False, {}),
    ("/releases/<id>/", "/releases/{release}/", True, {}),
    ("/runs/", "/runs/", True, {}),
    ("/runs/<id>/", "/runs/{run}/", True, {}),
    ("/deployments/", "/deployments/", True, {}),
    ("/deployments/<project>/<env>/", "/deployments/bench-01/production/", True, {}),
    ("/deployments/<id>/", "/deployments/{deployment}/", True, {}),
    ("/incidents/", "/incidents/", True, {}),
    ("/incidents/<id>/", "/incidents/{incident}/", True, {}),
    ("/runs/<id>/progress/ (htmx)", "/runs/{run}/progress/", True, HTMX),
]
# The progress fragment of the running deployment's run, as its deployment page polls it
# (unchanged: 204), measured right after the run's, against the same ceiling around them.
DEPLOYMENT_UNCHANGED_LABEL = "deployment's run fragment, unchanged (204)"
CEILING = ("ceiling (no-op view)", "/ceiling", True, {})
# The aim for the progress fragment, polled every second by every open run page. It is
# measured last, between two ceiling runs of its own, so that its ratio holds even when
# the machine's load changes during the bench.
PROGRESS_LABEL = PAGES[-1][0]
# The steady state of a watched run: most polls see no change. Measured right after the
# full fragment, with the version a browser holding the latest state sends (hx-vals).
PROGRESS_UNCHANGED_LABEL = "progress fragment, unchanged (204)"
PROGRESS_AIM = 0.50
# The ceiling is measured first and last; if the two differ by more than this, something
# else was using the CPUs and the ratios are not to be trusted.
CEILING_DRIFT_WARN = 0.15

# Run by `manage.py shell -c`: idempotent, so a second bench reuses the same rows. Prints
# the id of the running run last ("bench-run=<id>").
SEED = """
import os
from datetime import timedelta
from django.contrib.auth.models import Group, User
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from releases.models import Project
from releases.services import project_create
from runs.models import LogChunk, Run, Step

user, _ = User.objects.get_or_create(username="bench", defaults={"email": "bench@localhost"})
user.set_password(os.environ["BENCH_PASSWORD"])
user.save()
user.groups.set([Group.objects.get(name="admin")])
# One user a role for the dashboard by role, with the same password.
role_users = {}
for role in ("release_manager", "approver", "stakeholder"):
    name = "bench-" + {"release_manager": "manager"}.get(role, role)
    role_users[role], _ = User.objects.get_or_create(
        username=name, defaults={"email": f"{name}@localhost"}
    )
    role_users[role].set_password(os.environ["BENCH_PASSWORD"])
    role_users[role].save()
    role_users[role].groups.set([Group.objects.get(name=role)])
for i in range(1, int(os.environ["BENCH_PROJECTS"]) + 1):
    slug = f"bench-{i:02d}"
    if not Project.objects.filter(slug=slug).exists():
        project_create(
            actor=user,
            slug=slug,
            name=f"Bench project {i:02d}",
            repo_url=f"https://git.example.com/bench/{slug}.git",
            version_files=["pyproject.toml"],
            codename_pool=["Andromeda", "Betelgeuse", "Cassiopeia"],
        )

# Runs are written with the ORM, not run_create: nothing is dispatched to a broker (no
# worker runs here), and no lock is taken on the projects' mirrors.
project = Project.objects.get(slug="bench-01")
subject = {"subject_type": ContentType.objects.get_for_model(Project), "subject_id": project.pk}
now = timezone.now()
finished = Run.objects.filter(params__bench="finished").count()
for i in range(finished, int(os.environ["BENCH_FINISHED_RUNS"])):
    start = now - timedelta(minutes=5 * (i + 1))
    failed = i % 7 == 3
    done = Run.objects.create(
        kind="project.sync", scope=project.slug, params={"bench": "finished"},
        status="failed" if failed else "succeeded", requested_by=user, started_at=start,
        finished_at=start + timedelta(seconds=4 + i % 9), worker="bench@localhost",
        error="git exited with 128: fatal: unable to access the remote" if failed else "",
        **subject,
    )
    Run.objects.filter(pk=done.pk).update(created_at=start)
run = Run.objects.filter(params__bench="running").first()
if run is None:
    run = Run.objects.create(
        kind="project.sync", scope=project.slug, params={"bench": "running"}, requested_by=user,
        **subject,
    )
    names = ["Prepare the mirror", "Fetch the remote", "Record branches and tags",
             "Check the version files", "Build the changelog", "Tag the release"]
    steps = Step.objects.bulk_create(
        Step(run=run, order=i, key=f"step{i}", name=name) for i, name in enumerate(names)
    )
    for i, step in enumerate(steps[:3]):
        step.status = "succeeded"
        step.started_at = now - timedelta(seconds=60 - 10 * i)
        step.finished_at = step.started_at + timedelta(seconds=9)
        step.summary = f"12 branches, 40 tags (0 new, {i} moved, 0 gone)"
        step.save()
    steps[3].status, steps[3].started_at = "running", now - timedelta(seconds=30)
    steps[3].save()
    line = "remote: Counting objects: 100% (4242/4242), done. Resolving deltas:  17% (9/53)"
    LogChunk.objects.bulk_create(
        LogChunk(run=run, step=steps[min(seq // 60, 3)], seq=seq,
                 text="".join(f"{seq:03d}.{n} {line}\\n" for n in range(5)))
        for seq in range(200)
    )
# Whatever happened to it since (a reaper, a test), it is running again, as if beating.
Run.objects.filter(pk=run.pk).update(
    status="running", started_at=now - timedelta(seconds=60), heartbeat_at=now,
    finished_at=None, error="", cancel_requested_at=None, worker="bench@localhost",
    log_size=sum(len(t) for t in LogChunk.objects.filter(run=run).values_list("text", flat=True)),
)
# A release in validation with the default gates and checklists (the projects' hooks
# installed them), its head measured by nothing yet: the release page as a release
# manager drives it, with what is left before ready.
from releases.models import Release
from releases.services import release_create

release = Release.objects.filter(project=project, version="1.0.0").first()
if release is None:
    # Planning needs a synced project; the bench has no remote, so it is marked synced.
    Project.objects.filter(pk=project.pk).update(last_synced_at=now)
    project.refresh_from_db()
    release = release_create(
        actor=user, project=project, release_type="major", version="1.0.0",
        codename="Andromeda", release_manager=user,
    )
Release.objects.filter(pk=release.pk).update(
    status="validating", head_commit="0123456789abcdef0123456789abcdef01234567",
    prepared_at=now, branch="release/v1.0.0-andromeda", tag="v1.0.0",
)
print(f"bench-release={release.pk}")
print(f"bench-run={run.pk}")

# Deployments: staging and production in three projects, five released versions each,
# BENCH_DEPLOYMENTS rows in all (bulk_create: no run, no audit, as history left them),
# newest first a minute apart, most succeeded and a third of those verified, a few
# failed or rollbacks; and one deployment running on bench-01's production with its run
# (the deployment kind's 6 steps, the first two done, 40 log chunks), whose page polls
# the run's progress fragment.
from deployments.models import Deployment, Environment
from deployments.run_kinds import DEPLOYMENT

environments = []
for slug in ("bench-01", "bench-02", "bench-03"):
    p = Project.objects.get(slug=slug)
    for order, name in enumerate(("staging", "production"), 1):
        environments.append(Environment.objects.get_or_create(
            project=p, name=name,
            defaults={"phase": name, "order": order, "deploy_commands": [["true"]]},
        )[0])
    for minor in range(1, 6):
        Release.objects.get_or_create(
            project=p, version=f"0.{minor}.0",
            defaults={"major": 0, "minor": minor, "patch": 0, "type": "minor",
                      "status": "released", "head_commit": f"{minor:040x}",
                      "created_by": user, "released_at": now},
        )
releases = {p: list(Release.objects.filter(project_id=p, status="released"))
            for p in {e.project_id for e in environments}}
wanted = int(os.environ["BENCH_DEPLOYMENTS"])
have = Deployment.objects.filter(environment__in=environments).exclude(status="running").count()
rows = []
for i in range(have, wanted):
    environment = environments[i % len(environments)]
    release = releases[environment.project_id][(i // len(environments)) % 5]
    at = now - timedelta(minutes=i + 1)
    failed, rollback = i % 11 == 5, i % 29 == 7
    rows.append(Deployment(
        environment=environment, release=release, strategy=environment.strategy,
        kind="rollback" if rollback else "deploy", status="failed" if failed else "succeeded",
        version=release.version, commit=release.head_commit, requested_by=user,
        started_at=at, finished_at=at + timedelta(seconds=40),
        verified=not failed and (i // len(environments)) % 3 == 0,
        verified_at=None if failed else at,
        error="deploy command exited with 1" if failed else "",
        new_commits=[{"sha": release.head_commit, "committed_at": at.isoformat()}],
    ))
made = Deployment.objects.bulk_create(rows, batch_size=2000)
# auto_now_add stamped them all now: spread them back in time, as they happened.
if made:
    from django.db import connection
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE deployments_deployment SET created_at = started_at "
            "WHERE id >= %s AND id <= %s", [made[0].pk, made[-1].pk],
        )
        # What autovacuum would do after such a load: the planner's statistics.
        cursor.execute("ANALYZE deployments_deployment")
production = environments[1]
active = Deployment.objects.filter(environment=production, status="running").first()
if active is None:
    release = releases[production.project_id][-1]
    deploy_run = Run.objects.create(
        kind=DEPLOYMENT.name, scope=production.project.slug, params={"bench": "deployment"},
        requested_by=user, subject_type=ContentType.objects.get_for_model(Deployment),
        subject_id="0",
    )
    steps = Step.objects.bulk_create(
        Step(run=deploy_run, order=i, key=s.key, name=s.name)
        for i, s in enumerate(DEPLOYMENT.steps)
    )
    for i, step in enumerate(steps[:2]):
        step.status, step.summary = "succeeded", "done"
        step.started_at, step.finished_at = now - timedelta(seconds=30 - 10 * i), now
        step.save()
    steps[2].status, steps[2].started_at = "running", now - timedelta(seconds=10)
    steps[2].save()
    LogChunk.objects.bulk_create(
        LogChunk(run=deploy_run, step=steps[2], seq=seq, text=f"deploying {seq}\\n")
        for seq in range(40)
    )
    active = Deployment.objects.create(
        environment=production, release=release, strategy=production.strategy,
        status="running", version=release.version, commit=release.head_commit,
        requested_by=user, started_at=now, run=deploy_run,
    )
    Run.objects.filter(pk=deploy_run.pk).update(subject_id=str(active.pk))
Run.objects.filter(pk=active.run_id).update(
    status="running", started_at=now - timedelta(seconds=30), heartbeat_at=now,
    finished_at=None, error="", cancel_requested_at=None, worker="bench@localhost",
    log_size=sum(len(t) for t in LogChunk.objects.filter(run_id=active.run_id)
                 .values_list("text", flat=True)),
)
print(f"bench-deployment={active.pk}")
print(f"bench-deployment-run={active.run_id}")

# Incidents: BENCH_INCIDENTS over the six environments (bulk_create, as history left
# them: no audit, no event), newest first ten minutes apart, each about the deployment
# before it; most resolved, one in 13 breached, the newest few still open. One (the
# newest high one) has a timeline of 20 entries and a postmortem, for the incident page.
from incidents.models import EntryKind, Incident, IncidentEntry

wanted = int(os.environ["BENCH_INCIDENTS"])
have = Incident.objects.filter(title__startswith="Bench incident").count()
deployments = {
    e.pk: list(Deployment.objects.filter(environment=e).exclude(status="running")
               .order_by("-started_at").values_list("pk", flat=True)[:50])
    for e in environments
}
severities = ["low", "medium", "medium", "high", "low", "critical", "medium", "high"]
respond = {"critical": 15, "high": 60, "medium": 240, "low": None}
rows = []
for i in range(have, wanted):
    environment = environments[i % len(environments)]
    severity = severities[i % len(severities)]
    at = now - timedelta(minutes=10 * (i + 1))
    # The newest ones are still open, except critical ones on production (no banner).
    unresolved = i < 12 and not (severity == "critical" and environment.phase == "production")
    minutes = respond[severity]
    rows.append(Incident(
        project_id=environment.project_id, environment=environment, severity=severity,
        status="open" if unresolved else "resolved",
        title=f"Bench incident {i}: checkout answers 500 on {environment.name}",
        description="p95 at 4 s, errors at 3 %",
        deployment_id=(deployments[environment.pk] or [None])[(i // 6) % 50],
        source="ui", opened_by=user, opened_at=at, started_at=at - timedelta(minutes=3),
        acknowledged_at=None if unresolved else at + timedelta(minutes=5),
        acknowledged_by=None if unresolved else user,
        resolved_at=None if unresolved else at + timedelta(minutes=45),
        resolved_by=None if unresolved else user,
        summary="" if unresolved else "Rolled back; the cache key was wrong.",
        respond_by=at + timedelta(minutes=minutes) if minutes else None,
        breached=i % 13 == 4,
    ))
Incident.objects.bulk_create(rows, batch_size=2000)
if rows:
    from django.db import connection
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE incidents_incident")
detailed = (Incident.objects.filter(title__startswith="Bench incident", severity="high")
            .order_by("-opened_at").first())
if detailed is not None and not detailed.entries.exists():
    kinds = [EntryKind.OPENED, EntryKind.ACKNOWLEDGED, *[EntryKind.NOTE] * 16,
             EntryKind.MITIGATED, EntryKind.RESOLVED]
    IncidentEntry.objects.bulk_create(
        IncidentEntry(incident=detailed, kind=kind, actor=user, actor_label="bench",
                      text=f"Step {n}: looked at the dashboards, the error rate is {n} %",
                      at=detailed.opened_at + timedelta(minutes=n))
        for n, kind in enumerate(kinds)
    )
    Incident.objects.filter(pk=detailed.pk).update(
        postmortem="## What happened\\n\\nThe cache key was wrong.\\n\\n- detect\\n- fix\\n"
    )
print(f"bench-incident={detailed.pk if detailed else 0}")

# The release manager's own work: BENCH_MANAGED releases in flight over the projects
# (planned through release_create, so each has its gates and checklists), spread over
# the phases, the later ones prepared with a head; and retrospective action items of a
# shipped release that they own.
from releases.models import ActionItem

manager = role_users["release_manager"]
phases = ["planned", "preparing", "validating", "ready", "staging", "production"]
projects = list(Project.objects.filter(slug__startswith="bench-").order_by("slug"))
for i in range(int(os.environ["BENCH_MANAGED"])):
    project = projects[i % len(projects)]
    version = f"2.{i}.0"
    managed = Release.objects.filter(project=project, version=version).first()
    if managed is None:
        Project.objects.filter(pk=project.pk).update(last_synced_at=now)
        project.refresh_from_db()
        managed = release_create(
            actor=user, project=project, release_type="minor", version=version,
            codename="Betelgeuse", release_manager=manager,
        )
    status = phases[i % len(phases)]
    head = f"{0xbe0000 + i:040x}" if status not in ("planned", "preparing") else ""
    Release.objects.filter(pk=managed.pk).update(
        status=status, head_commit=head, prepared_at=now if head else None,
        branch=f"release/v{version}-betelgeuse", tag=f"v{version}",
        target_date=(now + timedelta(days=i - 5)).date(),
    )
shipped = Release.objects.filter(project=projects[0], version="0.5.0").first()
if shipped is not None and not ActionItem.objects.filter(owner=manager).exists():
    ActionItem.objects.bulk_create(
        ActionItem(release=shipped, title=f"Bench action {n}", owner=manager,
                   due_date=(now + timedelta(days=n - 2)).date(), created_by=user)
        for n in range(8)
    )
"""


class BenchError(Exception):
    pass


@dataclass
class Result:
    label: str
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: str


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def free_ports(count: int) -> list[int]:
    """Ports the OS says are free; all held open until chosen, so they differ."""
    socks = [socket.socket() for _ in range(count)]
    try:
        for sock in socks:
            sock.bind((HOST, 0))
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def database_ensure(url: str) -> None:
    """Create the database named in `url` if it does not exist (never drops anything)."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name:
        raise BenchError(f"DATABASE_URL {url!r} names no database.")
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True, connect_timeout=5) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"created database {name}")


def server_env(database_url: str, data_dir: Path) -> dict[str, str]:
    """Production settings (DEBUG off), plain HTTP on loopback."""
    alphabet = string.ascii_letters + string.digits + "!@#%^&*(-_=+)"
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "liftoff.settings",
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": database_url,
        "REDIS_URL": os.environ.get("REDIS_URL", DEFAULT_REDIS_URL),
        "LIFTOFF_DATA_DIR": str(data_dir),
        "LIFTOFF_QUEUE": "liftoff-bench",
        "DEBUG": "0",
        "SECRET_KEY": "".join(secrets.choice(alphabet) for _ in range(50)),
        "ALLOWED_HOSTS": HOST,
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "SECURE_HSTS_SECONDS": "0",
        "LOG_LEVEL": "WARNING",
    }


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [str(BIN / "python"), "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        raise BenchError(f"manage.py {args[0]} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def gunicorn_start(env: dict[str, str], app: str, port: int, workers: int, log: Path):
    with log.open("w") as out:
        # Its own session: a Ctrl-C reaches only this script, which then stops it by pid.
        return subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                app,
                "--bind",
                f"{HOST}:{port}",
                "--workers",
                str(workers),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def gunicorn_stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def request(port: int, method: str, path: str, headers=None, body=None):
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        conn.close()


def wait_ready(proc: subprocess.Popen, port: int, path: str, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"gunicorn on port {port} exited:\n{log.read_text()[-3000:]}")
        try:
            request(port, "GET", path)
            return
        except OSError:
            time.sleep(0.2)
    raise BenchError(f"gunicorn on port {port} did not answer in 30 s:\n{log.read_text()[-3000:]}")


def cookies(headers) -> dict[str, str]:
    found = {}
    for name, value in headers:
        if name.lower() == "set-cookie":
            key, _, rest = value.partition("=")
            found[key.strip()] = rest.split(";", 1)[0]
    return found


def login(port: int, password: str, username: str = BENCH_USER) -> str:
    """Sign in as `username` through the real login form; returns the sessionid cookie."""
    status, headers, body = request(port, "GET", "/accounts/login/")
    if status != 200:
        raise BenchError(f"GET /accounts/login/ answered {status}")
    csrf_cookie = cookies(headers).get("csrftoken")
    match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)
    if not csrf_cookie or not match:
        raise BenchError("the login page set no csrftoken cookie or has no CSRF field")
    form = {
        "username": username,
        "password": password,
        "csrfmiddlewaretoken": match.group(1).decode(),
    }
    status, headers, body = request(
        port,
        "POST",
        "/accounts/login/",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={csrf_cookie}",
            "Referer": f"http://{HOST}:{port}/accounts/login/",
        },
        body=urlencode(form),
    )
    session = cookies(headers).get("sessionid")
    if status != 302 or not session:
        raise BenchError(f"login failed: {status}, no session cookie\n{body[:500]!r}")
    return session


def check_ok(
    port: int, path: str, cookie: str | None, headers: dict[str, str], expect: int = 200
) -> None:
    headers = {**headers, **({"Cookie": f"sessionid={cookie}"} if cookie else {})}
    status, response_headers, body = request(port, "GET", path, headers=headers)
    if status != expect:
        location = dict(response_headers).get("Location")
        where = f" (to {location})" if location else ""
        raise BenchError(
            f"GET {path} answered {status}{where} instead of {expect}; not measuring.\n"
            f"{body[:500].decode(errors='replace')}"
        )


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text).groups()
    return float(number) * _UNITS_MS[unit]


def wrk_parse(label: str, output: str) -> Result:
    try:
        rps = float(re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M).group(1))
        p50 = _ms(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1))
        p99 = _ms(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1))
        requests = int(re.search(r"^\s+(\d+) requests in", output, re.M).group(1))
    except AttributeError:
        raise BenchError(f"could not read wrk's output for {label}:\n{output}") from None
    problems = [
        line.strip()
        for line in output.splitlines()
        if line.strip().startswith(("Non-2xx", "Socket errors"))
    ]
    return Result(label, rps, p50, p99, requests, "; ".join(problems))


def wrk(port: int, path: str, cookie: str | None, headers, args, seconds: int) -> str:
    command = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{seconds}s", "--latency"]
    if cookie:
        command += ["-H", f"Cookie: sessionid={cookie}"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    command.append(f"http://{HOST}:{port}{path}")
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 30)
    if done.returncode != 0:
        raise BenchError(f"wrk failed on {path}:\n{done.stdout}{done.stderr}")
    return done.stdout


def measure(label, port, path, cookie, args, headers=None, expect=200) -> Result:
    headers = headers or {}
    check_ok(port, path, cookie, headers, expect)
    if args.warmup:
        wrk(port, path, cookie, headers, args, args.warmup)
    result = wrk_parse(label, wrk(port, path, cookie, headers, args, args.duration))
    # wrk counts a redirect as a success: make sure the page still answers 200 after.
    check_ok(port, path, cookie, headers, expect)
    print(f"  {label:<28} {result.requests_per_s:8.1f} req/s", flush=True)
    return result


def progress_version(port: int, path: str, cookie: str) -> str:
    """The version the progress fragment carries now, as a browser reads it from hx-vals."""
    status, _, body = request(port, "GET", path, headers={**HTMX, "Cookie": f"sessionid={cookie}"})
    found = re.search(rb"""hx-vals='\{"v": "([0-9a-f]+)"\}'""", body)
    if status != 200 or not found:
        raise BenchError(f"GET {path} answered {status} with no version to send back")
    return found.group(1).decode()


def measure_unchanged(
    port: int, path: str, cookie: str, args, label: str = PROGRESS_UNCHANGED_LABEL
) -> Result:
    """The fragment polled with the version it shows now: 204 as long as nothing changes.
    The version includes the run's "X ago" text, which can move while wrk runs (then the
    check after the run fails): measure once more with the new version."""
    for attempt in range(2):
        current = f"{path}?{urlencode({'v': progress_version(port, path, cookie)})}"
        try:
            return measure(label, port, current, cookie, args, HTMX, 204)
        except BenchError:
            if attempt:
                raise
            print("  the version moved during the measurement; once more", flush=True)
    raise AssertionError("unreachable")


def table(results: list[Result], ceiling_rps: float, own_ceiling: dict[str, float]) -> str:
    """`own_ceiling`: pages whose ratio is to a ceiling of their own (label: requests/s)."""
    lines = [
        "| page | requests/s | p50 ms | p99 ms | ratio to ceiling |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in results:
        ceiling = own_ceiling.get(r.label, ceiling_rps)
        ratio = r.requests_per_s / ceiling if ceiling else 0
        note = f" ({r.errors})" if r.errors else ""
        lines.append(
            f"| `{r.label}`{note} | {r.requests_per_s:.1f} | {r.p50_ms:.2f} | "
            f"{r.p99_ms:.2f} | {ratio:.2f} |"
        )
    return "\n".join(lines)


def _progress_summary(results, around: float, before: Result, last: Result) -> str:
    """What the table's header says of the progress fragment's three rows."""
    progress, unchanged = (
        next(r for r in results if r.label == label)
        for label in (PROGRESS_LABEL, PROGRESS_UNCHANGED_LABEL)
    )
    progress_ratio = progress.requests_per_s / around if around else 0
    unchanged_ratio = unchanged.requests_per_s / around if around else 0
    verdict = "meets" if unchanged_ratio >= PROGRESS_AIM else "misses"
    return (
        f"\n\nThe progress fragment, polled as a watched run mostly is (nothing changed: "
        f"204), keeps {unchanged_ratio:.2f} of the ceiling measured just before and after "
        f"it ({around:.1f} requests/s; the ceiling moved by "
        f"{abs(before.requests_per_s - last.requests_per_s) / around:.0%} across it): "
        f"it {verdict} the aim of {PROGRESS_AIM:.2f}. Rendered in full (a change, or a "
        f"first poll) it keeps {progress_ratio:.2f}."
    )


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, "
        f"load average before the bench {load}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=5, help="seconds of wrk per page")
    parser.add_argument("--warmup", type=int, default=1, help="seconds of warm-up per page")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--projects", type=int, default=12, help="projects in the bench data")
    parser.add_argument(
        "--finished-runs", type=int, default=30, help="finished runs in the bench data"
    )
    parser.add_argument(
        "--deployments", type=int, default=10_000, help="deployments in the bench data"
    )
    parser.add_argument("--incidents", type=int, default=10_000, help="incidents in the bench data")
    parser.add_argument(
        "--managed",
        type=int,
        default=MANAGED_RELEASES,
        help="releases in flight managed by the bench's release manager",
    )
    parser.add_argument(
        "--only",
        action="append",
        metavar="LABEL",
        help="measure only the pages with this label (repeatable, e.g. --only /incidents/), "
        "between the two ceiling runs: a shorter bench drifts less on a busy machine",
    )
    args = parser.parse_args()
    # Also when started in the background, where SIGINT would otherwise be ignored.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)

    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    data_dir = ROOT / "var" / "bench"
    results_dir = ROOT / "bench" / "results"
    data_dir.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(24)
    env = server_env(database_url, data_dir)
    procs: list[subprocess.Popen] = []
    host = machine()
    try:
        started = time.monotonic()
        database_ensure(database_url)
        print("migrating, collecting static files, seeding ...", flush=True)
        manage(env, "migrate", "--noinput", "-v", "0")
        manage(env, "collectstatic", "--noinput", "-v", "0")
        seeded = manage(
            {
                **env,
                "BENCH_PASSWORD": password,
                "BENCH_PROJECTS": str(args.projects),
                "BENCH_FINISHED_RUNS": str(args.finished_runs),
                "BENCH_DEPLOYMENTS": str(args.deployments),
                "BENCH_INCIDENTS": str(args.incidents),
                "BENCH_MANAGED": str(args.managed),
            },
            "shell",
            "-c",
            SEED,
        )
        found = re.search(r"^bench-run=(\d+)$", seeded, re.M)
        release = re.search(r"^bench-release=(\d+)$", seeded, re.M)
        if not found or not release:
            raise BenchError(f"the seed printed no run or release id:\n{seeded[-2000:]}")
        deployment = re.search(r"^bench-deployment=(\d+)$", seeded, re.M)
        deployment_run = re.search(r"^bench-deployment-run=(\d+)$", seeded, re.M)
        if not deployment or not deployment_run:
            raise BenchError(f"the seed printed no deployment:\n{seeded[-2000:]}")
        incident = re.search(r"^bench-incident=(\d+)$", seeded, re.M)
        if not incident or incident.group(1) == "0":
            raise BenchError(f"the seed printed no incident:\n{seeded[-2000:]}")
        ids = {
            "run": found.group(1),
            "release": release.group(1),
            "deployment": deployment.group(1),
            "incident": incident.group(1),
        }
        deployment_fragment = f"/runs/{deployment_run.group(1)}/progress/"
        pages = [
            (label, path.format(**ids), signed_in, headers)
            for label, path, signed_in, headers in PAGES
            if not args.only or label in args.only
        ]
        if not pages:
            raise BenchError(f"no page is labelled {args.only}: {[p[0] for p in PAGES]}")

        app_port, ceiling_port = free_ports(2)
        app_log, ceiling_log = data_dir / "gunicorn-app.log", data_dir / "gunicorn-ceiling.log"
        ceiling_env = {**env, "DJANGO_SETTINGS_MODULE": "bench.ceiling_settings"}
        procs.append(gunicorn_start(env, "liftoff.wsgi", app_port, args.workers, app_log))
        procs.append(
            gunicorn_start(ceiling_env, "liftoff.wsgi", ceiling_port, args.workers, ceiling_log)
        )
        wait_ready(procs[0], app_port, "/healthz", app_log)
        wait_ready(procs[1], ceiling_port, "/ceiling", ceiling_log)
        cookie = login(app_port, password)
        # A session per user the pages sign in as (True: `bench`).
        sessions = {True: cookie, False: None}
        for _, _, who, _ in pages:
            if who not in sessions:
                sessions[who] = login(app_port, password, who)

        print(
            f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s against "
            f"{args.workers} gunicorn workers; {host}",
            flush=True,
        )
        # Every page is checked before any is measured, so a broken one fails fast.
        for _, path, who, headers in pages:
            check_ok(app_port, path, sessions[who], headers)
        ceiling_label, ceiling_path, _, _ = CEILING
        first = measure(f"{ceiling_label}, first", ceiling_port, ceiling_path, cookie, args)
        results = []
        for label, path, who, headers in pages:
            if label == PROGRESS_LABEL:
                before = measure(
                    f"{ceiling_label}, before the fragment",
                    ceiling_port,
                    ceiling_path,
                    cookie,
                    args,
                )
            results.append(measure(label, app_port, path, sessions[who], args, headers))
            if label == PROGRESS_LABEL:
                results.append(measure_unchanged(app_port, path, cookie, args))
                results.append(
                    measure_unchanged(
                        app_port, deployment_fragment, cookie, args, DEPLOYMENT_UNCHANGED_LABEL
                    )
                )
        last = measure(f"{ceiling_label}, last", ceiling_port, ceiling_path, cookie, args)
        ceiling_rps = (first.requests_per_s + last.requests_per_s) / 2
        measured = {r.label for r in results}
        if PROGRESS_LABEL not in measured:  # --only without the fragment
            before = first
        around = (before.requests_per_s + last.requests_per_s) / 2
        report = table(
            [*results, first, *([before] if before is not first else []), last],
            ceiling_rps,
            {
                PROGRESS_LABEL: around,
                PROGRESS_UNCHANGED_LABEL: around,
                DEPLOYMENT_UNCHANGED_LABEL: around,
            },
        )
        header = (
            f"{datetime.now():%Y-%m-%d %H:%M}: wrk -t{args.threads} -c{args.connections} "
            f"-d{args.duration}s, gunicorn {args.workers} sync workers, DEBUG=0, "
            f"PostgreSQL, {args.projects} projects, {args.deployments} deployments, "
            f"{args.incidents} incidents, {args.managed} releases in flight managed by "
            f"the release manager, "
            f"{args.finished_runs + 1} runs (the "
            f"progress fragment's: 6 steps, 200 log chunks); {host}. "
            f"Ratios are to the mean of the first and last ceiling runs; the progress "
            f"fragment's (its three rows) is to the mean of the two around it."
        )
        if PROGRESS_LABEL in measured:
            header += _progress_summary(results, around, before, last)
        drift = abs(first.requests_per_s - last.requests_per_s) / ceiling_rps
        if drift > CEILING_DRIFT_WARN:
            header += (
                f"\n\n**Warning**: the ceiling moved by {drift:.0%} during the bench; "
                "something else was using the CPUs, so run it again on a quiet machine."
            )
        print(f"\n{header}\n\n{report}\n")
        results_dir.mkdir(exist_ok=True)
        out = results_dir / f"pages-{datetime.now():%Y%m%d-%H%M%S}.md"
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
