"""Fill a throwaway PostgreSQL database's audit trail with N chained events, then time
`manage.py verify_audit` on it.

1. Drop and re-create the bench database (default `liftoff_bench_audit`), migrate it.
2. Build the chain in Python with the application's own `event_hash` and `HASHED_FIELDS`
   (not `audit_record` a million times) and bulk-load it with COPY, in one transaction
   that also moves the chain head.
3. Run `manage.py verify_audit` in a subprocess and report events, seconds and events/s.

    .venv/bin/python bench/audit_verify.py [--events N] [--profile]

`--profile` runs verify_audit a second time under cProfile and prints where its time goes.
"""

import argparse
import json
import os
import re
import secrets
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # bench.common, and the project for Django

from bench.common import BenchError, database_recreate  # noqa: E402

PYTHON = str(ROOT / ".venv" / "bin" / "python")
DEFAULT_SERVER_URL = "postgres://postgres@127.0.0.1:5432/liftoff_bench"
DEFAULT_NAME = "liftoff_bench_audit"

# A plausible mix of events; the hash covers every field, so variety costs nothing.
ACTIONS = [
    ("releases.release", "release.transitioned", {"status": "planned"}, {"status": "preparing"}),
    ("checklists.item", "checklist.item_ticked", {"done": False}, {"done": True, "note": ""}),
    ("checklists.gateresult", "gate.result_recorded", None, {"value": 91.5, "passed": True}),
    ("deployments.deployment", "deployment.started", None, {"environment": "staging"}),
    ("releases.project", "project.updated", {"name": "Apollo"}, {"name": "Apollo — web"}),
]


def database_url_default() -> str:
    """The server of DATABASE_URL (or the bench default), with the audit bench's database."""
    parts = urlsplit(os.environ.get("DATABASE_URL", DEFAULT_SERVER_URL))
    return urlunsplit(parts._replace(path=f"/{DEFAULT_NAME}"))


def django_env(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "liftoff.settings",
        "DATABASE_URL": url,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "LIFTOFF_DATA_DIR": str(ROOT / "var" / "bench"),
        "LOG_LEVEL": "WARNING",
    }


def chain_rows(count: int):
    """Yield (HASHED_FIELDS values..., hash) for events 1..count, chained from genesis.

    created_at is timezone-aware UTC with microseconds, which is exactly what Django reads
    back from timestamptz, so verify_audit recomputes the same hashes.
    """
    from liftoff.audit import GENESIS_HASH, event_hash

    start = datetime(2025, 1, 1, tzinfo=UTC)
    prev = GENESIS_HASH
    for seq in range(1, count + 1):
        object_type, action, before, after = ACTIONS[seq % len(ACTIONS)]
        row = (
            seq,
            start + timedelta(microseconds=seq * 1_237_913),
            None,
            "bench",
            action,
            object_type,
            str(seq % 997),
            before,
            after,
            f"{seq:032x}",
            prev,
        )
        prev = event_hash(row)
        yield (*row, prev)


def load(url: str, count: int) -> tuple[int, str]:
    """COPY the chain in and move the head, in one transaction. Returns (seq, hash)."""
    from liftoff.audit import HASHED_FIELDS

    columns = sql.SQL(", ").join(sql.Identifier(c) for c in (*HASHED_FIELDS, "hash"))
    json_at = [HASHED_FIELDS.index("before"), HASHED_FIELDS.index("after")]
    copy_sql = sql.SQL("COPY liftoff_auditevent ({}) FROM STDIN").format(columns)
    last = (0, "")
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        with cur.copy(copy_sql) as copy:
            for row in chain_rows(count):
                values = list(row)
                for i in json_at:
                    if values[i] is not None:
                        values[i] = json.dumps(values[i], ensure_ascii=False)
                copy.write_row(values)
                if row[0] % 200_000 == 0:
                    print(f"  {row[0]:>9,} events", flush=True)
                last = (row[0], row[-1])
        # The head table has no trigger; only the event table is append-only.
        cur.execute("UPDATE liftoff_auditchainhead SET seq = %s, hash = %s WHERE id = 1", last)
        if cur.rowcount != 1:
            raise RuntimeError("the chain head row (id=1) is missing: was the DB migrated?")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE liftoff_auditevent")
    return last


def verify(env: dict[str, str], profile: bool) -> tuple[int, float, float, str]:
    """Run verify_audit; returns (events, seconds it reports, wall seconds, output)."""
    command = [PYTHON, "manage.py", "verify_audit"]
    if profile:
        command = [PYTHON, "-m", "cProfile", "-s", "tottime", *command[1:]]
    started = time.monotonic()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.monotonic() - started
    if done.returncode != 0:
        sys.exit(f"verify_audit failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    match = re.search(r"intact: (\d+) events verified in ([\d.]+) s", done.stdout)
    if not match:
        sys.exit(f"could not read verify_audit's output:\n{done.stdout}")
    return int(match.group(1)), float(match.group(2)), wall, done.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=database_url_default())
    parser.add_argument("--profile", action="store_true", help="also profile verify_audit")
    args = parser.parse_args()

    env = django_env(args.database_url)
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))

    started = time.monotonic()
    try:
        database_recreate(args.database_url)
    except BenchError as exc:
        sys.exit(str(exc))
    subprocess.run(
        [PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True
    )
    print(f"migrated {urlsplit(args.database_url).path[1:]} in {time.monotonic() - started:.1f} s")

    import django

    django.setup()
    started = time.monotonic()
    print(f"building and loading {args.events:,} events ...", flush=True)
    seq, _ = load(args.database_url, args.events)
    print(f"loaded {seq:,} events in {time.monotonic() - started:.1f} s")

    events, seconds, wall, output = verify(env, profile=False)
    if events != args.events:
        sys.exit(f"verify_audit checked {events} events, expected {args.events}")
    print(output.strip())
    print(
        f"\n| events | verify_audit s | events/s | wall s (with Django start-up) |\n"
        f"|---:|---:|---:|---:|\n"
        f"| {events:,} | {seconds:.2f} | {events / seconds:,.0f} | {wall:.2f} |"
    )
    if profile := args.profile:
        _, _, _, output = verify(env, profile=profile)
        stats = output[output.find("Ordered by") :].splitlines()
        print("\nverify_audit under cProfile (sorted by own time):")
        print("\n".join(stats[:25]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
