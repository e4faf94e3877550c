"""The state tables of runs and steps, and the conditional UPDATEs behind them: a move the
table forbids is refused, and of two moves from one state only the first changes a row."""

import ast
import re
from pathlib import Path

import pytest

from liftoff.errors import Conflict
from liftoff.models import AuditEvent
from runs.models import Run, RunStatus, Step, StepStatus
from runs.services import run_cancel, run_claim, run_create, run_finish, step_transition
from tests.factories import ProjectFactory
from tests.runs import kinds  # noqa: F401 - registers the test kinds

pytestmark = pytest.mark.django_db

RUNS = Path(__file__).resolve().parents[2] / "runs"


def _queued(manager) -> Run:
    project = ProjectFactory()
    return run_create(kind="test.slow", subject=project, scope=project.slug, requested_by=manager)


def test_two_claims_of_one_queued_run_one_wins(manager):
    run = _queued(manager)
    first = run_claim(run_id=run.pk, worker="a@host", task_id="task-a")
    second = run_claim(run_id=run.pk, worker="b@host", task_id="task-b")
    assert first is not None and first.status == RunStatus.RUNNING
    assert second is None
    run.refresh_from_db()
    assert (run.status, run.worker, run.celery_task_id) == (RunStatus.RUNNING, "a@host", "task-a")
    assert AuditEvent.objects.filter(action="run.started", object_id=str(run.pk)).count() == 1


def test_the_dispatch_is_recorded_even_when_the_worker_claimed_first(manager, settings):
    """The worker often claims the run before the send has returned on the web side: the
    dispatch's time is recorded all the same (it was lost for most runs)."""
    from runs.services import run_dispatch

    # An in-process broker: the message goes nowhere, no test worker may take it later.
    settings.CELERY_BROKER_URL = "memory://"
    run = _queued(manager)
    assert run_claim(run_id=run.pk, worker="fast@host", task_id="t") is not None
    assert run_dispatch(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING and run.dispatched_at is not None
    assert run.dispatch_attempts == 1


def test_a_run_cancelled_before_a_worker_came_is_not_claimed(manager):
    run = _queued(manager)
    run_cancel(run=run, actor=manager)
    assert run_claim(run_id=run.pk, worker="a@host", task_id="task-a") is None
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED and run.started_at is None


def test_a_step_moves_only_as_its_table_allows(manager):
    step = Step.objects.get(run=_queued(manager))
    # A step that never ran is never shown as succeeded.
    with pytest.raises(Conflict, match="A pending step cannot become succeeded"):
        step_transition(step=step, to=StepStatus.SUCCEEDED)
    step.refresh_from_db()
    assert step.status == StepStatus.PENDING
    assert step_transition(step=step, to=StepStatus.RUNNING)
    assert step_transition(step=step, to=StepStatus.FAILED, summary="broke")
    # A final step stays final.
    with pytest.raises(Conflict, match="A failed step cannot become running"):
        step_transition(step=step, to=StepStatus.RUNNING)
    step.refresh_from_db()
    assert (step.status, step.summary) == (StepStatus.FAILED, "broke")
    assert step.finished_at is not None


def test_a_late_worker_does_not_overwrite_the_step_its_reaped_run_closed(manager):
    run = run_claim(run_id=_queued(manager).pk, worker="slow@host", task_id="t")
    step = Step.objects.get(run=run)
    assert step.status == StepStatus.RUNNING  # the claim started the first step
    # The reaper gave up on the worker: the run failed, its running step with it.
    assert run_finish(run=Run.objects.get(pk=run.pk), status=RunStatus.FAILED, error="lost")
    # Then the worker, which was only slow, finishes the step from its own (stale) copy.
    assert step_transition(step=step, to=StepStatus.SUCCEEDED, summary="done") is False
    step.refresh_from_db()
    assert (step.status, step.summary) == (StepStatus.FAILED, "")


def test_runs_imports_no_domain_app():
    """runs sits just above liftoff: the apps above it reach it through its registry and
    its services, never the other way round (DESIGN.md, "Seams between the apps")."""
    above = {
        "releases", "checklists", "gates", "deployments", "incidents",
        "notifications", "metrics", "dashboard", "demo", "bench",
    }  # fmt: skip
    found = []
    for path in RUNS.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            else:
                continue
            found += [f"{path.name}: {n}" for n in names if n.split(".")[0] in above]
    for path in RUNS.rglob("*.html"):
        urls = re.findall(r"{%\s*url\s+['\"](\w+):", path.read_text())
        found += [f"{path.name}: url {u}:…" for u in urls if u != "runs"]
    assert found == []
