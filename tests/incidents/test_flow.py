"""End to end, with a real worker, git remote and health service: a deployment to
production that fails its verification opens a high incident about that deployment (where
the environment asks for it), beside the automatic rollback."""

import pytest

from deployments.models import Deployment, DeploymentStatus
from deployments.services import deployment_start
from incidents.models import EnvironmentIncidentSetting, Incident
from tests.deployments.conftest import command_environment
from tests.helpers import wait_for


def _ended(deployment, timeout=90):
    def done():
        deployment.refresh_from_db()
        return deployment.is_final

    wait_for(done, timeout=timeout, interval=0.3, message=f"deployment #{deployment.pk} to end")
    return deployment


@pytest.mark.django_db(transaction=True)
def test_a_failed_production_verification_opens_a_high_incident(
    start_worker,
    shop,
    health_service,
    manager,
):
    project = shop["project"]
    production = command_environment(
        project, health_service, name="production", order=1, phase="production", url_slot="prod1"
    )
    EnvironmentIncidentSetting.objects.create(
        environment=production, open_on_failed_verification=True
    )
    start_worker()
    good = _ended(deployment_start(release=shop["good"], environment=production, actor=manager))
    assert good.status == DeploymentStatus.SUCCEEDED
    assert not Incident.objects.exists()
    bad = _ended(deployment_start(release=shop["broken"], environment=production, actor=manager))
    assert bad.status == DeploymentStatus.FAILED and bad.verification_failed
    incident = Incident.objects.get()
    assert (incident.severity, incident.source, incident.status) == ("high", "verification", "open")
    assert incident.deployment_id == bad.pk
    assert incident.respond_by is not None
    assert Deployment.objects.filter(rollback_of=bad).exists()  # and deployments rolled back
