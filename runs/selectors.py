import hashlib
from datetime import UTC

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.db import connection
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.timesince import timesince

from runs.models import FINAL_STATES, LogChunk, Run, Step

TAIL_CHUNKS = 12
TAIL_LINES = 200


def run_get(*, run_id: int) -> Run:
    """Every role may read any run (runs belong to shared projects); 404 if none."""
    return get_object_or_404(
        Run.objects.select_related("requested_by", "subject_type", "retry_of"), pk=run_id
    )


def run_get_for_progress(*, run_id: int) -> Run:
    """The run as its page and its progress fragment show it (the fragment is polled each
    second by every open run page): only who requested it is joined. `run_get`'s three
    joins (and the JSON of the run retried), which the API's answer needs, cost more than
    the rest of the query."""
    return get_object_or_404(Run.objects.select_related("requested_by"), pk=run_id)


def redact_paths(text: str) -> str:
    """`text` without the workers' data folder (mirrors, checkouts, workspaces): a reader
    who does not operate Liftoff learns nothing about the machines from a log."""
    if not text:
        return text
    return text.replace(str(settings.DATA_DIR).rstrip("/"), "…")


def run_steps(*, run: Run) -> list:
    return list(Step.objects.filter(run_id=run.pk).order_by("order"))


def run_log_tail(*, run: Run, lines: int = TAIL_LINES) -> str:
    """The end of the log: the last few chunks (one indexed query), however long it is."""
    chunks = list(
        LogChunk.objects.filter(run_id=run.pk)
        .order_by("-seq")
        .values_list("text", flat=True)[:TAIL_CHUNKS]
    )
    text = "".join(reversed(chunks))
    return "\n".join(text.splitlines()[-lines:])


def _progress_version(
    *, status, cancel_requested, dispatched, error_length, log_size, created_at, step_states
) -> str:
    """A short digest of everything the progress fragment shows (components/run_progress.html):

    - the run's status, whether a cancel was asked for, whether it was dispatched (the
      queued message), its error (set with its final status: its length is enough);
    - `log_size`, which grows with every chunk appended (`run_log_append`), so the tail;
    - each step's status in order, two letters each ("susurupe" …): every change of a step
      (`step_transition`: started, finished with its summary, closed by `_close_steps`)
      changes its status, and a step's time and summary are written in the same UPDATE.
      Timestamps alone would miss `_close_steps` moving pending steps to skipped or
      cancelled without one;
    - the "X ago" text, exactly as the template's `timesince` writes it, so a watched page
      still ages minute by minute (one full answer a minute instead of a 204) rather than
      showing the time of its last change.

    Not in it: who may act (`can_manage`) and the toasts, which belong to the viewer, not
    the run; they refresh with the run's next change or the next page load."""
    raw = "|".join(
        map(
            str,
            (
                status,
                int(bool(cancel_requested)),
                int(bool(dispatched)),
                error_length,
                log_size,
                timesince(created_at),
                step_states or "",
            ),
        )
    )
    return hashlib.blake2b(raw.encode(), digest_size=8).hexdigest()


def progress_version_for(*, run: Run, steps: list) -> str:
    """The version of the fragment rendered from `run` and its `steps` (already loaded: no
    query). The run must have been read before its steps and its log tail, so that what
    is shown is never older than the version it carries (at worst one more full answer)."""
    return _progress_version(
        status=run.status,
        cancel_requested=run.cancel_requested_at,
        dispatched=run.dispatched_at,
        error_length=len(run.error),
        log_size=run.log_size,
        created_at=run.created_at,
        step_states="".join(s.status[:2] for s in steps),
    )


# One row per step (or one with no step): the run's few columns and its steps' statuses
# in order. Hand-written because it answers nearly every poll of every watched run: the
# same query through the ORM costs 0.7 ms of compiling and converting against 0.2 ms,
# about a fifth of the whole 204 answer (docs/performance.md). Portable SQL on purpose
# (PostgreSQL and SQLite; SQLite before 3.44 cannot order an aggregate).
_PROGRESS_VERSION_SQL = (
    "SELECT r.status, r.cancel_requested_at IS NOT NULL, r.dispatched_at IS NOT NULL, "
    "LENGTH(r.error), r.log_size, r.created_at, s.status "
    "FROM runs_run r LEFT JOIN runs_step s ON s.run_id = r.id "
    'WHERE r.id = %s ORDER BY s."order"'
)


