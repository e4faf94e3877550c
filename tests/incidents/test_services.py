"""Opening, moving and annotating incidents: who may, what is recorded, what is refused."""

import importlib
from datetime import timedelta

import pytest
from django.apps import apps
from django.db import transaction
from django.utils import timezone

from deployments.models import DeploymentStatus
from deployments.services import environment_create
from incidents.models import (
    EntryKind,
    EnvironmentIncidentSetting,
    Incident,
    IncidentSettings,
    SeverityPolicy,
    Source,
)
from incidents.services import (
    incident_deployment_set,
    incident_note_add,
    incident_open,
    incident_postmortem_update,
    incident_transition,
)
from liftoff.audit import audit_entries, audit_trail
from liftoff.errors import Conflict, NotAllowed, ValidationFailed
from liftoff.events import emit, subscribe, unsubscribe
from liftoff.models import AuditEvent
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def heard():
    events = []

    def listen(event):
        events.append(event)

    subscribe("*", listen)
    yield events
    unsubscribe("*", listen)


def _open(project, environment, actor, **kw):
    return incident_open(
        project=project,
        environment=environment,
        severity=kw.pop("severity", "critical"),
        title=kw.pop("title", "Checkout answers 500"),
        description=kw.pop("description", "Since the last deploy."),
        actor=actor,
        source=kw.pop("source", Source.UI),
        **kw,
    )


def test_a_new_project_gets_the_seed_incident_matrix(project):
    rows = {p.severity: p for p in SeverityPolicy.objects.filter(project=project)}
    assert rows["critical"].respond_minutes == 15
    assert rows["critical"].action == "Immediate rollback"
    assert set(rows["critical"].audience_roles) == {
        "admin",
        "release_manager",
        "approver",
        "stakeholder",
    }
    assert (rows["high"].respond_minutes, rows["high"].action) == (60, "Hotfix deployment")
    assert rows["high"].audience_roles == ["admin", "release_manager"]
    assert (rows["medium"].respond_minutes, rows["medium"].audience_roles) == (
        240,
        ["release_manager"],
    )
    assert rows["low"].respond_minutes is None
    assert rows["low"].action == "Next release"


def test_the_data_migration_installs_the_matrix_for_existing_projects_once():
    old = ProjectFactory()  # made without the project hooks, like a project before incidents
    assert not SeverityPolicy.objects.filter(project=old).exists()
    migration = importlib.import_module("incidents.migrations.0002_default_matrix")
    migration.install(apps, None)
    migration.install(apps, None)
    assert sorted(
        SeverityPolicy.objects.filter(project=old).values_list("severity", flat=True)
    ) == [
        "critical",
        "high",
        "low",
        "medium",
    ]


def test_opening_records_the_last_deployment_that_began_before_it_started(
    project, production, staging, manager, deployed, heard
):
    older = deployed(production, 120)
    newest = deployed(production, 30)
    deployed(staging, 5)  # another environment: not this incident's
    incident = _open(project, production, manager)
    assert incident.deployment == newest
    earlier = _open(project, production, manager, started_at=timezone.now() - timedelta(hours=1))
    assert earlier.deployment == older
    # A deployment made after the incident was opened does not change what it is about.
    deployed(production, 0)
    incident.refresh_from_db()
    assert incident.deployment == newest
    opened = [e for e in heard if e.name == "incident.opened"]
    assert opened[0].payload["deployment"] == newest.pk
    assert opened[0].payload["severity"] == "critical"


def test_opening_sets_the_response_clock_from_the_severity_and_writes_the_trail(
    project, production, manager
):
    critical = _open(project, production, manager)
    assert critical.respond_by - critical.opened_at == timedelta(minutes=15)
    low = _open(project, production, manager, severity="low")
    assert low.respond_by is None
    assert critical.entries.get().kind == EntryKind.OPENED
    assert AuditEvent.objects.filter(action="incident.opened", object_id=str(critical.pk)).exists()


def test_an_edited_matrix_changes_the_clock(project, production, manager):
    SeverityPolicy.objects.filter(project=project, severity="high").update(respond_minutes=5)
    incident = _open(project, production, manager, severity="high")
    assert incident.respond_by - incident.opened_at == timedelta(minutes=5)


def test_approvers_may_not_open_and_stakeholders_only_where_the_project_allows(
    project, production, approver, stakeholder
):
    with pytest.raises(NotAllowed):
        _open(project, production, approver)
    with pytest.raises(NotAllowed):
        _open(project, production, stakeholder)
    assert not Incident.objects.exists()
    IncidentSettings.objects.create(project=project, stakeholders_may_open=True)
    assert _open(project, production, stakeholder).opened_by == stakeholder


def test_bad_input_is_refused_per_field_and_nothing_is_written(project, manager):
    other = ProjectFactory()
    other_env = production_of(other)
    with pytest.raises(ValidationFailed) as refused:
        incident_open(
            project=project,
            environment=other_env,
            severity="apocalyptic",
            title="   ",
            actor=manager,
        )
    assert set(refused.value.errors) == {"title", "severity", "environment"}
    assert not Incident.objects.exists()
    assert not AuditEvent.objects.filter(action="incident.opened").exists()


def production_of(project):
    env, _ = environment_create(
        project=project,
        actor=None,
        name="production",
        phase="production",
        strategy="command",
        deploy_commands=[["true"]],
    )
    return env


