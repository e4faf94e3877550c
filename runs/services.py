"""Every write to runs: create (and dispatch on commit), claim, finish, cancel, retry,
and the periodic sweeper and reaper.

Status moves only through `run_transition` (a run's) and `step_transition` (a step's),
each a conditional UPDATE on the current status: zero rows changed means someone else (a
second worker, the reaper, a cancel) got there first, and the caller stands down. The
engine (runs.engine) writes nothing itself: its heartbeat, its steps and its command's
process group all go through the services below.
"""

import contextlib
import logging
import os
import socket
import threading
import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from liftoff.audit import audit_record
from liftoff.celery import app as celery_app
from liftoff.commands import kill_orphaned_group
from liftoff.errors import Conflict, ValidationFailed
from liftoff.events import emit
from runs.models import (
    FINAL_STATES,
    FINAL_STEP_STATES,
    RUN_TRANSITIONS,
    STEP_TRANSITIONS,
    LogChunk,
    Run,
    RunLock,
    RunStatus,
    Step,
    StepStatus,
)
from runs.registry import get_kind, kind_retry_refusal

logger = logging.getLogger(__name__)

# The task that executes a run (runs.tasks.execute_run).
EXECUTE_TASK = "runs.execute"

# Set in the environment of every command a run starts (see runs.engine).
RUN_ENV_MARKER = "LIFTOFF_RUN_ID"


def run_transition(*, run: Run, to: str, **fields) -> bool:
    """Move `run` from its current status to `to`, with `fields`; False if it had moved."""
    current = run.status
    if to not in RUN_TRANSITIONS[current]:
        raise Conflict(f"A {current} run cannot become {to}.")
    if to in FINAL_STATES:
        fields.setdefault("finished_at", timezone.now())
    changed = Run.objects.filter(pk=run.pk, status=current).update(status=to, **fields)
    if changed:
        run.status = to
        for name, value in fields.items():
            setattr(run, name, value)
    return bool(changed)


def step_transition(*, step: Step, to: str, **fields) -> bool:
    """Move `step` from its current status to `to`, with `fields`; False if it had moved
    (the reaper or a cancel closed it while the worker was still in it)."""
    current = step.status
    if to not in STEP_TRANSITIONS[current]:
        raise Conflict(f"A {current} step cannot become {to}.")
    if current == StepStatus.RUNNING and to in FINAL_STEP_STATES:
        fields.setdefault("finished_at", timezone.now())
    changed = Step.objects.filter(pk=step.pk, status=current).update(status=to, **fields)
    if changed:
        step.status = to
        for name, value in fields.items():
            setattr(step, name, value)
    return bool(changed)


@transaction.atomic
def run_create(
    *,
    kind: str,
    subject,
    requested_by,
    scope: str = "",
    params=None,
    retry_of: Run | None = None,
) -> Run:
    """`scope` groups runs for the /runs/ filter (the project's slug for every kind so far;
    runs knows no projects).

    1. Check the kind; 2. write the run and its pending steps; 3. take its locks (a
    second run of the same thing is refused); 4. audit; 5. dispatch after commit."""
    try:
        spec = get_kind(kind)
    except KeyError:
        raise ValidationFailed(f"Unknown kind of run: {kind}.") from None
    run = Run.objects.create(
        kind=kind,
        subject_type=ContentType.objects.get_for_model(subject),
        subject_id=str(subject.pk),
        subject_label=str(subject)[:200],
        subject_url=subject.get_absolute_url() if hasattr(subject, "get_absolute_url") else "",
        scope=scope,
        params=params or {},
        requested_by=requested_by if getattr(requested_by, "pk", None) else None,
        retry_of=retry_of,
    )
    Step.objects.bulk_create(
        Step(run=run, order=i, key=s.key, name=s.name) for i, s in enumerate(spec.steps)
    )
    for key in spec.lock_keys(run):
        holder = RunLock.objects.filter(key=key).values_list("run_id", flat=True).first()
        try:
            with transaction.atomic():
                RunLock.objects.create(key=key, run=run)
        except IntegrityError:
            raise Conflict(
                f"Another {spec.label.lower()} is already queued or running"
                + (f" (run #{holder})." if holder else "."),
                run_id=holder,
            ) from None
    audit_record(
        actor=requested_by,
        action="run.created",
        obj=run,
        after={
            "kind": kind,
            "subject": f"{run.subject_type_id}:{run.subject_id}",
            "retry_of": retry_of.pk if retry_of else None,
        },
    )
    transaction.on_commit(lambda: run_dispatch(run_id=run.pk))
    return run