def run_progress_version(*, run_id: int) -> str | None:
    """The current version of the run's progress fragment, in one small query, for a poll
    that says which version it shows. None if the run has ended or does not exist: its
    last state always goes out in full, with the 286 that stops polling (or the 404)."""
    with connection.cursor() as cursor:
        cursor.execute(_PROGRESS_VERSION_SQL, [run_id])
        rows = cursor.fetchall()
    if not rows or rows[0][0] in FINAL_STATES:
        return None
    status, cancel, dispatched, error_length, log_size, created_at, _ = rows[0]
    # PostgreSQL gives an aware datetime; SQLite its text (or a naive datetime), in UTC.
    created_at = Run._meta.get_field("created_at").to_python(created_at)
    if timezone.is_naive(created_at):
        created_at = timezone.make_aware(created_at, UTC)
    return _progress_version(
        status=status,
        cancel_requested=cancel,
        dispatched=dispatched,
        error_length=error_length,
        log_size=log_size,
        created_at=created_at,
        step_states="".join(step[:2] for *_, step in rows if step),
    )


# What a row of /runs/ shows (runs/index.html): not the params, the error or the subject.
_RUN_ROW_FIELDS = (
    "kind",
    "scope",
    "status",
    "outcome",
    "subject_label",
    "subject_url",
    "created_at",
    "started_at",
    "finished_at",
    "requested_by__username",
)


def run_list(*, kind: str = "", status: str = "", scope: str = ""):
    """The /runs/ rows, newest first, with only the columns a row shows."""
    runs = Run.objects.select_related("requested_by").only(*_RUN_ROW_FIELDS)
    if kind:
        runs = runs.filter(kind=kind)
    if status:
        runs = runs.filter(status=status)
    if scope:
        runs = runs.filter(scope=scope)
    return runs.order_by("-created_at", "-id")


def run_rows_version(*, runs) -> str:
    """A digest of what the /runs/ rows of `runs` (a page of `run_list`) show, from one
    narrow query: the page keeps its rendered table under it. A row shows a run's kind,
    scope, who asked, when, its status and (once it is final) how long it took; all but
    the status are written when the run is created or reaches its final status, so each
    run's id, status and creation time are enough. Empty if there are no rows."""
    rows = list(runs.values_list("pk", "status", "created_at"))
    if not rows:
        return ""
    return hashlib.blake2b(repr(rows).encode(), digest_size=8).hexdigest()


SCOPES_CACHE_KEY = "liftoff:run-scopes"
SCOPES_CACHE_SECONDS = 60


def run_scopes() -> list[str]:
    """The scopes runs exist for (the /runs/ filter's choices), in order; the empty scope
    of a run that belongs to nothing is not one.

    Kept for a minute per process: the list changes only when a project gets its first
    run, and a DISTINCT over every run grows with the table. The filter accepts a scope it
    does not list yet (RunFilterForm), so a newer run's scope link still filters."""
    return cache.get_or_set(SCOPES_CACHE_KEY, _run_scopes_query, SCOPES_CACHE_SECONDS)


def _run_scopes_query() -> list[str]:
    return list(
        Run.objects.exclude(scope="").values_list("scope", flat=True).distinct().order_by("scope")
    )


def run_cancel_requested(*, run_id: int) -> bool:
    """Whether someone asked to cancel the run; the worker's heartbeat asks every
    RUN_CANCEL_POLL_SECONDS."""
    return Run.objects.filter(pk=run_id, cancel_requested_at__isnull=False).exists()


def _about(subject):
    """The runs about `subject`, newest first, with who asked for them."""
    return (
        Run.objects.filter(
            subject_type=ContentType.objects.get_for_model(subject), subject_id=str(subject.pk)
        )
        .select_related("requested_by")
        .order_by("-created_at", "-id")
    )


def runs_for(*, subject):
    """Every run about `subject`, with the columns a row of runs shows."""
    return _about(subject).only(*_RUN_ROW_FIELDS)


def run_latest_for(*, subject, kind: str | None = None) -> Run | None:
    """The newest run about `subject` (of `kind`, or of any kind): the one its page shows."""
    runs = _about(subject)
    return (runs.filter(kind=kind) if kind else runs).first()
