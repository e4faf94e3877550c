"""Deployments end to end with a real worker, real subprocesses, a real git remote and a
real HTTP service on 127.0.0.1: each strategy, verification, automatic, aborted and
emergency rollbacks, the release following its deployments, and a worker killed half-way."""

import base64
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import git
import pytest
from django.test import override_settings

from deployments.models import Deployment, DeploymentStatus, Environment, SecretVariable
from deployments.selectors import environment_current
from deployments.services import (
    deployment_abort,
    deployment_start,
    environment_create,
    environment_rollback,
    environment_unlock,
    health_check_set,
    secret_variable_set,
)
from liftoff.errors import Conflict
from liftoff.models import AuditEvent
from releases.models import Release, ReleaseStatus
from runs.models import LogChunk, RunLock
from runs.services import runs_reap_stale, runs_sweep_queued
from tests.deployments.conftest import command_environment, reload
from tests.helpers import free_port, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _ended(deployment, timeout=90):
    def done():
        deployment.refresh_from_db()
        return deployment.is_final

    wait_for(done, timeout=timeout, message=f"deployment #{deployment.pk} to end")
    return deployment


def _log(deployment) -> str:
    return "".join(LogChunk.objects.filter(run_id=deployment.run_id).values_list("text", flat=True))


def _rollback_of(deployment, timeout=90):
    wait_for(
        lambda: Deployment.objects.filter(rollback_of=deployment).exists(),
        timeout=timeout,
        message="the rollback",
    )
    return _ended(Deployment.objects.get(rollback_of=deployment), timeout)


def test_a_command_deployment_is_verified_and_the_release_follows_to_released(
    start_worker, shop, health_service, manager
):
    project, release = shop["project"], shop["good"]
    staging = command_environment(
        project, health_service, name="staging", order=1, phase="staging", url_slot="staging"
    )
    production = command_environment(
        project, health_service, name="production", order=2, phase="production", url_slot="live"
    )
    secret_variable_set(environment=staging, actor=None, name="API_TOKEN", value="s3cr3t-t0ken")
    start_worker()

    # Production first is refused: staging has not verified this commit.
    with pytest.raises(Conflict) as refused:
        deployment_start(release=release, environment=production, actor=manager)
    assert any("deploy it to staging first" in m for m in refused.value.extra["missing"])

    deployment = _ended(deployment_start(release=release, environment=staging, actor=manager))
    assert deployment.status == DeploymentStatus.SUCCEEDED, deployment.error
    assert deployment.verified
    assert reload(release).status == ReleaseStatus.STAGING
    # Every commit of the remote is new to staging, oldest first, with its time.
    assert [c["sha"] for c in deployment.new_commits][-1] == shop["good_commit"]
    assert all(c["committed_at"] for c in deployment.new_commits)
    log = _log(deployment)
    assert "deploying 1.0.0 to staging" in log
    assert "s3cr3t-t0ken" not in log and "token ••••••" in log
    assert environment_current(environment=staging).pk == deployment.pk

    deployment = _ended(deployment_start(release=release, environment=production, actor=manager))
    assert deployment.status == DeploymentStatus.SUCCEEDED, deployment.error
    release = reload(release)
    assert release.status == ReleaseStatus.RELEASED
    assert release.tagged_at is not None
    # The production ritual tagged the commit and pushed the tag to the remote.
    assert git.Repo(shop["bare"]).tags["v1.0.0"].commit.hexsha == shop["good_commit"]
    assert RunLock.objects.count() == 0


def test_failed_verification_rolls_back_to_the_last_verified_version_and_locks(
    start_worker, shop, health_service, manager
):
    project = shop["project"]
    staging = command_environment(
        project, health_service, name="staging", order=1, phase="staging", url_slot="staging"
    )
    start_worker()
    first = _ended(deployment_start(release=shop["good"], environment=staging, actor=manager))
    assert first.status == DeploymentStatus.SUCCEEDED

    bad = _ended(deployment_start(release=shop["broken"], environment=staging, actor=manager))
    assert bad.status == DeploymentStatus.FAILED
    assert bad.verification_failed and not bad.verified
    assert "Verification failed" in bad.error and "503" in bad.error
    # Only the new commit is new to staging.
    assert [c["sha"] for c in bad.new_commits] == [shop["broken_commit"]]

    rollback = _rollback_of(bad)
    assert rollback.kind == "rollback" and rollback.trigger == "auto_rollback"
    assert rollback.status == DeploymentStatus.SUCCEEDED, rollback.error
    assert rollback.version == "1.0.0" and rollback.replaced_version == "1.0.0"
    assert "rollback" in _log(rollback)
    assert environment_current(environment=staging).pk == rollback.pk
    assert (health_service.state / "staging.version").read_text() == "1.0.0"
    staging = reload(staging)
    assert staging.locked and "failed verification" in staging.locked_reason

    # Locked: the next deployment is refused until a manager unlocks.
    with pytest.raises(Conflict) as refused:
        deployment_start(release=shop["broken"], environment=staging, actor=manager)
    assert any("is locked" in m for m in refused.value.extra["missing"])
    environment_unlock(environment=staging, actor=manager)
    assert not reload(staging).locked


