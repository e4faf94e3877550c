"""Executing a claimed run in a worker: steps in order, a heartbeat beside them, the log
streamed into bounded chunks, cancel honoured within about a second.

Nothing here holds a database transaction open while a step works: steps run git and
subprocesses that can take minutes, and each write below is its own short statement.
Nothing here writes a row itself either: every write is a service of runs.services (so
the state tables hold for the worker too), every read a selector.
"""

import logging
import threading
import time
from pathlib import Path

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

from liftoff.commands import CommandResult, run_command, secret_values_from_settings
from runs.errors import RunCancelled, StepFailed
from runs.models import Run, RunStatus, Step, StepStatus
from runs.registry import get_kind
from runs.selectors import run_cancel_requested, run_steps
from runs.services import (
    RUN_ENV_MARKER,
    run_claim,
    run_command_ended,
    run_command_started,
    run_finish,
    run_heartbeat,
    run_log_append,
    step_transition,
)

logger = logging.getLogger(__name__)

LOG_CHUNK_CHARS = 4000
LOG_FLUSH_SECONDS = 0.5


class Heartbeat(threading.Thread):
    """Beats the run's heartbeat while it runs, and watches for a cancel request.

    Its own thread (and so its own database connection): a step blocked in a long command
    still beats. If the run is no longer running (reaped, or ended elsewhere), the work
    is told to stop.
    """

    def __init__(self, run_id: int):
        super().__init__(name=f"heartbeat-{run_id}", daemon=True)
        self.run_id = run_id
        self.stop_event = threading.Event()
        self.cancel_event = threading.Event()
        # Set by the executor: writes out log lines that have waited too long, so the
        # last line before a quiet spell reaches the page without waiting for the next.
        self.on_tick = None

    def run(self):
        # The claim has just written the heartbeat, and a run just claimed has no cancel
        # request (run_cancel ends a queued run at once): the first beat and the first
        # look for a cancel wait their intervals, so this thread's own database connection
        # opens while the first step runs, not before it (starting the thread cost about
        # 4 ms of the click-to-first-step latency, 0.7 ms now: docs/performance.md).
        last_beat = time.monotonic()
        try:
            while not self.stop_event.wait(settings.RUN_CANCEL_POLL_SECONDS):
                now = time.monotonic()
                if now - last_beat >= settings.RUN_HEARTBEAT_SECONDS:
                    alive = run_heartbeat(run_id=self.run_id)
                    last_beat = now
                    if not alive:
                        self.cancel_event.set()
                if run_cancel_requested(run_id=self.run_id):
                    self.cancel_event.set()
                if self.on_tick is not None:
                    self.on_tick()
        except Exception:
            logger.exception("Heartbeat of run %s stopped", self.run_id)
        finally:
            connection.close()


