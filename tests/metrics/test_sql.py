"""The SQLite forms of metrics/sql.py (what `make run` uses), run on an SQLite database of
their own while the suite runs on PostgreSQL: the median equals percentile_cont(0.5), the
epoch and the week bucket read Django's stored times, and the commits unnest."""

import json
import sqlite3
import statistics

import pytest

from metrics import sql


@pytest.fixture
def lite():
    db = sqlite3.connect(":memory:")
    yield db
    db.close()


@pytest.mark.parametrize(
    "values",
    [[5.0], [1.0, 2.0], [3.0, 1.0, 2.0], [4.0, 1.0, 3.0, 2.0], [7.0, 7.0, 1.0, 100.0, 3.5]],
)
def test_the_sqlite_median_is_the_middle_value_or_the_mean_of_the_two(lite, values):
    lite.execute("CREATE TABLE t (g INTEGER, v REAL)")
    rows = [(0, v) for v in values] + [(1, v * 2) for v in values] + [(2, None)]
    lite.executemany("INSERT INTO t VALUES (?, ?)", rows)
    query, params = sql.median_by_group("SELECT g, v FROM t", vendor="sqlite")
    found = {g: (median, n) for g, median, n in lite.execute(query, params)}
    assert found[0] == (statistics.median(values), len(values))
    assert found[1] == (statistics.median(v * 2 for v in values), len(values))
    everything = values + [v * 2 for v in values]
    assert found[-1] == (statistics.median(everything), len(everything))
    assert 2 not in found  # a group with no value has no median


def test_epoch_and_week_bucket_read_django_and_iso_times(lite):
    # Django stores an aware datetime on SQLite as UTC text; commits carry ISO 8601.
    start = 1772409600.0  # 2026-03-02 00:00 UTC
    query = (
        f"SELECT {sql.epoch('?', vendor='sqlite')}, "
        f"{sql.bucket('?', vendor='sqlite').replace('%s', '?')}"
    )
    epoch, week = lite.execute(
        query, ("2026-03-10 12:00:00.500000", "2026-03-10 12:00:00", start)
    ).fetchone()
    assert epoch == pytest.approx(start + 8.5 * 86400 + 0.5)
    assert week == 1
    (iso,) = lite.execute(
        f"SELECT {sql.epoch('?', vendor='sqlite')}", ("2026-03-02T01:00:00+01:00",)
    ).fetchone()
    assert iso == pytest.approx(start)


def test_commits_unnest_from_the_json_list(lite):
    unnest, sha, committed = sql.commits_of_deployments(vendor="sqlite")
    lite.execute("CREATE TABLE deployments_deployment (id INTEGER, new_commits TEXT)")
    commits = [
        {"sha": "a1", "committed_at": "2026-03-01T10:00:00+00:00"},
        {"sha": "b2", "committed_at": "2026-03-02T10:00:00+00:00"},
    ]
    lite.execute("INSERT INTO deployments_deployment VALUES (1, ?)", (json.dumps(commits),))
    rows = lite.execute(
        f"SELECT {sha}, {committed} FROM deployments_deployment d {unnest}"  # noqa: S608
    ).fetchall()
    assert rows == [("a1", "2026-03-01T10:00:00+00:00"), ("b2", "2026-03-02T10:00:00+00:00")]