def test_blue_green_switches_after_verifying_the_idle_colour_and_rolls_back_by_switching(
    start_worker, shop, health_service, manager
):
    project, state = shop["project"], str(health_service.state)
    blue, green = health_service.start("prod-blue"), health_service.start("prod-green")
    public = health_service.start("prod")
    environment, _ = environment_create(
        project=project,
        actor=None,
        name="production",
        order=1,
        phase="",
        strategy="blue_green",
        deploy_commands=[["{python}", "deploy.py", state, "prod"]],
        switch_commands=[["{python}", "switch.py", state]],
        blue_url=blue,
        green_url=green,
        auto_rollback=False,
    )
    health_check_set(
        environment=environment,
        actor=None,
        checks=[{"url": f"{public}/health", "json_field": "version", "json_value": "{version}"}],
    )
    second = shop["release"]("1.2.0", shop["good_commit"])
    start_worker()
    first = _ended(deployment_start(release=shop["good"], environment=environment, actor=manager))
    assert first.status == DeploymentStatus.SUCCEEDED, first.error
    assert first.color == "blue" and reload(environment).active_color == "blue"

    new = _ended(deployment_start(release=second, environment=environment, actor=manager))
    assert new.status == DeploymentStatus.SUCCEEDED, new.error
    assert new.color == "green" and reload(environment).active_color == "green"
    assert (health_service.state / "prod-blue.version").read_text() == "1.0.0", "blue kept"

    rollback = _ended(environment_rollback(environment=environment, actor=manager))
    assert rollback.status == DeploymentStatus.SUCCEEDED, rollback.error
    assert rollback.color == "blue" and reload(environment).active_color == "blue"
    deploy_step = rollback.run.steps.get(key="deploy")
    assert "no redeploy" in deploy_step.summary
    assert "deploying" not in _log(rollback), "an instant rollback runs no deploy command"
    assert environment_current(environment=environment).version == "1.0.0"


def test_a_blue_green_colour_that_fails_its_own_check_is_never_switched_to(
    start_worker, shop, health_service, manager
):
    project, state = shop["project"], str(health_service.state)
    blue, green = health_service.start("prod-blue"), health_service.start("prod-green")
    public = health_service.start("prod")
    environment, _ = environment_create(
        project=project,
        actor=None,
        name="production",
        order=1,
        strategy="blue_green",
        deploy_commands=[["{python}", "deploy.py", state, "prod"]],
        switch_commands=[["{python}", "switch.py", state]],
        blue_url=blue,
        green_url=green,
        auto_rollback=False,
    )
    health_check_set(
        environment=environment,
        actor=None,
        checks=[{"url": f"{public}/health", "retries": 0}],
    )
    start_worker()
    bad = _ended(deployment_start(release=shop["broken"], environment=environment, actor=manager))
    assert bad.status == DeploymentStatus.FAILED
    assert reload(environment).active_color == "", "the traffic never moved to a broken colour"
    assert bad.run.steps.get(key="switch").status == "failed"


class _Deployer:
    """A webhook receiver on 127.0.0.1 that checks the signature itself, from the
    specification (not with the library Liftoff signs with), and writes the version."""

    def __init__(self, secret: str, state):
        key = base64.b64decode(secret.removeprefix("whsec_"))
        self.received: list[dict] = []
        deployer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                signed = f"{self.headers['webhook-id']}.{self.headers['webhook-timestamp']}."
                expected = base64.b64encode(
                    hmac.new(key, signed.encode() + body, hashlib.sha256).digest()
                ).decode()
                given = [s.split(",", 1)[1] for s in self.headers["webhook-signature"].split()]
                ok = any(hmac.compare_digest(expected, g) for g in given)
                payload = json.loads(body)
                deployer.received.append({"ok": ok, "payload": payload})
                if ok:
                    (state / "hook.version").write_text(payload["data"]["version"])
                self.send_response(202 if ok else 401)
                self.end_headers()
                self.wfile.write(b"accepted" if ok else b"bad signature")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/deploy"