def test_the_status_moves_forward_and_resolving_needs_a_summary(
    project, production, manager, heard
):
    incident = _open(project, production, manager)
    incident_transition(incident=incident, to="acknowledged", actor=manager)
    with pytest.raises(ValidationFailed) as refused:
        incident_transition(incident=incident, to="resolved", actor=manager, summary="done")
    assert "summary" in refused.value.errors
    incident_transition(
        incident=incident, to="resolved", actor=manager, summary="Rolled back to v1.9.0."
    )
    incident.refresh_from_db()
    assert incident.status == "resolved"
    assert incident.acknowledged_by == manager
    assert incident.mitigated_at is not None  # resolving implies the impact stopped
    assert incident.summary == "Rolled back to v1.9.0."
    with pytest.raises(Conflict):
        incident_transition(incident=incident, to="acknowledged", actor=manager)
    names = [e.name for e in heard if e.name.startswith("incident.")]
    assert names == ["incident.opened", "incident.acknowledged", "incident.resolved"]
    assert [e.kind for e in incident.entries.all()] == ["opened", "acknowledged", "resolved"]


def test_a_move_made_on_a_stale_copy_is_a_conflict(project, production, manager, admin_user):
    incident = _open(project, production, manager)
    stale = Incident.objects.get(pk=incident.pk)
    incident_transition(incident=incident, to="acknowledged", actor=admin_user)
    with pytest.raises(Conflict):
        incident_transition(incident=stale, to="acknowledged", actor=manager)
    assert Incident.objects.get(pk=incident.pk).acknowledged_by == admin_user
    assert incident.entries.filter(kind="acknowledged").count() == 1


def test_read_only_roles_change_nothing(project, production, manager, stakeholder, approver):
    incident = _open(project, production, manager)
    for user in (stakeholder, approver):
        with pytest.raises(NotAllowed):
            incident_transition(incident=incident, to="acknowledged", actor=user)
        with pytest.raises(NotAllowed):
            incident_note_add(incident=incident, actor=user, text="me too")
        with pytest.raises(NotAllowed):
            incident_postmortem_update(incident=incident, actor=user, postmortem="x")
    assert Incident.objects.get(pk=incident.pk).status == "open"
    assert incident.entries.count() == 1


def test_changing_the_deployment_needs_a_reason_and_is_on_the_timeline(
    project, production, manager, deployed
):
    first = deployed(production, 60)
    second = deployed(production, 10)
    incident = _open(project, production, manager)
    assert incident.deployment == second
    with pytest.raises(ValidationFailed):
        incident_deployment_set(incident=incident, deployment=first, actor=manager, reason="x")
    incident_deployment_set(
        incident=incident, deployment=first, actor=manager, reason="The bug came with v1"
    )
    assert Incident.objects.get(pk=incident.pk).deployment == first
    entry = incident.entries.get(kind="deployment")
    assert "The bug came with v1" in entry.text


def test_a_failed_production_verification_opens_a_high_incident_where_asked(
    project, production, staging, deployed, heard
):
    EnvironmentIncidentSetting.objects.create(
        environment=production, open_on_failed_verification=True
    )
    failed = deployed(production, 1, status=DeploymentStatus.FAILED, verification_failed=True)
    quiet = deployed(staging, 1, status=DeploymentStatus.FAILED, verification_failed=True)
    with transaction.atomic():
        for deployment in (failed, quiet):
            emit(
                "deployment.finished",
                subject=deployment,
                payload={"deployment": deployment.pk, "kind": "deploy", "status": "failed"},
            )
    incident = Incident.objects.get()
    assert (incident.severity, incident.source) == ("high", "verification")
    assert incident.deployment == failed
    assert incident.opened_by is None
    assert "failed verification on production" in incident.title


def test_no_automatic_incident_without_the_setting_or_for_a_command_failure(
    project, production, deployed
):
    setting = EnvironmentIncidentSetting.objects.create(
        environment=production, open_on_failed_verification=False
    )
    broken = deployed(production, 1, status=DeploymentStatus.FAILED, verification_failed=True)
    command = deployed(production, 1, status=DeploymentStatus.FAILED, verification_failed=False)
    payload = {"kind": "deploy", "status": "failed"}
    with transaction.atomic():
        emit("deployment.finished", subject=broken, payload=payload)
        setting.open_on_failed_verification = True
        setting.save()
        emit("deployment.finished", subject=command, payload=payload)
    assert not Incident.objects.exists()


def test_the_audit_trail_reads_incident_actions_as_sentences(project, production, manager):
    incident = _open(project, production, manager)
    incident_note_add(incident=incident, actor=manager, text="Rolling back now")
    incident_transition(
        incident=incident, to="resolved", actor=manager, summary="Rolled back to v1.9.0."
    )
    sentences = [e.sentence for e in audit_entries(audit_trail(obj=incident))]
    assert sentences == [
        f"manager-user resolved incident #{incident.pk} “Checkout answers 500”: "
        "“Rolled back to v1.9.0.”",
        f"manager-user added a note to incident #{incident.pk}: “Rolling back now”",
        f"manager-user opened critical incident #{incident.pk} “Checkout answers 500” on "
        "production",
    ]
