"""50 deploy requests for one environment at the same moment, each a thread with its own
database connection, through the API: exactly one deployment, and 49 answers of 409 that
name it. The partial unique index `deployment_one_active_per_environment` decides (the
service's blockers are read before any row exists, so every request passes them). With
the index dropped, the run engine's lock on the environment still lets one through, but
its 409s name a run, not the deployment, and this test fails; with that lock dropped too,
several deployments are queued at once."""

import json
import threading

import pytest
from django.db import connections
from django.test import Client

from deployments.models import Deployment
from liftoff.tokens import token_create
from tests.deployments.api_world import make_world

REQUESTS = 50


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_deploy_requests_make_one_deployment(admin_user, manager):
    world = make_world(admin_user)
    _, secret = token_create(actor=manager, name="race", user=manager)
    body = json.dumps({"release": world.release.pk, "environment": "staging"})
    barrier = threading.Barrier(REQUESTS)
    answers: list[tuple[int, dict]] = []
    lock = threading.Lock()

    def deploy():
        try:
            client = Client(headers={"Authorization": f"Bearer {secret}"})
            barrier.wait(timeout=30)  # all at once, like 50 impatient clicks
            response = client.post("/api/v1/deployments/", body, content_type="application/json")
            answer = (response.status_code, response.json())
        except Exception as exc:  # reported by the assertion below, not lost in the thread
            answer = (0, {"error": repr(exc)})
        finally:
            connections.close_all()
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=deploy) for _ in range(REQUESTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert len(answers) == REQUESTS
    accepted = [body for code, body in answers if code == 202]
    refused = [body for code, body in answers if code == 409]
    assert len(accepted) == 1, [a for a in answers if a[0] != 409]
    assert len(refused) == REQUESTS - 1, [a for a in answers if a[0] != 202]
    winner = accepted[0]["id"]
    # Each refusal names the deployment in progress (the index's Conflict), not only the
    # run lock the run engine also takes (which would name a run, not the deployment).
    named = {(body.get("deployment_id"), body["detail"]) for body in refused}
    assert named == {
        (
            winner,
            f"staging has a deployment in progress (#{winner}, v1.0.0). One deployment at a "
            "time: wait for it to end, or cancel it.",
        )
    }
    assert all(body["missing"] == ["A deployment to staging is in progress."] for body in refused)
    assert list(Deployment.objects.values_list("pk", flat=True)) == [winner]
