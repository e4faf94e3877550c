"""The run engine with a real worker, real subprocesses and real repositories."""

import re
import time
from pathlib import Path

import pytest
from django.test import override_settings

from liftoff.models import AuditEvent
from releases.models import Project, ProjectRef
from releases.services import project_sync
from runs.models import LogChunk, Run, RunLock, RunStatus, Step
from runs.services import run_claim, run_create, runs_reap_stale, runs_sweep_queued
from tests.factories import ProjectFactory
from tests.helpers import wait_for
from tests.runs import kinds  # noqa: F401 - the test-only run kinds (the worker loads them too)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _final(run, timeout=60):
    def done():
        run.refresh_from_db()
        return run.is_final

    wait_for(done, timeout=timeout, message=f"run #{run.pk} to end")
    return run


def _project(git_remote):
    bare, _ = git_remote
    return ProjectFactory(slug="demo", repo_url=str(bare))


def test_sync_of_a_real_bare_repository_records_its_refs(start_worker, git_remote, manager):
    _bare, work = git_remote
    work.create_tag("v0.1.0", message='v0.1.0 "Nebula Whisper"')
    work.git.push("origin", "v0.1.0")
    work.git.checkout("-b", "release/v0.2.0")
    work.git.push("origin", "release/v0.2.0")
    project = _project(git_remote)
    start_worker()
    run = _final(project_sync(project=project, actor=manager))
    assert run.status == RunStatus.SUCCEEDED, run.error
    refs = {(r.kind, r.name): r.commit for r in ProjectRef.objects.filter(project=project)}
    head = work.head.commit.hexsha
    assert refs == {
        ("branch", "main"): head,
        ("branch", "release/v0.2.0"): head,
        ("tag", "v0.1.0"): head,
    }
    assert [s.status for s in run.steps.all()] == ["succeeded"] * 3
    assert (
        "1 tags" in run.steps.get(key="record").summary
        or "1 tag" in run.steps.get(key="record").summary
    )
    assert RunLock.objects.count() == 0
    project.refresh_from_db()
    assert project.last_synced_at is not None
    actions = set(AuditEvent.objects.filter(object_id=str(run.pk)).values_list("action", flat=True))
    assert {"run.created", "run.started", "run.succeeded"} <= actions


def test_sync_of_an_unreachable_remote_fails_with_gits_message_and_can_be_retried(
    start_worker, git_remote, manager, tmp_path
):
    bare, _ = git_remote
    project = ProjectFactory(slug="gone", repo_url=str(tmp_path / "nowhere.git"))
    start_worker()
    run = _final(project_sync(project=project, actor=manager))
    assert run.status == RunStatus.FAILED
    assert "does not appear to be a git repository" in run.error
    fetch = run.steps.get(key="fetch")
    assert fetch.status == "failed"
    assert run.steps.get(key="record").status == "skipped"
    assert RunLock.objects.count() == 0  # released: a retry may start

    Project.objects.filter(pk=project.pk).update(repo_url=str(bare))
    from runs.services import run_retry

    retry = _final(run_retry(run=run, actor=manager))
    assert retry.status == RunStatus.SUCCEEDED
    assert retry.retry_of_id == run.pk
    assert ProjectRef.objects.filter(project=project, name="main").exists()


def test_a_second_sync_while_one_is_queued_is_refused(git_remote, manager):
    from liftoff.errors import Conflict

    project = _project(git_remote)
    first = project_sync(project=project, actor=manager)
    with pytest.raises(Conflict, match=f"run #{first.pk}"):
        project_sync(project=project, actor=manager)
    assert Run.objects.count() == 1


def test_a_run_created_while_the_broker_is_down_runs_once_when_it_is_back(
    start_worker, git_remote, manager, client_as
):
    _project(git_remote)
    start_worker()
    client = client_as(manager)
    # The broker's port is closed, as if Redis (or the broker host) were down.
    with override_settings(CELERY_BROKER_URL="redis://127.0.0.1:9/0"):
        started = time.monotonic()
        response = client.post("/api/v1/projects/demo/sync/")
        elapsed = time.monotonic() - started
    assert response.status_code == 202
    assert elapsed < 1.0
    run = Run.objects.get()
    assert run.status == RunStatus.QUEUED and run.dispatched_at is None
    page = client.get(f"/runs/{run.pk}/").content.decode()
    assert "Waiting for a worker" in page

    time.sleep(2.1)  # past the sweeper's wait for the on-commit dispatch
    assert runs_sweep_queued() == [run.pk]
    _final(run)
    assert run.status == RunStatus.SUCCEEDED
    # Sent again by a second sweep while it already ran: nothing happens twice.
    Run.objects.filter(pk=run.pk).update(dispatched_at=None)
    assert AuditEvent.objects.filter(action="run.started", object_id=str(run.pk)).count() == 1


