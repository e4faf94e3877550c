"""The demo's environments deploy PepeluGPT for real on 127.0.0.1: staging on its port,
production as blue and green behind the switch, each answering the seed's health
endpoints with its version; a rollback switches back without a redeploy; `make run`'s
stop leaves nothing running and the periodic health check then shows them down."""

import http.client
import json
import os
import socket
from pathlib import Path

import pytest
from django.utils import timezone

from demo.services import (
    DEMO_HEALTH_PATHS,
    demo_environments_ensure,
    demo_repo_ensure,
    demo_run_dir,
)
from deployments.health import environments_check_health
from deployments.models import Deployment, DeploymentStatus, Environment
from deployments.services import deployment_start, environment_rollback
from liftoff.devserver import demo_services_stop
from runs.models import LogChunk
from tests.factories import ProjectFactory, ReleaseFactory
from tests.helpers import free_port, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def get(port: int, path: str) -> tuple[int, dict, str]:
    """(status, JSON body, the colour the switch answered from) of a GET on 127.0.0.1."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
        return response.status, json.loads(body), response.getheader("X-Demo-Color", "")
    finally:
        connection.close()


def answers(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists() and b"Z" not in _state(pid)


def _state(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/stat").read_bytes().split(b")")[-1][:3]
    except OSError:
        return b"Z"


def ended(deployment: Deployment, timeout: float = 60) -> Deployment:
    def done():
        deployment.refresh_from_db()
        return deployment.is_final

    try:
        wait_for(done, timeout=timeout, message=f"deployment #{deployment.pk} to end")
    finally:
        deployment.refresh_from_db()
        chunks = LogChunk.objects.filter(run_id=deployment.run_id).values_list("text", flat=True)
        log = "".join(chunks)
    assert deployment.status == DeploymentStatus.SUCCEEDED, f"{deployment.error}\n{log[-3000:]}"
    return deployment


@pytest.fixture
def demo(settings, tmp_path, monkeypatch):
    """The demo repository and the demo's environments on free ports, in a data folder
    of the test's own; every service a deployment started is stopped at the end."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    settings.DATA_DIR = tmp_path / "data"
    ports = {name: free_port() for name in ("STAGING", "PRODUCTION", "BLUE", "GREEN")}
    for name, port in ports.items():
        setattr(settings, f"DEMO_{name}_PORT", port)
    repo = demo_repo_ensure(root=settings.DATA_DIR / "demo")
    project = ProjectFactory(slug="pepelugpt", name="PepeluGPT", repo_url=str(repo.path))
    assert demo_environments_ensure(project=project) == ["staging", "production"]
    assert demo_environments_ensure(project=project) == [], "a second seed adds nothing"
    run_dir = demo_run_dir()
    yield {"project": project, "head": repo.head, "ports": ports, "run_dir": run_dir}
    demo_services_stop(run_dir)


def pid_of(run_dir: Path, name: str) -> int:
    return int((run_dir / f"{name}.pid").read_text())


def test_the_demo_goes_through_staging_to_blue_green_production_and_back(
    demo, start_worker, manager
):
    project, ports, run_dir = demo["project"], demo["ports"], demo["run_dir"]
    staging = Environment.objects.get(project=project, name="staging")
    production = Environment.objects.get(project=project, name="production")

    def release(version):
        return ReleaseFactory(
            project=project,
            version=version,
            release_manager=manager,
            status="ready",
            head_commit=demo["head"],
            prepared_at=timezone.now(),
            branch=f"release/v{version}",
            tag=f"v{version}",
        )

    first, second = release("0.3.0"), release("0.3.1")
    start_worker()

    # Staging: the release's own deploy/serve.py runs it on the staging port.
    ended(deployment_start(release=first, environment=staging, actor=manager))
    for path in DEMO_HEALTH_PATHS:
        status, body, _ = get(ports["STAGING"], path)
        assert (status, body["version"], body["status"]) == (200, "0.3.0", "ok")

    # Production, blue first: the switch answers from blue.
    deployment = ended(deployment_start(release=first, environment=production, actor=manager))
    assert deployment.color == "blue"
    assert get(ports["PRODUCTION"], "/health/oracle")[1:] == (
        get(ports["BLUE"], "/health/oracle")[1],
        "blue",
    )
    assert get(ports["PRODUCTION"], "/health/cosmic")[1]["version"] == "0.3.0"

    # The next release goes to green (verified there), then the switch answers from it.
    ended(deployment_start(release=second, environment=staging, actor=manager))
    deployment = ended(deployment_start(release=second, environment=production, actor=manager))
    assert deployment.color == "green"
    status, body, colour = get(ports["PRODUCTION"], "/health/oracle")
    assert (status, body["version"], colour) == (200, "0.3.1", "green")
    blue_pid = pid_of(run_dir, "production-blue")
    assert get(ports["BLUE"], "/health/oracle")[1]["version"] == "0.3.0", "blue kept"

    # Emergency rollback: back to blue by the switch alone, no redeploy.
    rollback = ended(environment_rollback(environment=production, actor=manager))
    assert rollback.color == "blue" and rollback.version == "0.3.0"
    assert "no redeploy" in rollback.run.steps.get(key="deploy").summary
    status, body, colour = get(ports["PRODUCTION"], "/health/oracle")
    assert (status, body["version"], colour) == (200, "0.3.0", "blue")
    assert body["pid"] == blue_pid == pid_of(run_dir, "production-blue")

    # What `make run` does on Ctrl-C: every service stopped by its PID, none left.
    pids = {p.stem: int(p.read_text()) for p in run_dir.glob("*.pid")}
    assert set(pids) == {"staging", "production-blue", "production-green", "production-switch"}
    assert sorted(demo_services_stop(run_dir)) == sorted(pids)
    assert not any(alive(pid) for pid in pids.values())
    assert not any(answers(port) for port in ports.values())
    # The periodic health check then shows the demo down, as it is.
    assert environments_check_health(environments=[staging, production]) == {
        staging.pk: False,
        production.pk: False,
    }


def test_a_pid_file_naming_someone_elses_process_stops_nothing(tmp_path):
    """A PID reused by another program after a crash is never signalled."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "staging.pid").write_text(f"{os.getpid()}\n")
    assert demo_services_stop(run_dir) == []
    assert not (run_dir / "staging.pid").exists()