# The broker connection run_dispatch keeps, per process and thread, for the broker URL of
# the settings as they are when it is opened. Opening one per dispatch cost about 7 ms of
# the click-to-first-step latency (Redis on loopback: TCP connect, HELLO/SELECT, the
# channel's set-up), against about 1 ms to publish on a kept one (docs/performance.md).
_dispatch_local = threading.local()


def _dispatch_connection(url: str):
    """The kept connection for `url`; a new one after a fork (gunicorn, Celery's prefork
    children must never share a socket with their parent) or a change of broker."""
    kept = getattr(_dispatch_local, "kept", None)
    if kept is not None and kept[:2] == (os.getpid(), url):
        return kept[2]
    _dispatch_forget()
    conn = celery_app.connection_for_write(url)
    _dispatch_local.kept = (os.getpid(), url, conn)
    return conn


def _dispatch_forget() -> None:
    """Drop the kept connection (closed unless inherited from another process)."""
    kept = getattr(_dispatch_local, "kept", None)
    _dispatch_local.kept = None
    if kept is not None and kept[0] == os.getpid():
        with contextlib.suppress(Exception):  # already broken: nothing to give back
            kept[2].release()


def run_dispatch(*, run_id: int) -> bool:
    """Ring the doorbell: send the run's task. Runs after commit, outside any transaction.

    If the broker is down this fails fast (a short connection timeout and one retry), the
    run stays queued, and the sweeper sends it again later. Never raises.
    """
    task_id = uuid.uuid4().hex
    try:
        # A connection kept for the broker of the settings as they are now (so an
        # operator's or a test's change of broker takes effect). A kept connection the
        # broker has dropped meanwhile is reconnected by the publish's one retry
        # (CELERY_TASK_PUBLISH_RETRY_POLICY); whatever fails, it is dropped below, so a
        # dead connection is never reused.
        # Sent by name: runs.tasks imports this module, so this module does not import it.
        conn = _dispatch_connection(settings.CELERY_BROKER_URL)
        celery_app.send_task(EXECUTE_TASK, args=[run_id], task_id=task_id, connection=conn)
    except Exception as exc:
        _dispatch_forget()
        logger.warning(
            "Run %s not dispatched (broker unavailable: %s); the sweeper will send it again.",
            run_id,
            type(exc).__name__,
        )
        Run.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
            dispatch_attempts=F("dispatch_attempts") + 1
        )
        return False
    # Still queued, or already claimed by the worker this message reached (it often claims
    # before this line: the send returns after the worker has the message), in which case
    # the first dispatch's time is still a fact worth keeping.
    Run.objects.filter(
        Q(status=RunStatus.QUEUED) | Q(dispatched_at__isnull=True), pk=run_id
    ).update(
        dispatched_at=timezone.now(),
        celery_task_id=task_id,
        dispatch_attempts=F("dispatch_attempts") + 1,
    )
    return True


def run_claim(*, run_id: int, worker: str, task_id: str) -> Run | None:
    """The worker's claim: only one worker moves a queued run to running, and its first
    step starts with it.

    No read first: the run is taken to be queued, and the conditional UPDATE decides. A
    second delivery of the message, a second worker, or a run cancelled or reaped
    meanwhile changes no row and gets None. On PostgreSQL the claim, the first step's
    start and the read of the run are one statement (the click-to-first-step path,
    docs/performance.md); elsewhere they are three in one transaction. The audit record
    follows: it is part of the claim's outcome, not of what the user waits for."""
    now = timezone.now()
    fields = {
        "started_at": now,
        "heartbeat_at": now,
        "worker": worker[:255],
        "celery_task_id": task_id[:64],
    }
    if connection.vendor == "postgresql":
        run = _claim_statement(run_id, fields, now)
    else:
        run = _claim_statements(run_id, fields, now)
    if run is None:
        return None
    audit_record(actor=None, action="run.started", obj=run, after={"worker": run.worker})
    return run


