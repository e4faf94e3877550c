"""Run pages, the progress fragment and the runs API: access, behaviour, query counts."""

import re
from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from releases.models import Project
from runs.models import LogChunk, Run, RunStatus, Step, StepStatus
from runs.services import run_cancel, run_create, run_finish, run_log_append, step_transition
from tests.factories import ProjectFactory, ReleaseFactory
from tests.runs import kinds  # noqa: F401 - registers the test kinds

pytestmark = pytest.mark.django_db


def _run(manager, *, steps=1, chunks=0, status=RunStatus.QUEUED, kind="test.slow"):
    project = ProjectFactory()
    run = run_create(kind=kind, subject=project, scope=project.slug, requested_by=manager)
    for order in range(1, steps):
        Step.objects.create(run=run, order=order, key=f"s{order}", name=f"Step {order}")
    LogChunk.objects.bulk_create(
        LogChunk(run=run, seq=i, text=f"line {i} " * 20 + "\n") for i in range(chunks)
    )
    Run.objects.filter(pk=run.pk).update(status=status)
    run.refresh_from_db()
    return run


@pytest.mark.parametrize(("steps", "chunks"), [(3, 5), (40, 2000)])
def test_progress_fragment_makes_constant_queries(
    client_as, manager, steps, chunks, django_assert_max_num_queries
):
    run = _run(manager, steps=steps, chunks=chunks, status=RunStatus.RUNNING)
    client = client_as(manager)
    client.get(f"/runs/{run.pk}/progress/", headers={"HX-Request": "true"})  # warm caches
    with django_assert_max_num_queries(7):
        response = client.get(f"/runs/{run.pk}/progress/", headers={"HX-Request": "true"})
    assert response.status_code == 200
    body = response.content.decode()
    assert 'hx-trigger="every 1s"' in body
    assert f"line {chunks - 1}" in body  # the tail is the end of the log
    assert "line 0 " not in body or chunks < 12


def test_progress_of_a_finished_run_stops_polling(client_as, manager):
    run = _run(manager, status=RunStatus.SUCCEEDED)
    response = client_as(manager).get(f"/runs/{run.pk}/progress/", headers={"HX-Request": "true"})
    assert response.status_code == 286
    assert "hx-trigger" not in response.content.decode()
    assert "liftoff:run-finished" in response["HX-Trigger"]


def _poll(client, run, version=None):
    """One htmx poll of the fragment, sending the version it shows as hx-vals would."""
    data = {"v": version} if version else {}
    return client.get(f"/runs/{run.pk}/progress/", data, headers={"HX-Request": "true"})


def _version(response) -> str:
    found = re.search(r"""hx-vals='\{"v": "([0-9a-f]+)"\}'""", response.content.decode())
    assert found, "the fragment carries no version"
    return found.group(1)


def test_an_unchanged_poll_answers_204_with_fewer_queries(
    client_as, manager, django_assert_max_num_queries
):
    run = _run(manager, steps=6, chunks=200, status=RunStatus.RUNNING)
    client = client_as(manager)
    with CaptureQueriesContext(connection) as full:
        version = _version(_poll(client, run))
    # Session, the user with their roles, and the version: not the run, its steps or its
    # log tail.
    with django_assert_max_num_queries(3):
        response = _poll(client, run, version)
    assert len(full.captured_queries) > 3
    assert response.status_code == 204
    assert response.content == b""
    assert "HX-Request" in response["Vary"]


def test_the_run_page_carries_the_version_its_first_poll_sends(client_as, manager):
    run = _run(manager, steps=3, chunks=2, status=RunStatus.RUNNING)
    client = client_as(manager)
    version = _version(client.get(f"/runs/{run.pk}/"))
    assert _poll(client, run, version).status_code == 204


def test_a_log_line_changes_the_version(client_as, manager):
    run = _run(manager, steps=2, chunks=3, status=RunStatus.RUNNING)
    client = client_as(manager)
    version = _version(_poll(client, run))
    # As the engine writes its log (StepContext._flush_locked).
    run_log_append(run_id=run.pk, step_id=None, seq=3, text="[liftoff] fresh line\n")
    response = _poll(client, run, version)
    assert response.status_code == 200
    assert "fresh line" in response.content.decode()
    fresh = _version(response)
    assert fresh != version
    assert _poll(client, run, fresh).status_code == 204