def _slow_kind_run(manager, seconds=30, name="slow"):
    project = ProjectFactory(slug=f"p-{name}")
    return run_create(
        kind=f"test.{name}",
        subject=project,
        scope=project.slug,
        requested_by=manager,
        params={"seconds": seconds},
    )


def _printed_pgid(run):
    log = "".join(LogChunk.objects.filter(run=run).values_list("text", flat=True))
    found = re.search(r"^pgid=(\d+)$", log, re.MULTILINE)
    return int(found.group(1)) if found else None


def test_worker_sigkilled_mid_step_is_failed_worker_lost_then_retry_succeeds(
    start_worker, manager, settings, monkeypatch
):
    # Short clocks, as the reaper's own test has them: a beat a second, stale after 3.
    monkeypatch.setenv("RUN_HEARTBEAT_SECONDS", "1")  # the worker's clock (read at start)
    settings.RUN_STALE_AFTER_SECONDS = 3  # the reaper's, here in the test process
    worker = start_worker()
    run = _slow_kind_run(manager, seconds=300, name="sleepcmd")
    pgid = wait_for(lambda: _printed_pgid(run), timeout=30, message="the command to start")
    killed_at = time.monotonic()
    worker.kill()
    assert _pids_of_group(pgid), "the command outlives its worker until the reaper ends it"

    def reaped():  # the reaper, as beat runs it every RUN_REAPER_SECONDS
        runs_reap_stale()
        run.refresh_from_db()
        return run.status == RunStatus.FAILED

    wait_for(reaped, timeout=settings.RUN_STALE_AFTER_SECONDS + 15, interval=1)
    elapsed = time.monotonic() - killed_at
    print(f"SIGKILL to 'worker lost': {elapsed:.1f} s")
    assert "Worker lost" in run.error
    assert elapsed <= settings.RUN_STALE_AFTER_SECONDS + 10
    assert Step.objects.get(run=run).status == "failed"
    assert RunLock.objects.filter(run=run).count() == 0
    wait_for(lambda: _pids_of_group(pgid) == [], timeout=5, message="the orphan to end")

    from runs.services import run_retry

    start_worker()
    Run.objects.filter(pk=run.pk).update(params={"seconds": 0.2})
    retry = _final(run_retry(run=Run.objects.get(pk=run.pk), actor=manager))
    assert retry.status == RunStatus.SUCCEEDED


def test_the_reaper_fails_a_run_whose_heartbeat_stopped_never_one_that_beats(
    start_worker, manager, settings, monkeypatch
):
    """Eight reaper periods with short clocks: the worker beats every second and a run is
    stale after three. The run a live worker is in goes on to succeed; the one claimed by
    a worker that vanished (nothing beats for it) is failed within stale + 2 periods."""
    monkeypatch.setenv("RUN_HEARTBEAT_SECONDS", "1")  # the worker's clock (read at start)
    settings.RUN_STALE_AFTER_SECONDS = 3  # the reaper's, here in the test process
    start_worker()
    beating = _slow_kind_run(manager, seconds=12, name="slow")
    wait_for(
        lambda: Run.objects.get(pk=beating.pk).status == RunStatus.RUNNING,
        timeout=30,
        message="the worker to start the long run",
    )
    # Claimed by a worker on another machine that then died: no beat after its claim. (Its
    # doorbell reaches our worker only after the long run, and loses the claim.)
    stopped = _slow_kind_run(manager, seconds=12, name="counted")
    assert run_claim(run_id=stopped.pk, worker="gone@elsewhere", task_id="t-gone")

    reaped_after: dict[int, float] = {}
    started = time.monotonic()
    for _period in range(8):  # as beat runs the reaper, every RUN_REAPER_SECONDS (1 s here)
        for pk in runs_reap_stale():
            reaped_after[pk] = time.monotonic() - started
        time.sleep(1)

    assert beating.pk not in reaped_after, "a run whose worker beats was reaped"
    assert stopped.pk in reaped_after, "a run nobody beats for was never reaped"
    assert reaped_after[stopped.pk] <= settings.RUN_STALE_AFTER_SECONDS + 2
    stopped.refresh_from_db()
    assert stopped.status == RunStatus.FAILED and "Worker lost" in stopped.error
    assert _final(beating).status == RunStatus.SUCCEEDED
    assert Step.objects.get(run=beating).status == "succeeded"