def _claim_statement(run_id: int, fields: dict, now) -> Run | None:
    runs, steps = Run._meta, Step._meta
    q = connection.ops.quote_name

    def column(meta, name):
        return q(meta.get_field(name).column)

    assignments = ", ".join(f"{column(runs, name)} = %s" for name in ("status", *fields))
    sql = (
        f"WITH claimed AS (UPDATE {q(runs.db_table)} SET {assignments} "  # noqa: S608
        f"WHERE {column(runs, 'id')} = %s AND {column(runs, 'status')} = %s RETURNING *), "
        f"first_step AS (UPDATE {q(steps.db_table)} "
        f"SET {column(steps, 'status')} = %s, {column(steps, 'started_at')} = %s "
        f"WHERE {column(steps, 'run')} IN (SELECT {column(runs, 'id')} FROM claimed) "
        f"AND {column(steps, 'order')} = 0 AND {column(steps, 'status')} = %s) "
        "SELECT * FROM claimed"
    )
    params = [
        RunStatus.RUNNING,
        *fields.values(),
        run_id,
        RunStatus.QUEUED,
        StepStatus.RUNNING,
        now,
        StepStatus.PENDING,
    ]
    # Names come from the models; every value is a parameter.
    return next(iter(Run.objects.raw(sql, params)), None)


@transaction.atomic
def _claim_statements(run_id: int, fields: dict, now) -> Run | None:
    if not run_transition(
        run=Run(pk=run_id, status=RunStatus.QUEUED), to=RunStatus.RUNNING, **fields
    ):
        return None
    Step.objects.filter(run_id=run_id, order=0, status=StepStatus.PENDING).update(
        status=StepStatus.RUNNING, started_at=now
    )
    return Run.objects.get(pk=run_id)


def _release(run: Run) -> None:
    RunLock.objects.filter(run=run).delete()


def _close_steps(run: Run, *, running_to: str, pending_to: str) -> None:
    """End the steps a run left open. The worker may be moving one at the same moment (it
    was only slow when the reaper gave up on it): a step it finished keeps its outcome, a
    step it started (pending → running) is read again and closed from there. Two moves
    at most lead from pending to a final state, so three passes always suffice."""
    to = {StepStatus.RUNNING: running_to, StepStatus.PENDING: pending_to}
    for _pass in range(3):
        steps = list(Step.objects.filter(run=run, status__in=to.keys()))
        lost = [s for s in steps if not step_transition(step=s, to=to[s.status])]
        if not lost:
            return


@transaction.atomic
def run_finish(*, run: Run, status: str, error: str = "", outcome: str = "") -> bool:
    """End a running run. False if it had already ended (reaped or cancelled). `outcome`
    qualifies a success ("4 of 5 commands succeeded"); any other status ignores it."""
    outcome = outcome[:300] if status == RunStatus.SUCCEEDED else ""
    if not run_transition(run=run, to=status, error=error[:5000], outcome=outcome):
        return False
    pending_to = StepStatus.CANCELLED if status == RunStatus.CANCELLED else StepStatus.SKIPPED
    running_to = {
        RunStatus.CANCELLED: StepStatus.CANCELLED,
        RunStatus.FAILED: StepStatus.FAILED,
    }.get(status, StepStatus.SUCCEEDED)
    _close_steps(run, running_to=running_to, pending_to=pending_to)
    _release(run)
    audit_record(
        actor=None,
        action=f"run.{status}",
        obj=run,
        before={"status": RunStatus.RUNNING},
        after={"status": status, "error": error, "outcome": outcome},
    )
    _finished_event(run)
    return True


def _finished_event(run: Run) -> None:
    emit(
        "run.finished",
        subject=run,
        payload={
            "run": run.pk,
            "kind": run.kind,
            "status": run.status,
            "error": run.error,
            "outcome": run.outcome,
        },
    )


@transaction.atomic
def run_cancel(*, run: Run, actor) -> Run:
    """Cancel a run. Queued: cancelled at once. Running: the worker is asked to stop; it
    ends the command's whole process group and marks the run cancelled within seconds
    (or, if the worker is gone, the reaper ends it)."""
    run = Run.objects.select_for_update().get(pk=run.pk)
    if run.status in FINAL_STATES:
        raise Conflict(f"This run has already {run.status}.")
    if run.status == RunStatus.QUEUED:
        run_transition(run=run, to=RunStatus.CANCELLED, error="Cancelled before it started.")
        _close_steps(run, running_to=StepStatus.CANCELLED, pending_to=StepStatus.CANCELLED)
        _release(run)
        _finished_event(run)
    elif run.cancel_requested_at is None:
        run.cancel_requested_at = timezone.now()
        Run.objects.filter(pk=run.pk).update(cancel_requested_at=run.cancel_requested_at)
    audit_record(actor=actor, action="run.cancel_requested", obj=run, after={"status": run.status})
    return run


