"""Who may use what: every URL declares its roles, and the declarations hold."""

import re

import pytest
from django.urls import reverse

from liftoff.authorization import authorization_table
from liftoff.roles import Role
from tests.factories import ProjectFactory

# Sample values for URL parameters, so every page can be requested.
SAMPLE_ARGS = {"slug": "demo", "token_id": "1", "object_id": "1", "app_label": "auth"}


def _concrete(route: str) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: SAMPLE_ARGS.get(m.group(1), "1"), route)


def test_every_view_declares_who_may_use_it():
    undeclared = [route for route, _, who in authorization_table() if who is None]
    assert undeclared == []


@pytest.mark.django_db
def test_anonymous_requests_to_every_page_redirect_to_login(client):
    ProjectFactory(slug="demo")
    checked = 0
    for route, _name, who in authorization_table():
        if who == "public" or route.startswith(("/admin/", "/api/")):
            continue
        response = client.get(_concrete(route))
        assert response.status_code == 302, route
        assert response["Location"].startswith("/accounts/login/?next="), route
        checked += 1
    assert checked >= 12


@pytest.mark.django_db
def test_anonymous_api_calls_get_401_json(client):
    response = client.get("/api/v1/projects/")
    assert response.status_code == 401
    assert response.json()["detail"]
    assert response["WWW-Authenticate"] == "Bearer"


@pytest.mark.django_db
def test_anonymous_htmx_request_is_sent_to_login_by_htmx(client):
    response = client.get("/releases/", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/accounts/login/?next=/releases/"


@pytest.mark.django_db
@pytest.mark.parametrize("role", list(Role))
def test_every_role_reads_every_page(client_as, make_user, role):
    ProjectFactory(slug="demo")
    user = make_user(role)
    client = client_as(user)
    for path in [
        "/",
        "/releases/",
        "/projects/",
        "/projects/demo/",
        "/approvals/",
        "/deployments/",
        "/incidents/",
        "/metrics/",
        "/accounts/tokens/",
    ]:
        assert client.get(path).status_code == 200, (role, path)


@pytest.mark.django_db
def test_a_user_without_a_role_is_refused(client_as, make_user):
    client = client_as(make_user(None))
    assert client.get("/").status_code == 403
    assert client.get("/api/v1/projects/").status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.STAKEHOLDER, Role.APPROVER, Role.RELEASE_MANAGER])
def test_non_admins_cannot_create_projects(client_as, make_user, role):
    client = client_as(make_user(role))
    page = client.post(reverse("releases:project-new"), {"name": "X", "slug": "x"})
    assert page.status_code == 403
    api = client.post(
        "/api/v1/projects/",
        {"slug": "x", "name": "X", "repo_url": "/srv/x.git"},
        content_type="application/json",
    )
    assert api.status_code == 403
    assert api.json() == {"detail": "Your role does not allow this.", "errors": {}}


@pytest.mark.django_db
def test_stakeholder_is_shown_read_only_navigation(client_as, stakeholder):
    body = client_as(stakeholder).get("/projects/").content.decode()
    assert "Add a project" not in body
    assert "Stakeholder" in body
