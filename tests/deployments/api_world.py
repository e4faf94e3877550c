"""A project with staging and production, and a ready release, for the API and command
line tests of deployments (made through the services, as an admin would)."""

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from deployments.models import Deployment, DeploymentStatus, Environment
from deployments.services import environment_create
from releases.models import Release, ReleaseStatus
from tests.factories import ProjectFactory, ReleaseFactory

HEAD = "a" * 40


@dataclass
class World:
    project: object
    staging: Environment
    production: Environment
    release: Release


def make_world(admin, *, slug: str = "rocket", version: str = "1.0.0") -> World:
    project = ProjectFactory(slug=slug)
    staging, _ = environment_create(
        project=project,
        actor=admin,
        name="staging",
        order=1,
        phase="staging",
        strategy="command",
        url="http://127.0.0.1:9/",
        deploy_commands=[["true"]],
    )
    production, _ = environment_create(
        project=project,
        actor=admin,
        name="production",
        order=2,
        phase="production",
        strategy="webhook",
        webhook_url="http://127.0.0.1:9/deploy",
    )
    release = ReleaseFactory(
        project=project,
        version=version,
        status=ReleaseStatus.READY,
        head_commit=HEAD,
        prepared_at=timezone.now(),
    )
    return World(project=project, staging=staging, production=production, release=release)


def verified_deployment(environment, release, *, minutes_ago: int = 10) -> Deployment:
    """What a deployment that succeeded and verified leaves (its run is tested elsewhere)."""
    finished = timezone.now() - timedelta(minutes=minutes_ago)
    return Deployment.objects.create(
        environment=environment,
        release=release,
        status=DeploymentStatus.SUCCEEDED,
        strategy=environment.strategy,
        version=release.version,
        commit=release.head_commit,
        started_at=finished - timedelta(minutes=1),
        finished_at=finished,
        verified=True,
        verified_at=finished,
    )