def run_retry(*, run: Run, actor) -> Run:
    """A new run of the same kind and subject, linked to the one it retries."""
    if run.status not in {RunStatus.FAILED, RunStatus.CANCELLED}:
        raise Conflict("Only a failed or cancelled run can be retried.")
    if refusal := kind_retry_refusal(run.kind):
        raise Conflict(refusal)
    return run_create(
        kind=run.kind,
        subject=run.subject_type.get_object_for_this_type(pk=run.subject_id),
        requested_by=actor,
        scope=run.scope,
        params=run.params,
        retry_of=run,
    )


def runs_reap_stale() -> list[int]:
    """Fail running runs whose heartbeat stopped (worker killed, machine gone).

    Bound: a worker beats every RUN_HEARTBEAT_SECONDS; a run is stale after
    RUN_STALE_AFTER_SECONDS; the reaper runs every RUN_REAPER_SECONDS. So a dead worker's
    run is failed at most STALE + REAPER seconds after its last beat.
    """
    limit = timezone.now() - timedelta(seconds=settings.RUN_STALE_AFTER_SECONDS)
    stale = list(Run.objects.filter(status=RunStatus.RUNNING, heartbeat_at__lt=limit))
    reaped = []
    for run in stale:
        last = run.heartbeat_at
        _end_orphaned_command(run)
        if run_finish(
            run=run,
            status=RunStatus.FAILED,
            error=f"Worker lost: no heartbeat from {run.worker or 'the worker'} "
            f"since {last:%H:%M:%S} UTC. Retry to run it again.",
        ):
            reaped.append(run.pk)
            logger.warning("Reaped run %s: worker %s lost", run.pk, run.worker)
    return reaped


def _end_orphaned_command(run: Run) -> None:
    """A SIGKILLed worker leaves its command running (it has its own process group). If
    that was on this machine, end it; elsewhere the reaper on that machine will."""
    if not run.command_pgid or run.worker.rpartition("@")[2] != socket.gethostname():
        return
    killed = kill_orphaned_group(run.command_pgid, marker=(RUN_ENV_MARKER, str(run.pk)))
    if killed:
        logger.warning("Ended %s leftover process(es) of run %s", killed, run.pk)


def runs_sweep_queued() -> list[int]:
    """Send again the queued runs no worker has claimed: those never dispatched (the broker
    was down) and those dispatched longer ago than the grace period times their attempts
    (the message was lost). A duplicate message is harmless: the claim lets one through."""
    now = timezone.now()
    grace = settings.RUN_DISPATCH_GRACE_SECONDS
    sent = []
    candidates = Run.objects.filter(status=RunStatus.QUEUED).values_list(
        "pk", "created_at", "dispatched_at", "dispatch_attempts"
    )[:200]
    for pk, created_at, dispatched_at, attempts in candidates:
        if dispatched_at is None:
            due = created_at + timedelta(seconds=2) <= now  # let on_commit dispatch first
        else:
            due = dispatched_at + timedelta(seconds=grace * max(1, attempts)) <= now
        if due and run_dispatch(run_id=pk):
            sent.append(pk)
    return sent


def run_heartbeat(*, run_id: int) -> bool:
    """The worker's beat. False if the run is no longer running (reaped, or ended
    elsewhere): the worker then stops its work."""
    return bool(
        Run.objects.filter(pk=run_id, status=RunStatus.RUNNING).update(heartbeat_at=timezone.now())
    )


def run_command_started(*, run_id: int, pgid: int) -> None:
    """Remember the process group of the command running now, so the reaper can end it if
    the worker dies (runs_reap_stale → _end_orphaned_command)."""
    Run.objects.filter(pk=run_id).update(command_pgid=pgid)


def run_command_ended(*, run_id: int) -> None:
    Run.objects.filter(pk=run_id).update(command_pgid=None)


def run_log_append(*, run_id: int, step_id: int | None, seq: int, text: str) -> None:
    LogChunk.objects.create(run_id=run_id, step_id=step_id, seq=seq, text=text)
    Run.objects.filter(pk=run_id).update(log_size=F("log_size") + len(text))