class StepContext:
    """What a step function gets: its run, a log, a command runner, and cancellation."""

    def __init__(self, run: Run, heartbeat: Heartbeat, secrets: list[str]):
        self.run = run
        self.params = run.params
        self.step: Step | None = None
        # Set by a step when the run will succeed without everything in it having
        # succeeded ("4 of 5 commands succeeded"): see Run.outcome.
        self.outcome = ""
        self._heartbeat = heartbeat
        self._secrets = secrets
        self._seq = 0
        self._buffer: list[str] = []
        self._buffered = 0
        self._last_flush = time.monotonic()
        self._truncated = False
        # log() runs in the worker thread, flush_due() in the heartbeat thread.
        self._lock = threading.Lock()

    @property
    def data_dir(self) -> Path:
        return Path(settings.DATA_DIR)

    def cancelled(self) -> bool:
        return self._heartbeat.cancel_event.is_set()

    def check_cancelled(self) -> None:
        if self.cancelled():
            raise RunCancelled()

    def mask(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "••••••")
        return text

    def log(self, line: str) -> None:
        with self._lock:
            if self._truncated:
                return
            if self.run.log_size + self._buffered > settings.RUN_LOG_MAX_CHARS:
                self._truncated = True
                line = "[liftoff] log truncated: this run printed more than the log keeps."
            line = self.mask(line.rstrip("\n")) + "\n"
            self._buffer.append(line)
            self._buffered += len(line)
            if (
                self._buffered >= LOG_CHUNK_CHARS
                or time.monotonic() - self._last_flush >= LOG_FLUSH_SECONDS
            ):
                self._flush_locked()

    def flush(self) -> None:
        with self._lock:
            self._flush_locked()

    def flush_due(self) -> None:
        with self._lock:
            if self._buffer and time.monotonic() - self._last_flush >= LOG_FLUSH_SECONDS:
                self._flush_locked()

    def _flush_locked(self) -> None:
        if not self._buffer:
            return
        text = "".join(self._buffer)
        self._buffer = []
        self._last_flush = time.monotonic()
        run_log_append(
            run_id=self.run.pk,
            step_id=self.step.pk if self.step else None,
            seq=self._seq,
            text=text,
        )
        self.run.log_size += len(text)
        self._buffered = 0
        self._seq += 1

    def run_command(
        self,
        args,
        *,
        cwd,
        env=None,
        timeout: float = 600,
        silence_timeout: float | None = 300,
        check: bool = True,
        inherit_env: bool = True,
    ) -> CommandResult:
        """Run a command (argument list only) with the step's log, the run's cancel and
        its secrets. With `check`, anything but exit 0 fails the step with the reason.
        Without `inherit_env` the command sees only `env` (and PATH), not the worker's
        environment with its database URL and secrets."""
        self.log("$ " + " ".join(str(a) for a in args))
        # The marker lets the reaper recognise this command's processes if we die.
        env = {**(env or {}), RUN_ENV_MARKER: str(self.run.pk)}

        def started(pgid: int) -> None:
            run_command_started(run_id=self.run.pk, pgid=pgid)

        try:
            result = run_command(
                [str(a) for a in args],
                cwd=cwd,
                env=env,
                timeout=timeout,
                silence_timeout=silence_timeout,
                on_line=self.log,
                should_cancel=self.cancelled,
                secrets=self._secrets,
                on_start=started,
                inherit_env=inherit_env,
            )
        finally:
            run_command_ended(run_id=self.run.pk)
        self.flush()
        if result.reason == "cancelled":
            raise RunCancelled()
        if check and (result.reason != "exited" or result.exit_code != 0):
            raise StepFailed(_command_failure(args, result))
        return result


def _command_failure(args, result: CommandResult) -> str:
    name = Path(str(args[0])).name
    if result.reason == "timeout":
        return f"{name} ran past its time limit and was ended."
    if result.reason == "silence":
        return f"{name} printed nothing for too long and was ended."
    if result.reason == "not-found":
        return f"{name} is not installed on the worker."
    lines = [
        ln.strip()
        for ln in result.output_tail.splitlines()
        if ln.strip() and not ln.startswith("[liftoff]")
    ]
    # Prefer the tool's own error lines (git: "fatal: ...") to whatever came last.
    errors = [ln for ln in lines if ln.lower().startswith(("fatal:", "error:"))]
    last = (errors or lines)[-3:]
    detail = " ".join(last) if last else "no output"
    return f"{name} exited with {result.exit_code}: {detail}"


