"""Security incidents: marked when opened (page and API) or later with a reason, listed
by their own filter, audited and on the timeline, and counted by the security issues KPI
as soon as the mark changes (the figures' cache hears `incident.changed`)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from incidents.models import Incident
from incidents.services import incident_open, incident_security_set
from liftoff.audit import audit_entries, audit_trail
from liftoff.errors import NotAllowed, ValidationFailed
from metrics.selectors import Window, metrics_report_cached

pytestmark = pytest.mark.django_db


def _open(project, manager, **kw):
    return incident_open(
        project=project,
        environment=None,
        severity=kw.pop("severity", "medium"),
        title=kw.pop("title", "An API key was in a log"),
        actor=manager,
        **kw,
    )


def _window():
    today = timezone.localdate()
    return Window(since=today - timedelta(days=27), until=today)


def test_a_manager_opens_a_security_incident_on_the_page_and_the_list_filters_it(
    client_as, project, manager, stakeholder
):
    client = client_as(manager)
    response = client.post(
        "/incidents/new/",
        {
            "project": project.slug,
            "severity": "high",
            "security": "on",
            "title": "Tokens leaked in a log",
        },
    )
    leaked = Incident.objects.get()
    assert response.status_code == 302 and leaked.security is True
    _open(project, manager, title="Search is slow")
    reader = client_as(stakeholder)
    page = reader.get(f"/incidents/{leaked.pk}/").content.decode()
    assert "Security</span>" in page
    assert "Opened as high security incident" in page
    only = reader.get("/incidents/?security=yes").content.decode()
    assert "Tokens leaked in a log" in only and "Search is slow" not in only
    others = reader.get("/incidents/?security=no").content.decode()
    assert "Tokens leaked in a log" not in others and "Search is slow" in others


def test_the_api_opens_lists_and_shows_the_mark(project, manager):
    client = APIClient()
    client.force_authenticate(manager)
    body = {"project": project.slug, "severity": "low", "title": "Exposed bucket", "security": True}
    created = client.post("/api/v1/incidents/", body, format="json")
    assert created.status_code == 201 and created.json()["security"] is True
    plain = client.post(
        "/api/v1/incidents/", {**body, "title": "Slow", "security": False}, format="json"
    )
    assert plain.json()["security"] is False
    listed = client.get("/api/v1/incidents/?security=true").json()
    assert [row["title"] for row in listed["results"]] == ["Exposed bucket"]
    bad = client.post("/api/v1/incidents/", {**body, "security": "perhaps"}, format="json")
    assert bad.status_code == 400 and "security" in bad.json()["errors"]


def test_the_mark_changes_with_a_reason_on_the_timeline_and_in_the_trail(project, manager):
    incident = _open(project, manager)
    with pytest.raises(ValidationFailed):
        incident_security_set(incident=incident, security=True, actor=manager, reason="hm")
    incident_security_set(
        incident=incident, security=True, actor=manager, reason="The key gave write access"
    )
    assert Incident.objects.get(pk=incident.pk).security is True
    entry = incident.entries.get(kind="security")
    assert "Marked as a security incident: The key gave write access" in entry.text
    sentences = [e.sentence for e in audit_entries(audit_trail(obj=incident))]
    assert sentences[0] == (
        f"manager-user marked incident #{incident.pk} as a security incident: "
        "“The key gave write access”"
    )


def test_setting_what_is_set_already_changes_nothing(project, manager):
    """The update is conditional: a second person marking it at once (or a repeated form)
    records no second change. Without `.exclude(security=…)` the second call writes a
    second timeline entry and audit record."""
    incident = _open(project, manager, security=True)
    stale = Incident.objects.get(pk=incident.pk)
    stale.security = False  # a copy read before the first mark
    with pytest.raises(ValidationFailed, match="already"):
        incident_security_set(
            incident=stale, security=True, actor=manager, reason="Someone read the key"
        )
    assert incident.entries.filter(kind="security").count() == 0


def test_only_release_managers_and_admins_classify(
    client_as, project, manager, stakeholder, approver
):
    incident = _open(project, manager)
    for user in (stakeholder, approver):
        with pytest.raises(NotAllowed):
            incident_security_set(
                incident=incident, security=True, actor=user, reason="Looks like a breach"
            )
        answer = client_as(user).post(
            f"/incidents/{incident.pk}/security/",
            {"security": "yes", "reason": "Looks like a breach"},
        )
        assert answer.status_code == 403
    assert Incident.objects.get(pk=incident.pk).security is False
    page = client_as(manager)
    short = page.post(f"/incidents/{incident.pk}/security/", {"security": "yes", "reason": "x"})
    assert short.status_code == 400 and "at least 10 characters" in short.content.decode()
    done = page.post(
        f"/incidents/{incident.pk}/security/",
        {"security": "yes", "reason": "The key gave write access"},
    )
    assert done.status_code == 302 and Incident.objects.get(pk=incident.pk).security is True


def test_the_security_kpi_counts_security_incidents_at_once(project, manager, client_as):
    """The figures are cached under the project's version: marking an incident must move
    it (incident.changed), or the page would say 0 for up to five minutes."""
    window = _window()
    incident = _open(project, manager)
    before = {f.key: f for f in metrics_report_cached(project=project, window=window).kpis}
    # Nothing measured: no security gate result and no security incident.
    assert before["security_issues"].value is None and before["security_issues"].met is None
    incident_security_set(
        incident=incident, security=True, actor=manager, reason="The key gave write access"
    )
    marked = {f.key: f for f in metrics_report_cached(project=project, window=window).kpis}
    assert marked["security_issues"].value == 1.0
    _open(project, manager, security=True, title="Second leak")
    after = {f.key: f for f in metrics_report_cached(project=project, window=window).kpis}
    figure = after["security_issues"]
    assert (figure.value, figure.met) == (2.0, False)
    assert figure.extra["security_incidents"] == 2 and figure.extra["findings"] == 0
    page = client_as(manager).get(f"/metrics/?project={project.slug}").content.decode()
    assert "2 security incidents</a>" in page
    assert "security=yes" in figure.extra["security_incidents_url"]
