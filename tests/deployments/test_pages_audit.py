"""How the deployments app's actions read in the audit trail: a sentence each, from the
event's own facts, in the "Deployments and environments" kind."""

import pytest

from deployments.models import Deployment, Environment
from deployments.services import deployment_cancel, deployment_start, environment_lock
from liftoff.audit import audit_entries
from liftoff.models import AuditEvent
from tests.factories import ProjectFactory, ReleaseFactory

pytestmark = pytest.mark.django_db


def test_deployment_and_lock_events_read_as_sentences(manager):
    project = ProjectFactory(slug="svc")
    staging = Environment.objects.create(project=project, name="staging", phase="staging")
    release = ReleaseFactory(
        project=project,
        release_manager=manager,
        version="2.0.0",
        status="ready",
        head_commit="a" * 40,
    )
    deployment = deployment_start(release=release, environment=staging, actor=manager)
    deployment_cancel(deployment=deployment, actor=manager)
    environment_lock(environment=staging, actor=manager, reason="db migration")
    environment_lock(environment=staging, actor=manager, reason="still migrating")
    events = AuditEvent.objects.filter(
        action__startswith="deployment.", object_id=str(deployment.pk)
    ) | AuditEvent.objects.filter(action__startswith="environment.")
    entries = {e.event.action + str(e.event.seq): e for e in audit_entries(list(events))}
    sentences = [e.sentence for e in entries.values()]
    assert "manager-user started deploying v2.0.0 to staging" in sentences
    assert f"manager-user asked to cancel deployment #{deployment.pk}" in sentences
    assert f"manager-user locked environment #{staging.pk}: “db migration”" in sentences
    assert (
        f"manager-user changed the lock reason of environment #{staging.pk}: “still migrating”"
        in sentences
    )
    assert {e.kind for e in entries.values()} == {"deployments"}
    assert Deployment.objects.get().status == "cancelled"
