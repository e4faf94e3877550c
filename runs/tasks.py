"""Thin Celery adapters: ids in, services called. Safe to run twice (the claim)."""

from celery import shared_task

from runs.engine import run_execute
from runs.services import EXECUTE_TASK, runs_reap_stale, runs_sweep_queued


@shared_task(bind=True, name=EXECUTE_TASK, acks_late=True, ignore_result=True)
def execute_run(self, run_id: int):
    return run_execute(
        run_id=run_id, worker=self.request.hostname or "worker", task_id=self.request.id or ""
    )


@shared_task(name="runs.reap", ignore_result=True)
def reap_stale_runs():
    return runs_reap_stale()


@shared_task(name="runs.sweep", ignore_result=True)
def sweep_queued_runs():
    return runs_sweep_queued()