def test_two_workers_racing_for_one_run_run_it_once(start_worker, manager):
    start_worker("a")
    start_worker("b")
    run = _slow_kind_run(manager, seconds=1, name="counted")
    # Ring the doorbell twice more: three messages, one run.
    from runs.services import run_dispatch

    run_dispatch(run_id=run.pk)
    run_dispatch(run_id=run.pk)
    _final(run)
    assert run.status == RunStatus.SUCCEEDED
    time.sleep(1.5)  # let the other deliveries arrive and lose their claim
    starts = AuditEvent.objects.filter(action="run.started", object_id=str(run.pk)).count()
    assert starts == 1
    log = "".join(LogChunk.objects.filter(run=run).values_list("text", flat=True))
    assert log.count("counted step ran") == 1


def _pids_of_group(pgid: int) -> list[int]:
    """Live processes of a process group (zombies, already dead, are not counted)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)"
        state, group = fields[0], int(fields[2])
        if group == pgid and state != "Z":
            pids.append(int(entry.name))
    return pids


def test_cancel_ends_a_command_and_all_its_children(start_worker, manager, client_as):
    start_worker()
    run = _slow_kind_run(manager, seconds=300, name="tree")

    pgid = wait_for(
        lambda: _printed_pgid(run), timeout=30, message="the script to start its children"
    )
    wait_for(lambda: len(_pids_of_group(pgid)) >= 3, timeout=10, message="the children")
    started = time.monotonic()
    response = client_as(manager).post(f"/api/v1/runs/{run.pk}/cancel/")
    assert response.status_code == 202
    _final(run, timeout=20)
    assert run.status == RunStatus.CANCELLED
    assert time.monotonic() - started < 10
    assert _pids_of_group(pgid) == []
    assert Step.objects.get(run=run, key="wait").status == "cancelled"


def test_silence_and_hard_timeouts_fail_the_step_with_the_reason(start_worker, manager):
    start_worker()
    silent = _slow_kind_run(manager, name="silent")
    looping = _slow_kind_run(manager, name="looping")
    _final(silent)
    _final(looping)
    assert silent.status == RunStatus.FAILED
    assert "printed nothing for too long" in silent.error
    assert looping.status == RunStatus.FAILED
    assert "ran past its time limit" in looping.error


def test_secrets_are_masked_in_the_stored_log_and_on_the_page(
    start_worker, manager, client_as, monkeypatch
):
    start_worker()
    run = _slow_kind_run(manager, name="secretive")
    _final(run)
    assert run.status == RunStatus.SUCCEEDED
    log = "".join(LogChunk.objects.filter(run=run).values_list("text", flat=True))
    assert "hunter2-deploy-key" not in log
    assert "token=••••••" in log
    page = client_as(manager).get(f"/runs/{run.pk}/").content.decode()
    api = client_as(manager).get(f"/api/v1/runs/{run.pk}/").json()
    assert "hunter2-deploy-key" not in page and "hunter2-deploy-key" not in str(api)
    assert "token=••••••" in page


def test_a_kind_that_fails_before_its_first_step_never_stays_running(manager):
    """The task body, called directly: whatever fails after the claim ends the run."""
    from runs.engine import run_execute

    run = _slow_kind_run(manager, name="broken")
    assert run_execute(run_id=run.pk, worker="direct@host", task_id="t1") == "failed"
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert "Internal error before the first step" in run.error
    assert run_execute(run_id=run.pk, worker="direct@host", task_id="t2") is None  # claimed


def test_a_run_made_with_other_steps_fails_before_any_step_and_retries_with_the_kinds(manager):
    """A run created before an upgrade changed its kind's steps (a queued preparation when
    a step was added) fails at once, saying why, and its retry has the current steps.
    Without the check it would run the steps it has and crash on the first it lacks."""
    from runs.engine import run_execute
    from runs.services import run_retry

    run = _slow_kind_run(manager, seconds=0.1)
    Step.objects.filter(run=run).update(key="old-step")  # what an older version stored
    assert run_execute(run_id=run.pk, worker="direct@host", task_id="t1") == "failed"
    run.refresh_from_db()
    assert "made by another version of Liftoff" in run.error and "Retry" in run.error
    assert [s.status for s in run.steps.all()] == ["failed"]
    assert "waiting" not in "".join(LogChunk.objects.filter(run=run).values_list("text", flat=True))
    again = run_retry(run=run, actor=manager)
    assert [s.key for s in again.steps.all()] == ["wait"]
    assert run_execute(run_id=again.pk, worker="direct@host", task_id="t2") == "succeeded"