def test_a_step_started_and_finished_changes_the_version(client_as, manager):
    run = _run(manager, steps=2, status=RunStatus.RUNNING)
    first = run.steps.get(order=0)
    client = client_as(manager)
    version = _version(_poll(client, run))
    # As the engine moves a step (runs.engine._run_steps).
    step_transition(step=first, to=StepStatus.RUNNING, started_at=timezone.now())
    response = _poll(client, run, version)
    assert response.status_code == 200
    assert "running…" in response.content.decode()
    started = _version(response)
    assert started != version
    assert _poll(client, run, started).status_code == 204
    step_transition(step=first, to=StepStatus.SUCCEEDED, summary="all good")
    response = _poll(client, run, started)
    assert response.status_code == 200
    assert "all good" in response.content.decode()
    assert 'value="1"' in response.content.decode()  # the progress bar moved
    finished = _version(response)
    assert finished not in {version, started}
    assert _poll(client, run, finished).status_code == 204


def test_a_cancel_request_changes_the_version(client_as, manager):
    run = _run(manager, status=RunStatus.RUNNING)
    client = client_as(manager)
    version = _version(_poll(client, run))
    run_cancel(run=run, actor=manager)
    response = _poll(client, run, version)
    assert response.status_code == 200
    assert "cancelling…" in response.content.decode()


def test_the_ago_text_refreshes_when_it_would_read_differently(client_as, manager):
    run = _run(manager, status=RunStatus.RUNNING)
    client = client_as(manager)
    version = _version(_poll(client, run))
    Run.objects.filter(pk=run.pk).update(created_at=F("created_at") - timedelta(minutes=3))
    response = _poll(client, run, version)
    assert response.status_code == 200
    assert "3\xa0minutes ago" in response.content.decode()


def test_a_run_that_ended_answers_286_whatever_version_is_sent(client_as, manager):
    run = _run(manager, steps=2, status=RunStatus.RUNNING)
    client = client_as(manager)
    version = _version(_poll(client, run))
    assert run_finish(run=run, status=RunStatus.SUCCEEDED)
    response = _poll(client, run, version)
    assert response.status_code == 286
    body = response.content.decode()
    assert "hx-trigger" not in body and "hx-vals" not in body
    assert "liftoff:run-finished" in response["HX-Trigger"]
    assert _poll(client, run, version).status_code == 286  # and again, never a 204


def test_an_anonymous_poll_with_a_current_version_is_sent_to_log_in(client, client_as, manager):
    run = _run(manager, status=RunStatus.RUNNING)
    version = _version(_poll(client_as(manager), run))
    client.logout()
    response = _poll(client, run, version)
    assert response.status_code == 200  # htmx's client redirect, as for any fragment
    assert response["HX-Redirect"].startswith("/accounts/login/?next=")
    assert response.content == b""
    assert client.get(f"/runs/{run.pk}/progress/", {"v": version}).status_code == 302


def test_a_user_without_a_role_cannot_poll_even_with_a_current_version(
    client, client_as, manager, make_user
):
    run = _run(manager, status=RunStatus.RUNNING)
    version = _version(_poll(client_as(manager), run))
    assert _poll(client_as(make_user(None)), run, version).status_code == 403


def test_a_stakeholder_polls_a_run(client_as, stakeholder, manager):
    run = _run(manager, status=RunStatus.RUNNING)
    client = client_as(stakeholder)
    response = _poll(client, run)
    assert response.status_code == 200
    assert ">Cancel<" not in response.content.decode()
    assert _poll(client, run, _version(response)).status_code == 204


def test_a_poll_of_a_run_that_does_not_exist_is_a_404(client_as, stakeholder):
    assert _poll(client_as(stakeholder), Run(pk=999_999), "0123456789abcdef").status_code == 404


def test_progress_without_htmx_goes_to_the_run_page(client_as, stakeholder, manager):
    run = _run(manager)
    response = client_as(stakeholder).get(f"/runs/{run.pk}/progress/")
    assert response.status_code == 302
    assert response["Location"] == f"/runs/{run.pk}/"