def test_a_webhook_deployment_is_signed_as_standard_webhooks_and_then_verified(
    start_worker, shop, health_service, manager
):
    project = shop["project"]
    environment, secret = environment_create(
        project=project,
        actor=None,
        name="hooked",
        order=1,
        strategy="webhook",
        webhook_url="http://127.0.0.1:9/placeholder",
    )
    assert secret.startswith("whsec_")
    deployer = _Deployer(secret, health_service.state)
    Environment.objects.filter(pk=environment.pk).update(webhook_url=deployer.url)
    public = health_service.start("hook")
    health_check_set(
        environment=environment,
        actor=None,
        checks=[{"url": f"{public}/health", "json_field": "version", "json_value": "{version}"}],
    )
    secret_variable_set(environment=environment, actor=None, name="DEPLOY_KEY", value="k3y-v4lue")
    start_worker()
    try:
        deployment = _ended(
            deployment_start(release=shop["good"], environment=environment, actor=manager)
        )
    finally:
        deployer.server.shutdown()
    assert deployment.status == DeploymentStatus.SUCCEEDED, deployment.error
    assert [r["ok"] for r in deployer.received] == [True]
    data = deployer.received[0]["payload"]["data"]
    assert data["version"] == "1.0.0" and data["variables"] == {"DEPLOY_KEY": "k3y-v4lue"}
    assert secret not in _log(deployment)


def test_abort_and_roll_back_stops_the_deploy_and_restores_the_last_version(
    start_worker, shop, health_service, manager
):
    project = shop["project"]
    staging = command_environment(
        project, health_service, name="staging", order=1, phase="staging", url_slot="staging"
    )
    start_worker()
    _ended(deployment_start(release=shop["good"], environment=staging, actor=manager))
    secret_variable_set(environment=staging, actor=None, name="DEPLOY_SLEEP", value="120")
    slow = deployment_start(release=shop["broken"], environment=staging, actor=manager)
    wait_for(lambda: "deploying 1.1.0" in _log(slow), timeout=60, message="the deploy to start")
    # The rollback must not sleep: only the slow deploy does.
    SecretVariable.objects.filter(name="DEPLOY_SLEEP").update(value="0")
    deployment_abort(deployment=slow, actor=manager)
    slow = _ended(slow, timeout=30)
    assert slow.status == DeploymentStatus.CANCELLED
    rollback = _rollback_of(slow)
    assert rollback.trigger == "abort" and rollback.status == DeploymentStatus.SUCCEEDED
    assert environment_current(environment=staging).version == "1.0.0"
    assert not reload(staging).locked, "an aborted deployment is no failed verification"


def test_emergency_rollback_skips_versions_that_never_verified(
    start_worker, shop, health_service, manager
):
    project = shop["project"]
    staging = command_environment(
        project,
        health_service,
        name="staging",
        order=1,
        phase="",
        url_slot="staging",
        auto_rollback=False,
    )
    third = shop["release"]("1.2.0", shop["good_commit"])
    start_worker()
    _ended(deployment_start(release=shop["good"], environment=staging, actor=manager))
    failed = _ended(deployment_start(release=shop["broken"], environment=staging, actor=manager))
    assert failed.status == DeploymentStatus.FAILED
    assert not Deployment.objects.filter(rollback_of=failed).exists(), "auto rollback is off"
    latest = _ended(deployment_start(release=third, environment=staging, actor=manager))
    assert latest.status == DeploymentStatus.SUCCEEDED

    rollback = _ended(environment_rollback(environment=staging, actor=manager))
    # Back to 1.0.0, the last version verified there before 1.2.0; 1.1.0 never verified.
    assert rollback.version == "1.0.0" and rollback.rollback_of_id == latest.pk
    assert rollback.status == DeploymentStatus.SUCCEEDED
    assert Release.objects.get(pk=third.pk).status == ReleaseStatus.READY


