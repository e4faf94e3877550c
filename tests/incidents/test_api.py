"""The incidents API: reading, opening (people and a project's token), moving; refusals
are 4xx JSON bodies that say what is wrong, and nothing is written."""

import pytest
from rest_framework.test import APIClient

from incidents.models import Incident
from incidents.services import incident_open
from liftoff.tokens import token_create
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


def _client(user=None, secret=None):
    client = APIClient()
    if secret:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    elif user:
        client.force_authenticate(user)
    return client


def _body(**kw):
    return {
        "project": "shop",
        "environment": "production",
        "severity": "critical",
        "title": "Checkout answers 500",
        **kw,
    }


def test_a_manager_opens_an_incident_with_the_documented_fields(
    project, production, manager, deployed
):
    deployment = deployed(production, 10)
    response = _client(manager).post("/api/v1/incidents/", _body(), format="json")
    assert response.status_code == 201
    body = response.json()
    assert {
        "id",
        "project",
        "environment",
        "severity",
        "status",
        "title",
        "deployment",
        "opened_at",
        "acknowledged_at",
        "resolved_at",
        "respond_by",
        "breached",
    } <= set(body)
    assert body["project"] == "shop" and body["environment"] == "production"
    assert body["deployment"] == deployment.pk and body["status"] == "open"
    assert body["respond_by"] and body["breached"] is False
    assert Incident.objects.get().source == "api"


def test_reading_the_list_filters_and_one_incident(project, production, manager, stakeholder):
    incident = incident_open(
        project=project, environment=production, severity="low", title="Typo", actor=manager
    )
    incident_open(project=project, environment=None, severity="high", title="Slow", actor=manager)
    client = _client(stakeholder)
    listed = client.get("/api/v1/incidents/?severity=low").json()
    assert listed["count"] == 1 and listed["results"][0]["title"] == "Typo"
    assert listed["results"][0]["respond_by"] is None
    one = client.get(f"/api/v1/incidents/{incident.pk}/").json()
    assert one["id"] == incident.pk and one["environment"] == "production"
    missing = client.get("/api/v1/incidents/999999/")
    assert missing.status_code == 404 and missing.json()["detail"]


def test_bad_bodies_are_400_naming_the_fields_and_write_nothing(project, production, manager):
    client = _client(manager)
    answer = client.post("/api/v1/incidents/", _body(severity="doom", title=""), format="json")
    assert answer.status_code == 400
    assert set(answer.json()["errors"]) == {"severity", "title"}
    answer = client.post("/api/v1/incidents/", _body(environment="moon"), format="json")
    assert answer.status_code == 400
    assert answer.json()["errors"] == {"environment": ["No environment “moon” in Shop."]}
    answer = client.post("/api/v1/incidents/", _body(project="nope"), format="json")
    assert answer.status_code == 400 and "project" in answer.json()["errors"]
    assert not Incident.objects.exists()


def test_read_only_roles_may_not_open_or_move(project, production, manager, stakeholder, approver):
    incident = incident_open(
        project=project, environment=production, severity="high", title="Slow", actor=manager
    )
    for user in (stakeholder, approver):
        client = _client(user)
        refused = client.post("/api/v1/incidents/", _body(), format="json")
        assert refused.status_code == 403 and refused.json()["detail"]
        moved = client.post(
            f"/api/v1/incidents/{incident.pk}/transition/", {"to": "acknowledged"}, format="json"
        )
        assert moved.status_code == 403
    assert Incident.objects.count() == 1
    assert Incident.objects.get().status == "open"


def test_a_project_token_opens_and_reads_only_for_its_project(
    project, production, admin_user, manager
):
    _, secret = token_create(actor=admin_user, name="monitoring", project=project)
    client = _client(secret=secret)
    opened = client.post("/api/v1/incidents/", _body(severity="high"), format="json")
    assert opened.status_code == 201
    incident = Incident.objects.get()
    assert incident.opened_by is None and incident.source == "api"
    other = ProjectFactory(slug="other", name="Other")
    refused = client.post("/api/v1/incidents/", _body(project="other"), format="json")
    assert refused.status_code == 403
    assert refused.json()["detail"] == "This project token belongs to another project."
    theirs = incident_open(
        project=other, environment=None, severity="low", title="Theirs", actor=manager
    )
    assert client.get(f"/api/v1/incidents/{theirs.pk}/").status_code == 404
    assert [i["title"] for i in client.get("/api/v1/incidents/").json()["results"]] == [
        incident.title
    ]
    moved = client.post(
        f"/api/v1/incidents/{incident.pk}/transition/", {"to": "acknowledged"}, format="json"
    )
    assert moved.status_code == 403  # a token reports; people respond


def test_moving_answers_200_then_409_and_400_with_json(project, production, manager):
    incident = incident_open(
        project=project, environment=production, severity="high", title="Slow", actor=manager
    )
    client = _client(manager)
    url = f"/api/v1/incidents/{incident.pk}/transition/"
    ok = client.post(url, {"to": "acknowledged"}, format="json")
    assert ok.status_code == 200
    assert ok.json()["status"] == "acknowledged" and ok.json()["acknowledged_at"]
    short = client.post(url, {"to": "resolved", "summary": "done"}, format="json")
    assert short.status_code == 400
    assert "summary" in short.json()["errors"]
    unknown = client.post(url, {"to": "open"}, format="json")
    assert unknown.status_code == 400 and "to" in unknown.json()["errors"]
    done = client.post(url, {"to": "resolved", "summary": "Restarted the cache."}, format="json")
    assert done.status_code == 200 and done.json()["resolved_at"]
    again = client.post(url, {"to": "mitigated"}, format="json")
    assert again.status_code == 409
    assert again.json() == {"detail": "A resolved incident cannot become mitigated.", "errors": {}}


def test_the_openapi_document_describes_the_incidents_api(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/incidents/"])
    assert "get" in paths["/api/v1/incidents/{incident_id}/"]
    assert "409" in paths["/api/v1/incidents/{incident_id}/transition/"]["post"]["responses"]
