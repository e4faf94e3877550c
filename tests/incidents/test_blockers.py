"""An open critical incident on production keeps releases and deployments out of
production, except its own hotfix release; rollbacks are never blocked."""

import pytest

from deployments.selectors import deployment_blockers
from deployments.services import deployment_start, environment_create, environment_rollback
from incidents.services import incident_hotfix_set, incident_open, incident_transition
from liftoff.errors import Conflict, ValidationFailed
from releases.models import Release
from releases.policy import MUST_ACT_APPROVER, release_blockers
from tests.factories import ReleaseFactory, synced_project

pytestmark = pytest.mark.django_db


def _incident(project, environment, manager, severity="critical"):
    return incident_open(
        project=project,
        environment=environment,
        severity=severity,
        title="Payments fail",
        actor=manager,
    )


def _incident_blockers(blockers):
    return [b for b in blockers if "Critical incident" in b]


def test_a_critical_incident_on_production_blocks_production_and_released(
    project, production, release, manager
):
    incident = _incident(project, production, manager)
    for to in ("production", "released"):
        found = _incident_blockers(release_blockers(release=release, to=to))
        assert len(found) == 1
        assert f"#{incident.pk}" in found[0] and "Payments fail" in found[0]
        assert found[0].who == MUST_ACT_APPROVER
    assert _incident_blockers(release_blockers(release=release, to="staging")) == []
    assert _incident_blockers(deployment_blockers(release=release, environment=production)) == [
        found[0]
    ]


def test_only_critical_unresolved_production_incidents_block(
    project, production, staging, release, manager
):
    _incident(project, staging, manager)
    _incident(project, production, manager, severity="high")
    assert _incident_blockers(release_blockers(release=release, to="production")) == []
    incident = _incident(project, production, manager)
    assert _incident_blockers(release_blockers(release=release, to="production"))
    assert _incident_blockers(deployment_blockers(release=release, environment=staging)) == []
    incident_transition(
        incident=incident, to="resolved", actor=manager, summary="Rolled back, all good now."
    )
    assert _incident_blockers(release_blockers(release=release, to="production")) == []


def test_the_linked_hotfix_release_may_go_to_production(project, production, release, manager):
    incident = _incident(project, production, manager)
    hotfix = ReleaseFactory(project=project, version="2.0.1", release_manager=manager)
    # Planning a real hotfix needs a released version; the type is what matters here.
    Release.objects.filter(pk=hotfix.pk).update(type="hotfix")
    hotfix.refresh_from_db()
    with pytest.raises(ValidationFailed):
        incident_hotfix_set(incident=incident, release=release, actor=manager)  # not a hotfix
    incident_hotfix_set(incident=incident, release=hotfix, actor=manager)
    assert _incident_blockers(release_blockers(release=hotfix, to="production")) == []
    assert _incident_blockers(deployment_blockers(release=hotfix, environment=production)) == []
    assert _incident_blockers(release_blockers(release=release, to="production"))


def test_another_projects_incident_blocks_nothing_here(
    project, production, release, manager, admin_user
):
    other = synced_project(
        actor=admin_user, slug="other", name="Other", repo_url="https://git.example.test/o.git"
    )
    other_production, _ = environment_create(
        project=other,
        actor=None,
        name="production",
        phase="production",
        strategy="command",
        deploy_commands=[["true"]],
    )
    _incident(other, other_production, manager)
    assert _incident_blockers(release_blockers(release=release, to="production")) == []
    assert _incident_blockers(deployment_blockers(release=release, environment=production)) == []


def test_the_kept_release_page_shows_the_blocker_as_soon_as_the_incident_opens(
    client_as, project, production, release, manager
):
    client = client_as(manager)
    assert "Critical incident" not in client.get(f"/releases/{release.pk}/").content.decode()
    _incident(project, production, manager)
    assert "Critical incident" in client.get(f"/releases/{release.pk}/").content.decode()


def test_starting_a_deployment_to_production_is_refused_with_the_incident_named(
    project, production, release, manager
):
    incident = _incident(project, production, manager)
    with pytest.raises(Conflict) as refused:
        deployment_start(release=release, environment=production, actor=manager)
    assert any(f"#{incident.pk}" in m for m in refused.value.extra["missing"])


def test_an_emergency_rollback_is_never_blocked_by_the_incident(
    project, production, release, manager, deployed
):
    previous = ReleaseFactory(project=project, version="1.9.0", release_manager=manager)
    deployed(production, 120, release=previous, version="1.9.0", verified=True)
    deployed(production, 30, verified=True)
    _incident(project, production, manager)
    rollback = environment_rollback(environment=production, actor=manager)
    assert rollback.kind == "rollback" and rollback.version == "1.9.0"
