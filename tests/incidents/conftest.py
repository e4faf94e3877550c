"""A project made through project_create (so it has its incident matrix), a staging and a
production environment, and deployments recorded at known times."""

from datetime import timedelta

import pytest
from django.utils import timezone

from deployments.models import Deployment, DeploymentStatus
from deployments.services import environment_create

# The deployments' real parts (a git remote with a deploy script, a health service), for
# the end-to-end test of an incident opened by a failed verification.
from tests.deployments.conftest import health_service, shop  # noqa: F401
from tests.factories import ReleaseFactory, synced_project


@pytest.fixture
def project(admin_user):
    return synced_project(
        actor=admin_user, slug="shop", name="Shop", repo_url="https://git.example.test/t/shop.git"
    )


def _environment(project, name, phase, order):
    environment, _ = environment_create(
        project=project,
        actor=None,
        name=name,
        order=order,
        phase=phase,
        strategy="command",
        deploy_commands=[["true"]],
    )
    return environment


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
def deployed(release):
    """`deployed(environment, minutes_ago, **fields)`: a deployment that began then."""

    def make(environment, minutes_ago, **fields):
        began = timezone.now() - timedelta(minutes=minutes_ago)
        deployment = Deployment.objects.create(
            environment=environment,
            release=fields.pop("release", release),
            version=fields.pop("version", release.version),
            strategy="command",
            status=fields.pop("status", DeploymentStatus.SUCCEEDED),
            started_at=began,
            finished_at=began + timedelta(minutes=1),
            **fields,
        )
        Deployment.objects.filter(pk=deployment.pk).update(created_at=began)
        return deployment

    return make
