"""Histories at known times for the metrics: a project with a staging and a production
environment (made through the services), and `deploy(...)` recording a deployment that
began and finished when the test says (the run engine's work is tested elsewhere)."""

from datetime import UTC, date, datetime, timedelta

import pytest

from deployments.models import Deployment, DeploymentKind, DeploymentStatus
from gates.models import GateResult, GateStatus, QualityGate
from incidents.models import Incident
from metrics.selectors import Window
from tests.factories import ReleaseFactory, synced_project
from tests.incidents.conftest import _environment

# Four whole weeks, Monday 2 March to Sunday 29 March 2026 (UTC).
MARCH = Window(since=date(2026, 3, 2), until=date(2026, 3, 29))


def at(day: int, hour: int = 10, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def project(admin_user):
    return synced_project(
        actor=admin_user, slug="shop", name="Shop", repo_url="https://git.example.test/t/shop.git"
    )


@pytest.fixture
def staging(project):
    return _environment(project, "staging", "staging", 1)


@pytest.fixture
def production(project):
    return _environment(project, "production", "production", 2)


@pytest.fixture
def release(project, manager):
    return ReleaseFactory(project=project, version="2.0.0", release_manager=manager)


@pytest.fixture
def deploy(release):
    """`deploy(environment, began, minutes=10, commits=[(sha, committed_at)], **fields)`."""

    def make(environment, began, *, minutes=10, commits=(), **fields):
        status = fields.pop("status", DeploymentStatus.SUCCEEDED)
        verified = fields.pop("verified", status == DeploymentStatus.SUCCEEDED)
        finished = began + timedelta(minutes=minutes)
        chosen = fields.pop("release", release)
        deployment = Deployment.objects.create(
            environment=environment,
            release=chosen,
            version=chosen.version,
            strategy="command",
            status=status,
            verified=verified,
            verified_at=finished if verified else None,
            started_at=began,
            finished_at=finished if status != DeploymentStatus.CANCELLED else None,
            new_commits=[{"sha": sha, "committed_at": t.isoformat()} for sha, t in commits],
            **fields,
        )
        Deployment.objects.filter(pk=deployment.pk).update(created_at=began)
        deployment.refresh_from_db()
        return deployment

    return make


@pytest.fixture
def rollback(deploy):
    def make(of, began, **fields):
        return deploy(of.environment, began, kind=DeploymentKind.ROLLBACK, rollback_of=of, **fields)

    return make


@pytest.fixture
def incident(project):
    """`incident(opened, resolved=None, deployment=None, **fields)`, recorded as is."""

    def make(opened, resolved=None, deployment=None, **fields):
        return Incident.objects.create(
            project=project,
            environment=deployment.environment if deployment else None,
            deployment=deployment,
            severity=fields.pop("severity", "high"),
            status="resolved" if resolved else "open",
            title=fields.pop("title", "Checkout fails"),
            opened_at=opened,
            started_at=opened,
            resolved_at=resolved,
            **fields,
        )

    return make


@pytest.fixture
def gate_result(project):
    def make(release, key, value, measured_at):
        return GateResult.objects.create(
            release=release,
            gate=QualityGate.objects.get(project=project, key=key),
            status=GateStatus.PASSED,
            value=value,
            source="ci",
            measured_at=measured_at,
        )

    return make