def run_execute(*, run_id: int, worker: str, task_id: str) -> str | None:
    """Claim the run, then run its steps. Returns the final status, or None if another
    worker (or a cancel) got there first. Whatever happens after the claim, the run ends
    in a final state: nothing that fails here may leave it "running"."""
    close_old_connections()
    run = run_claim(run_id=run_id, worker=worker, task_id=task_id)
    if run is None:
        return None
    heartbeat = Heartbeat(run.pk)
    try:
        kind = get_kind(run.kind)
        secrets = sorted(
            {*secret_values_from_settings(), *kind.secrets(run)}, key=len, reverse=True
        )
    except Exception as exc:  # an unknown kind (older worker) or a broken kind definition
        logger.exception("Run %s could not start", run.pk)
        error = (
            f"This worker does not know runs of kind “{run.kind}”."
            if isinstance(exc, KeyError)
            else f"Internal error before the first step: {type(exc).__name__}."
        )
        run_finish(run=run, status=RunStatus.FAILED, error=error)
        return RunStatus.FAILED
    ctx = StepContext(run, heartbeat, [s for s in secrets if len(s) >= 4])
    heartbeat.on_tick = ctx.flush_due
    heartbeat.start()
    status, error = _run_steps(ctx, kind)
    if heartbeat.cancel_event.is_set() and status == RunStatus.SUCCEEDED:
        status, error = RunStatus.CANCELLED, "Cancelled."
    if run_finish(run=run, status=status, error=error, outcome=ctx.mask(ctx.outcome)) and (
        kind.on_finish
    ):
        try:
            kind.on_finish(run)
        except Exception:  # the run's own outcome stands; the follow-up failed
            logger.exception("on_finish of run %s failed", run.pk)
    return status


def _run_steps(ctx: StepContext, kind) -> tuple[str, str]:
    """Run the kind's steps in order; (final status, error)."""
    heartbeat = ctx._heartbeat
    status, error = RunStatus.SUCCEEDED, ""
    try:
        steps = {s.order: s for s in run_steps(run=ctx.run)}
        stored = [steps[order].key for order in sorted(steps)]
        if stored != [spec.key for spec in kind.steps]:
            # Made before an upgrade changed the kind's steps: running it would run steps
            # it does not list, or miss some. Fail it before any step, plainly; a retry
            # makes a new run with this worker's steps.
            error = (
                "This run was made by another version of Liftoff: its steps are not the "
                f"ones this worker runs for “{kind.label}”. Retry it to run the current steps."
            )
            ctx.log(f"[liftoff] {error}")
            first = steps.get(0)
            if first is not None and first.status == StepStatus.RUNNING:
                step_transition(step=first, to=StepStatus.FAILED, summary=error)
            return RunStatus.FAILED, error
        for order, spec in enumerate(kind.steps):
            step = steps[order]
            ctx.step = step
            ctx.check_cancelled()
            # The first step started with the claim (run_claim); the others start here.
            started_by_claim = order == 0 and step.status == StepStatus.RUNNING
            if not started_by_claim and not step_transition(
                step=step, to=StepStatus.RUNNING, started_at=timezone.now()
            ):
                # The run was ended meanwhile (reaped or cancelled): its steps are closed.
                raise RunCancelled()
            try:
                summary = spec.func(ctx) or ""
            finally:
                ctx.flush()
            step_transition(step=step, to=StepStatus.SUCCEEDED, summary=ctx.mask(summary)[:2000])
    except RunCancelled:
        ctx.log("[liftoff] cancelled.")
        status, error = RunStatus.CANCELLED, "Cancelled."
    except StepFailed as exc:
        error = ctx.mask(exc.message)
        ctx.log(f"[liftoff] step failed: {error}")
        if ctx.step and ctx.step.status == StepStatus.RUNNING:
            step_transition(step=ctx.step, to=StepStatus.FAILED, summary=error[:2000])
        status = RunStatus.FAILED
    except Exception as exc:  # a bug in a step: fail the run visibly, keep the worker
        logger.exception("Run %s crashed in step %s", ctx.run.pk, ctx.step)
        error = ctx.mask(
            f"Internal error in step “{ctx.step.name if ctx.step else '?'}”: "
            f"{type(exc).__name__}: {exc}"
        )
        ctx.log(f"[liftoff] {error}")
        status = RunStatus.FAILED
    finally:
        try:
            ctx.flush()
        finally:
            heartbeat.stop_event.set()
            heartbeat.join(timeout=10)
    return status, error
