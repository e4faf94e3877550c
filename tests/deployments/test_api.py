"""The API of environments and deployments (docs/api.md, "Deployments"): the shapes, who
may call what, and the refusals as 4xx JSON, never a 500."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from deployments.models import (
    Deployment,
    DeploymentKind,
    DeploymentStatus,
    FreezeKind,
    FreezeWindow,
)
from deployments.services import environment_create, secret_variable_set
from liftoff.roles import Role
from runs.services import run_log_append
from tests.deployments.api_world import make_world, verified_deployment
from tests.factories import ReleaseFactory

ENVIRONMENT_KEYS = {
    "name",
    "order",
    "phase",
    "strategy",
    "url",
    "current",
    "in_progress",
    "health",
    "lock",
    "freeze",
}
DEPLOYMENT_KEYS = {
    "id",
    "release",
    "project",
    "version",
    "commit",
    "environment",
    "kind",
    "status",
    "trigger",
    "requested_by",
    "verified",
    "rolled_back_by",
    "rollback_of",
    "replaced_version",
    "new_commits",
    "scheduled_for",
    "created_at",
    "started_at",
    "finished_at",
    "error",
    "run",
    "url",
    "steps",
    "log_tail",
}


@pytest.fixture
def world(admin_user):
    return make_world(admin_user)


def _deploy(client, world, environment="staging", **extra):
    body = {"release": world.release.pk, "environment": environment, **extra}
    return client.post("/api/v1/deployments/", body, content_type="application/json")


# --- Environments ------------------------------------------------------------------------


@pytest.mark.django_db
def test_environments_list_in_order_with_their_state_and_no_secret(client_as, stakeholder, world):
    secret_variable_set(
        environment=world.production, actor=None, name="TOKEN", value="s3cr3t-value"
    )
    world.production.refresh_from_db()
    response = client_as(stakeholder).get("/api/v1/projects/rocket/environments/")
    assert response.status_code == 200
    body = response.json()
    assert [e["name"] for e in body] == ["staging", "production"]
    assert set(body[0]) == ENVIRONMENT_KEYS
    assert body[0] | {"health": None} == {
        "name": "staging",
        "order": 1,
        "phase": "staging",
        "strategy": "command",
        "url": "http://127.0.0.1:9/",
        "current": None,
        "in_progress": None,
        "health": None,
        "lock": None,
        "freeze": None,
    }
    assert body[0]["health"] == {"status": "unknown", "checked_at": None, "detail": ""}
    text = response.content.decode()
    assert world.production.webhook_secret and world.production.webhook_secret not in text
    assert "s3cr3t-value" not in text and "deploy_commands" not in text


@pytest.mark.django_db
def test_an_environment_says_what_runs_there_its_lock_and_its_freeze(
    client_as, stakeholder, manager, world
):
    done = verified_deployment(world.staging, world.release)
    FreezeWindow.objects.create(
        project=world.project,
        kind=FreezeKind.ONE_OFF,
        reason="Quarter close",
        starts_at=timezone.now() - timedelta(hours=1),
        ends_at=timezone.now() + timedelta(hours=1),
    )
    locked = client_as(manager).post(
        "/api/v1/projects/rocket/environments/staging/lock/",
        {"reason": "Database migration"},
        content_type="application/json",
    )
    assert locked.status_code == 200 and locked.json()["lock"] == "Database migration"

    body = client_as(stakeholder).get("/api/v1/projects/rocket/environments/staging/").json()
    assert body["current"] == {
        "version": "1.0.0",
        "commit": world.release.head_commit,
        "deployment": done.pk,
        "since": done.finished_at.isoformat().replace("+00:00", "Z"),
    }
    assert body["lock"] == "Database migration"
    assert body["freeze"]["reason"] == "Quarter close"
    assert body["freeze"]["description"].endswith("UTC")


@pytest.mark.django_db
def test_an_unknown_environment_or_project_is_a_json_404(client_as, stakeholder, world):
    client = client_as(stakeholder)
    for path in (
        "/api/v1/projects/rocket/environments/nope/",
        "/api/v1/projects/nope/environments/",
        "/api/v1/projects/nope/environments/staging/",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert set(response.json()) == {"detail", "errors"}


@pytest.mark.django_db
def test_lock_needs_a_reason_and_unlock_needs_a_lock(client_as, manager, world):
    client = client_as(manager)
    base = "/api/v1/projects/rocket/environments/staging"
    blank = client.post(f"{base}/lock/", {"reason": ""}, content_type="application/json")
    assert blank.status_code == 400 and "reason" in blank.json()["errors"]
    assert client.post(f"{base}/unlock/").status_code == 409
    client.post(f"{base}/lock/", {"reason": "Maintenance"}, content_type="application/json")
    unlocked = client.post(f"{base}/unlock/")
    assert unlocked.status_code == 200 and unlocked.json()["lock"] is None


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.STAKEHOLDER, Role.APPROVER])
@pytest.mark.parametrize("action", ["lock", "unlock", "rollback"])
def test_only_release_managers_lock_unlock_and_roll_back(client_as, make_user, world, role, action):
    response = client_as(make_user(role)).post(
        f"/api/v1/projects/rocket/environments/staging/{action}/",
        {"reason": "x"},
        content_type="application/json",
    )
    assert response.status_code == 403
    world.staging.refresh_from_db()
    assert not world.staging.locked and not Deployment.objects.exists()


@pytest.mark.django_db
def test_anonymous_callers_are_told_to_authenticate(client, world):
    assert client.get("/api/v1/projects/rocket/environments/").status_code == 401
    assert client.get("/api/v1/deployments/").status_code == 401
    assert _deploy(client, world).status_code == 401


# --- Deploy ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_manager_deploys_and_is_answered_with_the_queued_deployment(client_as, manager, world):
    response = _deploy(client_as(manager), world)
    assert response.status_code == 202, response.json()
    body = response.json()
    assert set(body) == DEPLOYMENT_KEYS
    deployment = Deployment.objects.get()
    assert body["id"] == deployment.pk and body["run"] == deployment.run_id is not None
    assert body["status"] == "queued" and body["kind"] == "deploy"
    assert body["release"] == world.release.pk and body["project"] == "rocket"
    assert body["environment"] == "staging" and body["version"] == "1.0.0"
    assert body["requested_by"] == manager.username and body["trigger"] == "person"
    assert body["url"] == f"http://testserver/deployments/{deployment.pk}/"
    assert [s["key"] for s in body["steps"]]  # the run's steps, pending


@pytest.mark.django_db
def test_a_deployment_at_a_later_time_is_scheduled(client_as, manager, world):
    at = (timezone.now() + timedelta(hours=2)).replace(microsecond=0)
    response = _deploy(client_as(manager), world, at=at.isoformat())
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["status"] == "scheduled" and body["run"] is None
    assert body["scheduled_for"] == at.isoformat().replace("+00:00", "Z")


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.STAKEHOLDER, Role.APPROVER])
def test_readers_may_not_deploy(client_as, make_user, world, role):
    assert _deploy(client_as(make_user(role)), world).status_code == 403
    assert not Deployment.objects.exists()


GONE = object()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"release": 999999}, "release"),
        ({"release": "x"}, "release"),
        ({"release": None}, "release"),
        ({"release": GONE}, "release"),
        ({"environment": ""}, "environment"),
        ({"environment": "nope"}, "environment"),
        ({"environment": GONE}, "environment"),
        ({"at": "next tuesday"}, "at"),
        ({"at": "2026-13-45T99:00:00Z"}, "at"),
        ({"override_reason": ["a", "list"]}, "override_reason"),
    ],
)
def test_a_wrong_body_is_a_400_naming_the_field(client_as, manager, world, overrides, field):
    body = {"release": world.release.pk, "environment": "staging", **overrides}
    body = {k: v for k, v in body.items() if v is not GONE}
    response = client_as(manager).post(
        "/api/v1/deployments/", body, content_type="application/json"
    )
    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"]
    assert not Deployment.objects.exists()


@pytest.mark.django_db
def test_an_environment_of_another_project_is_unknown_to_the_release(
    client_as, manager, admin_user, world
):
    environment_create(
        project=world.project, actor=admin_user, name="canary", deploy_commands=[["true"]]
    )
    other = make_world(admin_user, slug="other")
    body = {"release": other.release.pk, "environment": "canary"}
    response = client_as(manager).post(
        "/api/v1/deployments/", body, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "environment": [f"No environment “canary” in {other.project.name}."]
    }
    assert not Deployment.objects.exists()


@pytest.mark.django_db
def test_a_blocked_deployment_is_a_409_with_what_is_missing(client_as, manager, world):
    client = client_as(manager)
    client.post(
        "/api/v1/projects/rocket/environments/staging/lock/",
        {"reason": "Database migration"},
        content_type="application/json",
    )
    response = _deploy(client, world)
    assert response.status_code == 409
    body = response.json()
    assert body["detail"] == "v1.0.0 cannot be deployed to staging yet."
    assert body["missing"] == ["staging is locked: Database migration."]
    # Production needs the commit verified on staging first.
    client.post("/api/v1/projects/rocket/environments/staging/unlock/")
    production = _deploy(client, world, environment="production")
    assert production.status_code == 409
    assert "deploy it to staging first" in production.json()["missing"][0]
    assert not Deployment.objects.exists()


@pytest.mark.django_db
def test_a_second_deployment_while_one_is_in_progress_names_it(client_as, manager, world):
    client = client_as(manager)
    first = _deploy(client, world).json()
    second = _deploy(client, world)
    assert second.status_code == 409
    body = second.json()
    assert body["deployment_id"] == first["id"]
    assert body["missing"] == ["A deployment to staging is in progress."]
    assert Deployment.objects.count() == 1


# --- Read, list, cancel, abort, roll back -----------------------------------------------


@pytest.mark.django_db
def test_the_list_is_a_page_filtered_by_project_environment_status_kind_and_dates(
    client_as, stakeholder, admin_user, world
):
    old = verified_deployment(world.staging, world.release)
    Deployment.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=10))
    newer = ReleaseFactory(project=world.project, version="1.1.0", head_commit="b" * 40)
    recent = verified_deployment(world.staging, newer, minutes_ago=1)
    other = make_world(admin_user, slug="other")
    verified_deployment(other.staging, other.release)
    client = client_as(stakeholder)

    def ids(query):
        response = client.get(f"/api/v1/deployments/?{query}")
        assert response.status_code == 200, response.json()
        return [d["id"] for d in response.json()["results"]]

    page = client.get("/api/v1/deployments/?limit=1").json()
    assert page["count"] == 3 and len(page["results"]) == 1 and page["next"]
    assert set(page["results"][0]) == DEPLOYMENT_KEYS - {"steps", "log_tail"}
    assert ids("project=rocket") == [recent.pk, old.pk]
    assert ids("project=rocket&environment=production") == []
    assert ids("status=succeeded&kind=deploy&project=rocket") == [recent.pk, old.pk]
    assert ids("kind=rollback") == []
    since = (timezone.now() - timedelta(days=2)).date().isoformat()
    assert old.pk not in ids(f"since={since}")
    assert ids(f"until={since}") == [old.pk]
    assert ids(f"release={newer.pk}") == [recent.pk]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query", ["status=sleeping", "kind=redeploy", "since=yesterday", "until=2026-02-30"]
)
def test_a_wrong_filter_is_a_400(client_as, stakeholder, query):
    response = client_as(stakeholder).get(f"/api/v1/deployments/?{query}")
    assert response.status_code == 400
    assert query.split("=")[0] in response.json()["errors"]


@pytest.mark.django_db
def test_a_deployment_reads_with_its_steps_and_log_tail_secrets_masked(
    client_as, manager, stakeholder, world
):
    deployment_id = _deploy(client_as(manager), world).json()["id"]
    deployment = Deployment.objects.get(pk=deployment_id)
    # A secret set after the log was written, and a path of the workers' data folder.
    run_log_append(
        run_id=deployment.run_id,
        step_id=None,
        seq=1,
        text=f"token=hunter2-secret\ncd {settings.DATA_DIR}/checkouts/rocket\n",
    )
    secret_variable_set(environment=world.staging, actor=None, name="T", value="hunter2-secret")
    Deployment.objects.filter(pk=deployment_id).update(error=f"failed in {settings.DATA_DIR}/x")

    as_manager = client_as(manager).get(f"/api/v1/deployments/{deployment_id}/").json()
    assert "token=••••••" in as_manager["log_tail"] and "hunter2" not in str(as_manager)
    assert str(settings.DATA_DIR) in as_manager["log_tail"]
    as_reader = client_as(stakeholder).get(f"/api/v1/deployments/{deployment_id}/").json()
    assert "hunter2" not in str(as_reader)
    assert str(settings.DATA_DIR) not in as_reader["log_tail"]
    assert str(settings.DATA_DIR) not in as_reader["error"]
    assert [s["key"] for s in as_reader["steps"]] == [s["key"] for s in as_manager["steps"]]


@pytest.mark.django_db
def test_an_unknown_deployment_is_a_json_404(client_as, manager):
    client = client_as(manager)
    assert client.get("/api/v1/deployments/424242/").status_code == 404
    for action in ("cancel", "abort"):
        response = client.post(f"/api/v1/deployments/424242/{action}/")
        assert response.status_code == 404 and response.json()["errors"] == {}


@pytest.mark.django_db
def test_cancel_a_scheduled_deployment_then_again_is_a_409(client_as, manager, stakeholder, world):
    at = (timezone.now() + timedelta(hours=2)).isoformat()
    deployment_id = _deploy(client_as(manager), world, at=at).json()["id"]
    assert (
        client_as(stakeholder).post(f"/api/v1/deployments/{deployment_id}/cancel/").status_code
        == 403
    )
    response = client_as(manager).post(f"/api/v1/deployments/{deployment_id}/cancel/")
    assert response.status_code == 202 and response.json()["status"] == "cancelled"
    again = client_as(manager).post(f"/api/v1/deployments/{deployment_id}/cancel/")
    assert again.status_code == 409 and again.json()["detail"].startswith("This deployment has")


@pytest.mark.django_db
def test_abort_asks_a_queued_deployment_to_stop_and_roll_back(client_as, manager, world):
    deployment_id = _deploy(client_as(manager), world).json()["id"]
    response = client_as(manager).post(f"/api/v1/deployments/{deployment_id}/abort/")
    assert response.status_code == 202, response.json()
    assert Deployment.objects.get(pk=deployment_id).abort_requested_at is not None
    done = verified_deployment(world.staging, world.release)
    refused = client_as(manager).post(f"/api/v1/deployments/{done.pk}/abort/")
    assert refused.status_code == 409


@pytest.mark.django_db
def test_emergency_rollback_redeploys_the_last_verified_version(client_as, manager, world):
    client = client_as(manager)
    url = "/api/v1/projects/rocket/environments/staging/rollback/"
    nothing = client.post(url)
    assert nothing.status_code == 409
    assert nothing.json()["missing"] == ["No version was ever verified there before this one."]

    verified_deployment(world.staging, world.release, minutes_ago=30)
    newer = ReleaseFactory(project=world.project, version="1.1.0", head_commit="b" * 40)
    current = verified_deployment(world.staging, newer, minutes_ago=5)
    response = client.post(url)
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["kind"] == DeploymentKind.ROLLBACK and body["trigger"] == "emergency"
    assert body["version"] == "1.0.0" and body["replaced_version"] == "1.1.0"
    assert body["rollback_of"] == current.pk and body["status"] == DeploymentStatus.QUEUED
    undone = client.get(f"/api/v1/deployments/{current.pk}/").json()
    assert undone["rolled_back_by"] == body["id"]


@pytest.mark.django_db
def test_every_operation_is_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    expected = {
        "/api/v1/projects/{slug}/environments/": {"get"},
        "/api/v1/projects/{slug}/environments/{name}/": {"get"},
        "/api/v1/projects/{slug}/environments/{name}/rollback/": {"post"},
        "/api/v1/projects/{slug}/environments/{name}/lock/": {"post"},
        "/api/v1/projects/{slug}/environments/{name}/unlock/": {"post"},
        "/api/v1/deployments/": {"get", "post"},
        "/api/v1/deployments/{deployment_id}/": {"get"},
        "/api/v1/deployments/{deployment_id}/cancel/": {"post"},
        "/api/v1/deployments/{deployment_id}/abort/": {"post"},
    }
    for path, methods in expected.items():
        assert set(paths[path]) == methods, path
    post = paths["/api/v1/deployments/"]["post"]["responses"]
    assert {"202", "400", "401", "403", "409"} <= set(post)
