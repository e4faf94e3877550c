"""Pages kept rendered under the version of the rows they show.

A page that reads many rows and renders a lot (the release page: gates, checklists,
deployments, runs, audit) can keep what it rendered, per process, under a key made of:

- `rows_version(querysets)`: one query that returns a digest of the system columns of every
  row the page reads (`xmin`, the transaction that wrote the row version, and `ctid`, where
  it lies). Any UPDATE, INSERT or DELETE of one of those rows, made anywhere (a service, the
  admin, a migration, psql), changes it; reading it costs about a millisecond;
- who reads: the user, their roles, their time zone (the caller adds what else varies);
- time: a page whose text depends on the clock ("3 minutes ago", a freeze window that starts
  at 18:00) says until when what it rendered holds, with `valid_until(moment)` while it
  renders; the kept copy is not served after that moment.

The digest is read before the page's own reads, so what is kept is never older than its
key: a change in between renders the page again on the next view, never serves it stale.

Forms in a kept page carry a placeholder instead of the CSRF token; each answer puts in the
token of its own request (`kept_html`), so one session never gets another's token.
"""

import hashlib
import secrets
import time
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime

from django.core.cache import cache
from django.db import connection
from django.db.models import Model
from django.middleware.csrf import get_token
from django.utils.safestring import SafeString, mark_safe

# How long a kept page stays in a process's cache at most (a page nobody views again is
# dropped; LocMemCache also evicts the oldest when full).
KEPT_SECONDS = 600

# Random per process, so that no text a user typed can be the placeholder.
CSRF_PLACEHOLDER = f"kept-csrf-{secrets.token_hex(8)}"

# The moment the page being rendered stops being true, as its parts say (None: no limit).
_until: ContextVar[list | None] = ContextVar("liftoff_kept_until", default=None)


def valid_until(moment: datetime | float | None) -> None:
    """While a kept page renders: what is being rendered holds until `moment` (an aware
    datetime or a Unix time). Outside one it does nothing, so any code may call it."""
    bounds = _until.get()
    if bounds is None or moment is None:
        return
    bounds.append(moment.timestamp() if isinstance(moment, datetime) else float(moment))


def not_kept() -> None:
    """While a kept page renders: keep none of it (it shows something live)."""
    valid_until(0.0)


@contextmanager
def _collecting():
    bounds: list[float] = []
    token = _until.set(bounds)
    try:
        yield bounds
    finally:
        _until.reset(token)


@dataclass(frozen=True)
class Rows:
    """Some rows of one table, for `rows_version`: `where` (and `tail`: ORDER BY, LIMIT)
    is SQL over the table's own columns, written by the app that reads those rows; every
    value is a `%s` parameter in `params`, never text in the SQL.

    Hand-written rather than a QuerySet on purpose: the release page names some twenty
    sets, and compiling as many querysets (and planning the semi-joins they become) cost
    more than the rendering the digest saves (docs/performance.md)."""

    model: type[Model]
    where: str = "TRUE"
    params: tuple = ()
    tail: str = ""


class _Unversioned:
    """What `rows_version` gives on a database without row versions: nothing is kept."""

    def __repr__(self) -> str:
        return "UNVERSIONED"


UNVERSIONED = _Unversioned()


def rows_version(rows: Iterable[Rows]) -> str | _Unversioned:
    """A digest of every row of `rows` as stored now, in one query. PostgreSQL only: on
    SQLite (`make run`'s embedded default) it is UNVERSIONED, and a page whose key holds
    it is rendered on every view, never kept."""
    if connection.vendor != "postgresql":
        return UNVERSIONED
    parts, params = [], []
    for index, spec in enumerate(rows):
        table = connection.ops.quote_name(spec.model._meta.db_table)
        # A tag per set, so that the same row version read by two sets, or moved from one
        # to the other, still changes the digest. Table names come from the models.
        parts.append(
            f"(SELECT %s || xmin::text || ctid::text AS v FROM {table} "  # noqa: S608
            f"WHERE {spec.where} {spec.tail})"
        )
        params += [f"{index}:", *spec.params]
    if not parts:
        return ""
    union = " UNION ALL ".join(parts)
    query = f"SELECT md5(coalesce(string_agg(v, ',' ORDER BY v), '')) FROM ({union}) AS kept"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchone()[0]


def kept_value(key: tuple, compute: Callable[[], object], seconds: int = KEPT_SECONDS):
    """What `compute()` returns for `key` (which must hold the rows' version and everything
    else the value varies by), computed again only when this process has no copy that is
    still true (`valid_until`, `not_kept`)."""
    if any(part is UNVERSIONED for part in key):
        return compute()
    cache_key = "liftoff:kept:" + hashlib.blake2b(repr(key).encode(), digest_size=16).hexdigest()
    entry = cache.get(cache_key)
    if entry is not None and (entry[0] is None or time.time() < entry[0]):
        # A kept part inside another (the board inside the dashboard's cards): the outer
        # one holds no longer than this one does.
        valid_until(entry[0])
        return entry[1]
    with _collecting() as bounds:
        value = compute()
    until = min(bounds) if bounds else None
    valid_until(until)
    if until is None or until > time.time():
        cache.set(cache_key, (until, value), seconds)
    return value


def kept_html(
    request, *, key: tuple, render: Callable[[str], str], seconds: int = KEPT_SECONDS
) -> SafeString:
    """The page part for `key` (see `kept_value`), rendered by `render(csrf_token)` when
    this process has no copy that is still true, with this request's CSRF token put into
    its forms."""
    html = kept_value(("html", *key), lambda: str(render(CSRF_PLACEHOLDER)), seconds)
    if CSRF_PLACEHOLDER in html:
        html = html.replace(CSRF_PLACEHOLDER, get_token(request))
    return mark_safe(html)  # noqa: S308 - rendered by our templates, escaped there
