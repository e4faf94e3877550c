"""`manage.py deploy` and `manage.py rollback`: the same services as the page and the API,
the deployment's id and URL printed, exit 1 with what blocks it when refused."""

import os
import re
import subprocess
import sys
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from deployments.models import Deployment, DeploymentKind, DeploymentStatus
from deployments.services import environment_lock
from liftoff.models import AuditEvent
from tests.deployments.api_world import make_world, verified_deployment
from tests.factories import ReleaseFactory
from tests.helpers import ROOT, worker_database_url


@pytest.fixture
def world(admin_user):
    return make_world(admin_user)


def _call(*args) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command(*args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_deploy_starts_a_deployment_and_prints_its_id_and_url(world, manager):
    code, out, _ = _call(
        "deploy", "--project", "rocket", "v1.0.0", "--to", "staging", "--as", manager.username
    )
    assert code == 0
    deployment = Deployment.objects.get()
    assert out.splitlines() == [
        f"Deployment #{deployment.pk}: Deploy v1.0.0 to staging (queued).",
        f"/deployments/{deployment.pk}/",
    ]
    assert deployment.status == DeploymentStatus.QUEUED and deployment.run_id
    assert deployment.requested_by == manager
    audit = AuditEvent.objects.get(action="deployment.started")
    assert audit.actor_id == manager.pk


@pytest.mark.django_db
def test_deploy_at_a_time_schedules_it_as_liftoff_itself(world):
    at = (timezone.localtime() + timedelta(hours=3)).replace(second=0, microsecond=0)
    code, out, _ = _call(
        "deploy",
        "--project",
        "rocket",
        "1.0.0",
        "--to",
        "staging",
        "--at",
        at.strftime("%Y-%m-%dT%H:%M"),
    )
    assert code == 0, out
    deployment = Deployment.objects.get()
    assert deployment.status == DeploymentStatus.SCHEDULED and deployment.scheduled_for == at
    assert deployment.requested_by is None
    assert "(scheduled at " in out


@pytest.mark.django_db
def test_a_refused_deploy_exits_1_listing_what_blocks_it(world, manager):
    environment_lock(environment=world.staging, actor=manager, reason="Database migration")
    code, out, err = _call("deploy", "--project", "rocket", "1.0.0", "--to", "staging")
    assert code == 1 and out == ""
    assert err.splitlines() == [
        "v1.0.0 cannot be deployed to staging yet.",
        "  - staging is locked: Database migration.",
    ]
    assert not Deployment.objects.exists()


@pytest.mark.django_db
def test_a_deploy_by_a_user_without_the_role_is_refused(world, stakeholder):
    code, _, err = _call(
        "deploy", "--project", "rocket", "1.0.0", "--to", "staging", "--as", stakeholder.username
    )
    assert code == 1 and err.strip() == "Only a release manager deploys."
    assert not Deployment.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--project", "nope", "1.0.0", "--to", "staging"], "No project nope."),
        (
            ["--project", "rocket", "9.9.9", "--to", "staging"],
            "No release 9.9.9 in project rocket.",
        ),
        (
            ["--project", "rocket", "1.0.0", "--to", "qa"],
            "No environment qa in project rocket (staging, production).",
        ),
        (["--project", "rocket", "1.0.0", "--to", "staging", "--as", "ghost"], "No user ghost."),
        (["--project", "rocket", "1.0.0", "--to", "staging", "--at", "soon"], "no ISO 8601 time"),
    ],
)
def test_a_wrong_name_or_time_is_an_error_not_a_traceback(world, args, message):
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("deploy", *args, stdout=StringIO(), stderr=StringIO())
    assert not Deployment.objects.exists()


@pytest.mark.django_db
def test_rollback_redeploys_the_last_verified_version(world, manager):
    verified_deployment(world.staging, world.release, minutes_ago=30)
    newer = ReleaseFactory(project=world.project, version="1.1.0", head_commit="b" * 40)
    current = verified_deployment(world.staging, newer, minutes_ago=5)
    code, out, _ = _call(
        "rollback", "--project", "rocket", "--env", "staging", "--as", manager.username
    )
    assert code == 0
    rollback = Deployment.objects.get(kind=DeploymentKind.ROLLBACK)
    assert out.splitlines() == [
        f"Deployment #{rollback.pk}: Rollback v1.0.0 to staging (queued).",
        f"/deployments/{rollback.pk}/",
    ]
    assert rollback.rollback_of == current and rollback.trigger == "emergency"


@pytest.mark.django_db
def test_a_rollback_with_nothing_to_go_back_to_exits_1(world):
    verified_deployment(world.staging, world.release)
    code, _, err = _call("rollback", "--project", "rocket", "--env", "staging")
    assert code == 1
    assert err.splitlines() == [
        "staging has no earlier verified version to roll back to.",
        "  - No version was ever verified there before this one.",
    ]
    assert Deployment.objects.filter(kind=DeploymentKind.ROLLBACK).count() == 0


@pytest.mark.django_db
def test_the_commands_exit_1_in_a_shell_too():
    """As a script sees it: a refusal is exit status 1 and its reason on stderr."""
    result = subprocess.run(
        [sys.executable, "manage.py", "rollback", "--project", "no-such-project", "--env", "x"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": worker_database_url()},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "No project no-such-project." in result.stderr