def test_stakeholder_reads_a_run_but_cannot_act(client_as, stakeholder, manager):
    run = _run(manager)
    client = client_as(stakeholder)
    page = client.get(f"/runs/{run.pk}/").content.decode()
    assert "Waiting for a worker" in page
    assert ">Cancel<" not in page
    assert client.post(f"/runs/{run.pk}/cancel/").status_code == 403
    assert client.post(f"/api/v1/runs/{run.pk}/cancel/").status_code == 403
    assert client.get("/runs/").status_code == 403
    run.refresh_from_db()
    assert run.status == RunStatus.QUEUED


def test_manager_cancels_a_queued_run_at_once(client_as, manager):
    run = _run(manager)
    response = client_as(manager).post(f"/runs/{run.pk}/cancel/", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "Cancelled" in response.content.decode()
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED
    assert set(run.steps.values_list("status", flat=True)) == {"cancelled"}
    assert run.locks.count() == 0


def test_retry_of_a_run_that_succeeded_is_a_409(client_as, manager):
    run = _run(manager, status=RunStatus.SUCCEEDED)
    response = client_as(manager).post(f"/api/v1/runs/{run.pk}/retry/")
    assert response.status_code == 409
    assert response.json()["detail"] == "Only a failed or cancelled run can be retried."


def test_retry_of_a_failed_run_links_to_it(client_as, manager):
    run = _run(manager, status=RunStatus.FAILED)
    response = client_as(manager).post(f"/api/v1/runs/{run.pk}/retry/")
    assert response.status_code == 202
    body = response.json()
    assert body["retry_of"] == run.pk and body["status"] == "queued"
    assert [s["status"] for s in body["steps"]] == ["pending"]


def test_run_api_contract(client_as, stakeholder, manager):
    run = _run(manager, chunks=3)
    body = client_as(stakeholder).get(f"/api/v1/runs/{run.pk}/").json()
    assert body["status"] == "queued"
    assert body["steps"][0]["name"] == "Test slow"
    assert set(body["steps"][0]) >= {"name", "status", "started_at", "finished_at"}
    assert "line 2" in body["log_tail"]
    project = Project.objects.get(pk=run.subject_id)
    assert body["subject"] == {
        "type": "project",
        "id": run.subject_id,
        "label": project.name,
        "url": f"/projects/{project.slug}/",
    }
    assert body["scope"] == run.scope != ""


def test_runs_list_filters(client_as, manager):
    queued = _run(manager)
    failed = _run(manager, status=RunStatus.FAILED, kind="test.counted")
    client = client_as(manager)
    body = client.get("/runs/").content.decode()
    assert f"#{queued.pk}<" in body and f"#{failed.pk}<" in body
    body = client.get("/runs/?status=failed").content.decode()
    assert f"#{failed.pk}<" in body and f"#{queued.pk}<" not in body
    body = client.get(f"/runs/?scope={queued.scope}").content.decode()
    assert f"#{queued.pk}<" in body and f"#{failed.pk}<" not in body
    # The filter offers the scopes that have runs, whatever app made them.
    assert f'<option value="{queued.scope}" selected>' in body
    assert f'<option value="{failed.scope}">' in body
    body = client.get("/runs/?kind=test.counted").content.decode()
    assert f"#{failed.pk}<" in body and f"#{queued.pk}<" not in body


def test_a_scope_link_filters_before_the_scope_list_knows_it(client_as, manager):
    # The filter's scopes are kept for a minute; a newer run's scope link must still filter.
    client = client_as(manager)
    first = _run(manager)
    client.get("/runs/")
    newer = run_create(
        kind="test.slow", subject=ProjectFactory(), scope="newer-project", requested_by=manager
    )
    body = client.get("/runs/?scope=newer-project").content.decode()
    assert f"#{newer.pk}<" in body and f"#{first.pk}<" not in body
    assert '<option value="newer-project" selected>' in body


def test_runs_list_makes_constant_queries(client_as, manager, django_assert_max_num_queries):
    client = client_as(manager)
    client.get("/runs/")
    for count in (3, 30):
        while Run.objects.count() < count:
            _run(manager)
        # The session, the user and their roles, the count, the rows' version, (the rows
        # changed) the page of runs, and the navigation's approvals count (a gate may name
        # release managers as its signers: one query with nothing in flight): the scopes
        # and the heartbeat are kept.
        with django_assert_max_num_queries(7):
            assert client.get("/runs/").status_code == 200
        # Nothing changed: the rows come from the cache, without the page of runs.
        with django_assert_max_num_queries(6):
            assert client.get("/runs/").status_code == 200


def test_sync_is_refused_to_a_stakeholder(client_as, stakeholder):
    ProjectFactory(slug="demo")
    client = client_as(stakeholder)
    assert client.post("/projects/demo/sync/").status_code == 403
    response = client.post("/api/v1/projects/demo/sync/")
    assert response.status_code == 403
    assert Run.objects.count() == 0


def test_sync_twice_shows_the_running_one(client_as, manager):
    project = ProjectFactory(slug="demo")
    client = client_as(manager)
    first = client.post("/api/v1/projects/demo/sync/")
    assert first.status_code == 202
    again = client.post("/api/v1/projects/demo/sync/")
    assert again.status_code == 409
    assert f"run #{first.json()['id']}" in again.json()["detail"]
    page = client.post("/projects/demo/sync/", headers={"HX-Request": "true"})
    assert "already queued or running" in page.content.decode()
    assert Run.objects.filter(subject_type=ContentType.objects.get_for_model(project)).count() == 1


def test_the_runs_list_shows_a_runs_status_as_it_changes(client_as, manager):
    """The rows are kept rendered under their version (each run's id, status and creation
    time): a run whose status changes renders them anew."""
    run = _run(manager, status=RunStatus.RUNNING)
    client = client_as(manager)
    row = re.compile(rf"#{run.pk}</a>.*?</tr>", re.S)
    assert "Running" in row.search(client.get("/runs/").content.decode()).group()
    assert run_finish(run=run, status=RunStatus.FAILED, error="boom")
    assert "Failed" in row.search(client.get("/runs/").content.decode()).group()
    assert "Failed" in row.search(client.get("/runs/").content.decode()).group()  # cached
    # Another run, with another creation time, never gets this one's row.
    other = _run(manager, status=RunStatus.SUCCEEDED, kind="test.counted")
    page = client.get("/runs/").content.decode()
    other_row = re.compile(rf"#{other.pk}</a>.*?</tr>", re.S).search(page).group()
    assert "Succeeded" in other_row


def test_a_run_that_did_not_achieve_everything_says_so_in_its_status(client_as, manager):
    run = _run(manager, status=RunStatus.RUNNING)
    assert run_finish(run=run, status=RunStatus.SUCCEEDED, outcome="4 of 5 commands succeeded")
    client = client_as(manager)
    assert "Finished: 4 of 5 commands succeeded" in client.get("/runs/").content.decode()
    assert "Finished: 4 of 5 commands succeeded" in client.get(f"/runs/{run.pk}/").content.decode()
    assert client.get(f"/api/v1/runs/{run.pk}/").json()["outcome"] == "4 of 5 commands succeeded"
    # A run that failed says only that: an outcome qualifies a success.
    failed = _run(manager, status=RunStatus.RUNNING)
    assert run_finish(run=failed, status=RunStatus.FAILED, error="boom", outcome="ignored")
    failed.refresh_from_db()
    assert failed.outcome == "" and failed.status_label == "Failed"


def test_runs_name_and_link_what_they_are_about(client_as, manager):
    release = ReleaseFactory(release_manager=manager, version="2.3.0")
    run = run_create(
        kind="test.slow", subject=release, scope=release.project.slug, requested_by=manager
    )
    body = client_as(manager).get("/runs/").content.decode()
    assert f'<a href="/releases/{release.pk}/">{release.project.slug} v2.3.0</a>' in body
    assert run.subject_label == f"{release.project.slug} v2.3.0"


def test_only_operators_see_the_workers_paths(client_as, manager, stakeholder, settings):
    run = _run(manager, status=RunStatus.RUNNING)
    path = f"{settings.DATA_DIR}/validation/svc/run-{run.pk}"
    LogChunk.objects.create(run=run, seq=0, text=f"checked out into {path}\n")
    assert run_finish(run=run, status=RunStatus.FAILED, error=f"{path}/x is missing")
    manager_page = client_as(manager).get(f"/runs/{run.pk}/").content.decode()
    assert path in manager_page
    reader = client_as(stakeholder)
    for body in (
        reader.get(f"/runs/{run.pk}/").content.decode(),
        reader.get(f"/api/v1/runs/{run.pk}/").content.decode(),
    ):
        assert str(settings.DATA_DIR) not in body
        assert f"…/validation/svc/run-{run.pk}" in body
