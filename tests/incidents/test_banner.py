"""A banner on every page while a critical incident is unresolved on production, linking
to it and to the environment's emergency rollback; one query, none without the layout."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidents.services import incident_hotfix_start, incident_open, incident_transition
from liftoff.errors import Conflict, NotAllowed
from liftoff.models import AuditEvent
from releases.models import Release
from tests.factories import ReleaseFactory

pytestmark = pytest.mark.django_db

HOSTILE = "<script>alert(1)</script>"


def _critical(project, environment, manager, title="Payments fail"):
    return incident_open(
        project=project, environment=environment, severity="critical", title=title, actor=manager
    )


def test_every_signed_in_user_sees_the_banner_on_every_page_and_only_managers_its_actions(
    client_as, project, production, manager, admin_user, stakeholder, approver
):
    incident = _critical(project, production, manager)
    rollback = f"/deployments/{project.slug}/production/rollback/"
    for user in (manager, admin_user, stakeholder, approver):
        client = client_as(user)
        for path in ("/", "/releases/", "/deployments/", "/incidents/"):
            page = client.get(path).content.decode()
            assert 'id="critical-incidents"' in page, (user, path)
            assert f'href="/incidents/{incident.pk}/"' in page
            acts = user in (manager, admin_user)
            assert ("Emergency rollback of production" in page) is acts, (user, path)
            assert (f'hx-get="{rollback}"' in page) is acts
            assert (f'action="/incidents/{incident.pk}/hotfix/start/"' in page) is acts


def test_the_rollback_confirmation_opens_in_place_for_htmx(
    client_as, project, production, release, manager, deployed
):
    previous = ReleaseFactory(project=project, version="1.9.0", release_manager=manager)
    deployed(production, 120, release=previous, version="1.9.0", verified=True)
    deployed(production, 30, verified=True)
    _critical(project, production, manager)
    url = f"/deployments/{project.slug}/production/rollback/"
    fragment = client_as(manager).get(url, headers={"HX-Request": "true"}).content.decode()
    assert fragment.startswith('<div class="card confirm confirm-danger"')
    assert "<h2 " in fragment and "Roll production back to v1.9.0?" in fragment
    assert 'name="confirmed" value="1"' in fragment and "<html" not in fragment
    assert "<h1 " in client_as(manager).get(url).content.decode()


def test_a_manager_starts_the_hotfix_release_from_the_banner_once(
    client_as, project, production, manager, deployed, release
):
    Release.objects.filter(pk=release.pk).update(status="released")  # v2.0.0 shipped
    deployed(production, 30, verified=True)
    incident = _critical(project, production, manager)
    client = client_as(manager)
    start = f'action="/incidents/{incident.pk}/hotfix/start/"'
    assert start in client.get(f"/incidents/{incident.pk}/").content.decode()
    answer = client.post(f"/incidents/{incident.pk}/hotfix/start/")
    incident.refresh_from_db()
    hotfix = incident.hotfix_release
    assert hotfix is not None and hotfix.type == "hotfix" and hotfix.version == "2.0.1"
    assert answer.status_code == 302 and answer["Location"] == hotfix.get_absolute_url()
    assert f"incident #{incident.pk}" in hotfix.summary and hotfix.base_ref == "v2.0.0"
    assert AuditEvent.objects.filter(action="incident.hotfix_linked").exists()
    page = client.get("/incidents/").content.decode()
    assert f"Hotfix v{hotfix.version}" in page and "Start a hotfix release" not in page
    assert start not in client.get(f"/incidents/{incident.pk}/").content.decode()

    again = client.post(f"/incidents/{incident.pk}/hotfix/start/", follow=True)
    assert "has its hotfix release already" in again.content.decode()
    assert Release.objects.filter(type="hotfix").count() == 1


def test_readers_may_not_start_a_hotfix_or_roll_back(
    client_as, project, production, manager, stakeholder, approver
):
    incident = _critical(project, production, manager)
    for user in (stakeholder, approver):
        client = client_as(user)
        assert client.post(f"/incidents/{incident.pk}/hotfix/start/").status_code == 403
        rollback = f"/deployments/{project.slug}/production/rollback/"
        assert client.post(rollback, {"confirmed": "1"}).status_code == 403
    assert not Release.objects.filter(type="hotfix").exists()
    with pytest.raises(NotAllowed):
        incident_hotfix_start(incident=incident, actor=stakeholder)


def test_a_resolved_incident_gets_no_hotfix(project, production, manager):
    incident = _critical(project, production, manager)
    incident_transition(
        incident=incident, to="resolved", actor=manager, summary="Rolled back, all good."
    )
    with pytest.raises(Conflict):
        incident_hotfix_start(incident=incident, actor=manager)


def test_no_banner_for_other_severities_other_environments_or_once_resolved(
    client_as, project, production, staging, manager
):
    client = client_as(manager)
    incident_open(
        project=project, environment=production, severity="high", title="Slow", actor=manager
    )
    _critical(project, staging, manager)
    assert 'id="critical-incidents"' not in client.get("/incidents/").content.decode()
    incident = _critical(project, production, manager)
    assert 'id="critical-incidents"' in client.get("/incidents/").content.decode()
    incident_transition(
        incident=incident, to="resolved", actor=manager, summary="Rolled back, all good."
    )
    assert 'id="critical-incidents"' not in client.get("/incidents/").content.decode()


def test_anonymous_pages_show_no_banner(client, project, production, manager):
    _critical(project, production, manager)
    page = client.get("/accounts/login/").content.decode()
    assert 'id="critical-incidents"' not in page


def test_the_banner_costs_one_query_and_escapes_the_title(
    client_as, project, production, manager, django_assert_max_num_queries
):
    incident_open(
        project=project, environment=production, severity="high", title="Slow", actor=manager
    )
    client = client_as(manager)
    # A page that reads no incident of its own (/incidents/ keeps its list, and renders
    # it again when an incident is opened).
    client.get("/runs/")
    with CaptureQueriesContext(connection) as without:
        client.get("/runs/")
    _critical(project, production, manager, title=HOSTILE)
    with django_assert_max_num_queries(len(without.captured_queries)):
        page = client.get("/runs/").content.decode()
    assert HOSTILE not in page and "&lt;script&gt;" in page
    banner_reads = [q for q in without.captured_queries if "incidents_incident" in q["sql"]]
    assert len(banner_reads) == 1  # the banner