def test_a_worker_killed_mid_deploy_fails_it_frees_the_environment_and_a_retry_works(
    start_worker, shop, health_service, manager, settings, monkeypatch
):
    # Short clocks (the engine's own test holds the default bound of 30 + 10 s): the worker
    # beats every second, the reaper here calls a run stale after four.
    monkeypatch.setenv("RUN_HEARTBEAT_SECONDS", "1")
    settings.RUN_STALE_AFTER_SECONDS = 4
    project = shop["project"]
    staging = command_environment(
        project, health_service, name="staging", order=1, phase="staging", url_slot="staging"
    )
    worker = start_worker()
    _ended(deployment_start(release=shop["good"], environment=staging, actor=manager))
    secret_variable_set(environment=staging, actor=None, name="DEPLOY_SLEEP", value="300")
    second = shop["release"]("1.2.0", shop["good_commit"])
    doomed = deployment_start(release=second, environment=staging, actor=manager)
    wait_for(lambda: "deploying 1.2.0" in _log(doomed), timeout=60, message="the deploy")
    killed_at = time.monotonic()
    worker.kill()

    def reaped():  # as beat runs the reaper
        runs_reap_stale()
        doomed.refresh_from_db()
        return doomed.is_final

    wait_for(reaped, timeout=settings.RUN_STALE_AFTER_SECONDS + 20, interval=1)
    print(f"SIGKILL to failed: {time.monotonic() - killed_at:.1f} s")
    assert doomed.status == DeploymentStatus.FAILED and "Worker lost" in doomed.error
    assert time.monotonic() - killed_at <= 60
    # The board tells the truth: the last verified version, not the half-done one.
    assert environment_current(environment=staging).version == "1.0.0"
    assert RunLock.objects.count() == 0

    SecretVariable.objects.filter(name="DEPLOY_SLEEP").update(value="0")
    start_worker()
    again = _ended(deployment_start(release=second, environment=staging, actor=manager))
    assert again.status == DeploymentStatus.SUCCEEDED, again.error
    assert environment_current(environment=staging).version == "1.2.0"


def test_a_deploy_clicked_while_the_broker_is_down_is_queued_and_runs_once_when_it_is_back(
    start_worker, shop, health_service, manager, client_as
):
    command_environment(
        shop["project"],
        health_service,
        name="staging",
        order=1,
        phase="staging",
        url_slot="staging",
    )
    start_worker()
    client = client_as(manager)
    with override_settings(CELERY_BROKER_URL="redis://127.0.0.1:9/0"):  # nothing listens
        started = time.monotonic()
        response = client.post(
            "/api/v1/deployments/",
            {"release": shop["good"].pk, "environment": "staging"},
            content_type="application/json",
        )
        answered = time.monotonic() - started
    assert response.status_code == 202, response.content
    assert answered < 1.5, f"answered in {answered:.2f} s"
    deployment = Deployment.objects.get()
    assert deployment.status == DeploymentStatus.QUEUED
    assert deployment.run.dispatched_at is None
    assert "queued" in client.get(f"/deployments/{deployment.pk}/").content.decode().lower()

    time.sleep(2.1)  # past the sweeper's wait for the on-commit dispatch
    assert runs_sweep_queued() == [deployment.run_id]
    deployment = _ended(deployment)
    assert deployment.status == DeploymentStatus.SUCCEEDED, deployment.error
    assert runs_sweep_queued() == []
    started_events = AuditEvent.objects.filter(
        action="run.started", object_id=str(deployment.run_id)
    )
    assert started_events.count() == 1


def test_production_refuses_a_tag_the_remote_has_on_another_commit(
    start_worker, shop, health_service, manager
):
    project, release = shop["project"], shop["good"]
    # Someone tagged v1.0.0 by hand, on the other commit.
    git.Repo(shop["bare"]).create_tag("v1.0.0", ref=shop["broken_commit"])
    production = command_environment(
        project, health_service, name="production", order=1, phase="production", url_slot="live"
    )
    Release.objects.filter(pk=release.pk).update(status=ReleaseStatus.STAGING)
    start_worker()
    deployment = _ended(deployment_start(release=release, environment=production, actor=manager))
    assert deployment.status == DeploymentStatus.FAILED
    assert "exists already on the remote on another commit" in deployment.error
    assert reload(release).tagged_at is None
    assert git.Repo(shop["bare"]).tags["v1.0.0"].commit.hexsha == shop["broken_commit"]
