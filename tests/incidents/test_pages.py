"""The incident pages as the people who use them: release managers act, stakeholders and
approvers read, users without a role are refused; bad input comes back with its errors."""

from datetime import timedelta

import pytest
from django.utils import timezone

from incidents.models import Incident, IncidentSettings
from incidents.services import incident_open, incident_transition
from liftoff.models import AuditEvent
from releases.models import Release
from tests.factories import ReleaseFactory

pytestmark = pytest.mark.django_db

HOSTILE = '<script>alert("x")</script>'


def _incident(project, environment, manager, **kw):
    return incident_open(
        project=project,
        environment=environment,
        severity=kw.pop("severity", "critical"),
        title=kw.pop("title", "Checkout answers 500"),
        description=kw.pop("description", ""),
        actor=manager,
        **kw,
    )


@pytest.fixture
def outsider(make_user):
    return make_user(None, "no-role")


def test_every_role_reads_the_list_and_an_outsider_is_refused(
    client, client_as, project, production, manager, stakeholder, approver, outsider
):
    incident = _incident(project, production, manager)
    for user in (manager, stakeholder, approver):
        page = client_as(user).get("/incidents/")
        assert page.status_code == 200
        assert f"#{incident.pk} Checkout answers 500" in page.content.decode()
    assert client_as(outsider).get("/incidents/").status_code == 403
    client.logout()
    assert client.get("/incidents/").status_code == 302


def test_the_list_filters_by_severity_status_and_breach(
    client_as, project, production, manager, stakeholder
):
    _incident(project, production, manager, severity="high", title="Everything is down")
    low = _incident(project, production, manager, severity="low", title="A typo in the footer")
    incident_transition(incident=low, to="acknowledged", actor=manager)
    client = client_as(stakeholder)
    text = client.get("/incidents/?severity=low").content.decode()
    assert "A typo in the footer" in text and "Everything is down" not in text
    text = client.get("/incidents/?status=open").content.decode()
    assert "Everything is down" in text and "A typo in the footer" not in text
    Incident.objects.filter(title="Everything is down").update(breached=True)
    text = client.get("/incidents/?breached=yes").content.decode()
    assert "Everything is down" in text and "A typo in the footer" not in text
    bad = client.get("/incidents/?since=2026-05-02&until=2026-05-01")
    assert bad.status_code == 400
    assert "Until comes on or after since." in bad.content.decode()


def test_the_list_pages(client_as, project, production, manager):
    for _ in range(26):
        _incident(project, production, manager, severity="medium")
    client = client_as(manager)
    first = client.get("/incidents/").content.decode()
    assert "Page 1 of 2" in first
    assert client.get("/incidents/?page=2").content.decode().count("Checkout answers 500") == 1


def test_a_manager_opens_an_incident_and_it_records_the_deployment(
    client_as, project, production, manager, deployed
):
    deployment = deployed(production, 10)
    client = client_as(manager)
    assert client.get("/incidents/new/").status_code == 200
    response = client.post(
        "/incidents/new/",
        {
            "project": project.slug,
            "environment": str(production.pk),
            "severity": "high",
            "title": "Search is slow",
            "description": "p95 at 4 s",
        },
    )
    incident = Incident.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/incidents/{incident.pk}/"
    assert incident.deployment == deployment
    assert incident.opened_by == manager and incident.source == "ui"


