"""Run pages, the progress fragment and the runs API: access, behaviour, query counts."""

import pytest
from django.contrib.contenttypes.models import ContentType

from runs.models import LogChunk, Run, RunStatus, Step
from runs.services import run_create
from tests.factories import ProjectFactory
from tests.runs import kinds  # noqa: F401 - registers the test kinds

pytestmark = pytest.mark.django_db


def _run(manager, *, steps=1, chunks=0, status=RunStatus.QUEUED, kind="test.slow"):
    project = ProjectFactory()
    run = run_create(kind=kind, subject=project, project=project, requested_by=manager)
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
    assert body["subject"] == {"type": "project", "id": str(run.project_id)}


def test_runs_list_filters(client_as, manager):
    queued = _run(manager)
    failed = _run(manager, status=RunStatus.FAILED, kind="test.counted")
    client = client_as(manager)
    body = client.get("/runs/").content.decode()
    assert f"#{queued.pk}<" in body and f"#{failed.pk}<" in body
    body = client.get("/runs/?status=failed").content.decode()
    assert f"#{failed.pk}<" in body and f"#{queued.pk}<" not in body
    body = client.get(f"/runs/?project={queued.project_id}").content.decode()
    assert f"#{queued.pk}<" in body and f"#{failed.pk}<" not in body
    body = client.get("/runs/?kind=test.counted").content.decode()
    assert f"#{failed.pk}<" in body and f"#{queued.pk}<" not in body


def test_runs_list_makes_constant_queries(client_as, manager, django_assert_max_num_queries):
    client = client_as(manager)
    client.get("/runs/")
    for count in (3, 30):
        while Run.objects.count() < count:
            _run(manager)
        with django_assert_max_num_queries(9):
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
