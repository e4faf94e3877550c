"""The few SQL expressions that PostgreSQL and SQLite write differently, for the metrics'
medians and weekly buckets. Everything here builds SQL text from constants and column
names chosen in code, never from user input; values travel as query parameters.

`make run` uses SQLite and the suite PostgreSQL, so each function answers both; the
SQLite forms are tested on their own (tests/metrics/test_sql.py).
"""

from django.db import connection

WEEK_SECONDS = 7 * 86400


def _vendor() -> str:
    return connection.vendor


def epoch(expression: str, *, vendor: str | None = None) -> str:
    """Seconds since 1970 of a timestamp expression (a column, or ISO 8601 text on SQLite)."""
    if (vendor or _vendor()) == "postgresql":
        return f"EXTRACT(EPOCH FROM {expression})"
    return f"((julianday({expression}) - 2440587.5) * 86400.0)"


def from_epoch(expression: str, *, vendor: str | None = None) -> str:
    """The timestamp of epoch seconds, comparable with a datetime column (on SQLite, text
    like Django's, truncated to the second: a lower bound stays a lower bound)."""
    if (vendor or _vendor()) == "postgresql":
        return f"to_timestamp({expression})"
    return f"datetime({expression}, 'unixepoch')"


def bucket(expression: str, *, size_seconds: int = WEEK_SECONDS, vendor: str | None = None) -> str:
    """The index of the `size_seconds` bucket (a week by default) a timestamp falls in,
    counted from the window's start, which is the one parameter it takes (epoch seconds).
    Only used on timestamps inside the window, so never negative: truncation is floor."""
    vendor = vendor or _vendor()
    seconds = epoch(expression, vendor=vendor)
    if vendor == "postgresql":
        return f"CAST(FLOOR(({seconds} - %s) / {size_seconds}) AS INTEGER)"
    return f"CAST((({seconds} - %s) / {size_seconds}) AS INTEGER)"


def median_by_group(
    subquery: str, params: tuple = (), *, vendor: str | None = None
) -> tuple[str, tuple]:
    """A query, and its parameters, answering (g, median of v, count of v) for each group
    g of `subquery` (which selects columns g and v), and once more for all of them
    together as g = -1.

    PostgreSQL: percentile_cont(0.5), by GROUPING SETS (one pass over the subquery).
    SQLite has neither: the subquery is read twice (UNION ALL, the whole as g = -1), each
    group's values are numbered in order and the middle one (odd count) or the mean of the
    middle two (even count) is kept: the same figure as percentile_cont(0.5)."""
    if (vendor or _vendor()) == "postgresql":
        return (
            "SELECT COALESCE(g, -1), percentile_cont(0.5) WITHIN GROUP (ORDER BY v), COUNT(v) "
            f"FROM ({subquery}) s WHERE v IS NOT NULL GROUP BY GROUPING SETS ((g), ())",
            tuple(params),
        )
    both = f"SELECT g, v FROM ({subquery}) s1 UNION ALL SELECT -1 AS g, v FROM ({subquery}) s2"
    return (
        "SELECT g, AVG(v), MAX(n) FROM ("
        "SELECT g, v, ROW_NUMBER() OVER (PARTITION BY g ORDER BY v) AS rn, "
        "COUNT(*) OVER (PARTITION BY g) AS n "
        f"FROM ({both}) b WHERE v IS NOT NULL"
        ") t WHERE rn IN ((n + 1) / 2, (n + 2) / 2) GROUP BY g",
        (*params, *params),
    )


def commits_of_deployments(*, vendor: str | None = None) -> tuple[str, str, str]:
    """(FROM clause piece, sha expression, commit time expression) unnesting a
    deployment's `new_commits` JSON list (alias d) into one row per commit (alias c)."""
    if (vendor or _vendor()) == "postgresql":
        return (
            "CROSS JOIN LATERAL jsonb_array_elements(d.new_commits) AS c(value)",
            "c.value ->> 'sha'",
            "CAST(c.value ->> 'committed_at' AS timestamptz)",
        )
    return (
        ", json_each(d.new_commits) AS c",
        "json_extract(c.value, '$.sha')",
        "json_extract(c.value, '$.committed_at')",
    )


def run(sql: str, params) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, list(params))
        return cursor.fetchall()