def test_opening_with_bad_input_shows_the_errors_and_writes_nothing(
    client_as, project, production, manager
):
    response = client_as(manager).post(
        "/incidents/new/",
        {"project": project.slug, "environment": "", "severity": "high", "title": "  "},
    )
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    future = (timezone.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = client_as(manager).post(
        "/incidents/new/",
        {"project": project.slug, "severity": "high", "title": "Late", "started_at": future},
    )
    assert response.status_code == 400
    assert "An incident cannot start in the future." in response.content.decode()
    assert not Incident.objects.exists()


def test_stakeholders_open_only_where_the_project_allows_and_approvers_never(
    client_as, project, production, stakeholder, approver
):
    body = {"project": project.slug, "severity": "medium", "title": "Reports are empty"}
    assert client_as(approver).get("/incidents/new/").status_code == 403
    refused = client_as(stakeholder).post("/incidents/new/", body)
    assert refused.status_code == 400
    assert "You may not open incidents on this project." in refused.content.decode()
    assert not Incident.objects.exists()
    IncidentSettings.objects.create(project=project, stakeholders_may_open=True)
    assert client_as(stakeholder).post("/incidents/new/", body).status_code == 302
    assert Incident.objects.get().opened_by == stakeholder


def test_the_incident_page_offers_actions_to_managers_only(
    client_as, project, production, manager, stakeholder, approver, outsider
):
    incident = _incident(project, production, manager)
    url = f"/incidents/{incident.pk}/"
    page = client_as(manager).get(url).content.decode()
    assert "Acknowledge" in page and "Add the note" in page and "Opened as critical" in page
    for user in (stakeholder, approver):
        page = client_as(user).get(url)
        assert page.status_code == 200
        assert "Acknowledge" not in page.content.decode()
    assert client_as(outsider).get(url).status_code == 403
    assert client_as(manager).get("/incidents/999999/").status_code == 404


def test_a_manager_acknowledges_then_resolves_with_a_summary(
    client_as, project, production, manager
):
    incident = _incident(project, production, manager)
    client = client_as(manager)
    url = f"/incidents/{incident.pk}/transition/"
    assert client.post(url, {"to": "acknowledged"}).status_code == 302
    refused = client.post(url, {"to": "resolved", "summary": "ok"})
    assert refused.status_code == 400
    assert "at least 10 characters" in refused.content.decode()
    assert Incident.objects.get(pk=incident.pk).status == "acknowledged"
    done = client.post(url, {"to": "resolved", "summary": "Rolled back to v1.9.0."})
    assert done.status_code == 302
    incident.refresh_from_db()
    assert incident.status == "resolved" and incident.resolved_by == manager
    # Someone else's stale click: a toast, nothing changes.
    again = client.post(url, {"to": "mitigated"}, follow=True)
    assert "cannot become mitigated" in again.content.decode()


def test_read_only_roles_cannot_post_actions(client_as, project, production, manager, stakeholder):
    incident = _incident(project, production, manager)
    client = client_as(stakeholder)
    for path, body in (
        ("transition", {"to": "acknowledged"}),
        ("notes", {"text": "hi"}),
        ("postmortem", {"postmortem": "x"}),
        ("deployment", {"deployment": "", "reason": "because of reasons"}),
    ):
        assert client.post(f"/incidents/{incident.pk}/{path}/", body).status_code == 403
    assert client_as(manager).get(f"/incidents/{incident.pk}/transition/").status_code == 405
    assert Incident.objects.get(pk=incident.pk).entries.count() == 1


def test_changing_the_deployment_needs_a_reason(client_as, project, production, manager, deployed):
    older = deployed(production, 60)
    deployed(production, 5)
    incident = _incident(project, production, manager)
    client = client_as(manager)
    url = f"/incidents/{incident.pk}/deployment/"
    short = client.post(url, {"deployment": str(older.pk), "reason": "hmm"})
    assert short.status_code == 400
    assert "at least 10 characters" in short.content.decode()
    ok = client.post(url, {"deployment": str(older.pk), "reason": "The bug shipped in v1"})
    assert ok.status_code == 302
    assert Incident.objects.get(pk=incident.pk).deployment == older


def test_hostile_text_is_shown_inert_everywhere(client_as, project, production, manager):
    incident = _incident(project, production, manager, title=HOSTILE, description=HOSTILE)
    client = client_as(manager)
    client.post(f"/incidents/{incident.pk}/notes/", {"text": HOSTILE})
    client.post(
        f"/incidents/{incident.pk}/postmortem/",
        {"postmortem": f"# What happened\n\n{HOSTILE}\n\n[x](javascript:alert(1))"},
    )
    for path in (f"/incidents/{incident.pk}/", "/incidents/", "/"):
        page = client.get(path).content.decode()
        assert HOSTILE not in page, path
        assert 'href="javascript' not in page, path
    page = client.get(f"/incidents/{incident.pk}/").content.decode()
    assert "&lt;script&gt;" in page
    assert "<h1>What happened</h1>" in page or "What happened</h" in page
    assert AuditEvent.objects.filter(action="incident.note_added").exists()


@pytest.mark.parametrize("others", [3, 300])
def test_the_countdown_fragment_is_two_queries_and_stops_when_acknowledged(
    client_as, project, production, manager, stakeholder, django_assert_max_num_queries, others
):
    now = timezone.now()
    Incident.objects.bulk_create(
        Incident(
            project=project,
            environment=production,
            severity="high",
            title=f"old {n}",
            opened_at=now,
            started_at=now,
            respond_by=now + timedelta(minutes=60),
        )
        for n in range(others)
    )
    incident = _incident(project, production, manager)
    client = client_as(stakeholder)
    url = f"/incidents/{incident.pk}/clock/"
    client.get(url)
    # The user (with roles) and the incident; the session comes from the shared cache.
    with django_assert_max_num_queries(2):
        response = client.get(url, headers={"HX-Request": "true"})
    assert response.status_code == 200
    text = response.content.decode()
    assert "left" in text and "every 5s" in text
    incident_transition(incident=incident, to="acknowledged", actor=manager)
    stopped = client.get(url, headers={"HX-Request": "true"})
    assert stopped.status_code == 286  # htmx stops polling
    assert "Responded" in stopped.content.decode()


def test_a_manager_links_the_hotfix_release_and_readers_cannot(
    client_as, project, production, manager, stakeholder
):
    hotfix = ReleaseFactory(project=project, version="2.0.1", release_manager=manager)
    Release.objects.filter(pk=hotfix.pk).update(type="hotfix")
    incident = _incident(project, production, manager)
    url = f"/incidents/{incident.pk}/hotfix/"
    assert (
        "Link the hotfix" in client_as(manager).get(f"/incidents/{incident.pk}/").content.decode()
    )
    assert client_as(stakeholder).post(url, {"release": str(hotfix.pk)}).status_code == 403
    bad = client_as(manager).post(url, {"release": "999999"})
    assert bad.status_code == 400
    assert client_as(manager).post(url, {"release": str(hotfix.pk)}).status_code == 302
    assert Incident.objects.get(pk=incident.pk).hotfix_release_id == hotfix.pk
