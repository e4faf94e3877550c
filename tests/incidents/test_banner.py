"""A banner on every page while a critical incident is unresolved on production, linking
to it and to the environment's emergency rollback; one query, none without the layout."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidents.services import incident_open, incident_transition

pytestmark = pytest.mark.django_db

HOSTILE = "<script>alert(1)</script>"


def _critical(project, environment, manager, title="Payments fail"):
    return incident_open(
        project=project, environment=environment, severity="critical", title=title, actor=manager
    )


def test_every_signed_in_user_sees_the_banner_on_every_page(
    client_as, project, production, manager, stakeholder, approver
):
    incident = _critical(project, production, manager)
    for user in (manager, stakeholder, approver):
        client = client_as(user)
        for path in ("/", "/releases/", "/deployments/", "/incidents/"):
            page = client.get(path).content.decode()
            assert 'id="critical-incidents"' in page, (user, path)
            assert f'href="/incidents/{incident.pk}/"' in page
            assert f'href="/deployments/{project.slug}/production/"' in page
            assert "Emergency rollback of production" in page


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
