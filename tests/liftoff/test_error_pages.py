"""403, 404 and 500 in the layout; the 403 names the role that may; the API keeps its
JSON errors."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from liftoff.roles import Role

pytestmark = pytest.mark.django_db

LAYOUT = '<link rel="stylesheet" href="/static/css/liftoff.css">'


def test_403_names_the_role_the_page_needs_in_the_layout(client_as, stakeholder):
    response = client_as(stakeholder).get("/releases/new/")

    page = response.content.decode()
    assert response.status_code == 403
    assert LAYOUT in page and 'aria-label="Main"' in page  # the navigation too
    assert "<h1>You may not use this page</h1>" in page
    assert "This page is for the role <strong>Release manager or Admin</strong>." in page
    assert "You are signed in as stakeholder-user, with the role Stakeholder." in page


def test_403_of_a_user_without_a_role(client_as, make_user):
    page = client_as(make_user(None, "nobody")).get("/releases/").content.decode()
    assert "for the role <strong>Release manager, Approver, Stakeholder or Admin</strong>." in page
    assert "with no role" in page


def test_404_in_the_layout(client_as, stakeholder):
    response = client_as(stakeholder).get("/no/such/page/")
    page = response.content.decode()
    assert response.status_code == 404
    assert LAYOUT in page and "<h1>Page not found</h1>" in page
    assert "<code>/no/such/page/</code>" in page


def test_the_api_keeps_its_json_errors(client_as, stakeholder):
    client = client_as(stakeholder)
    missing = client.get("/api/v1/nothing-here/")
    assert missing.status_code == 404 and missing.json()["detail"].startswith("No endpoint")
    refused = client.post("/api/v1/projects/", {}, content_type="application/json")
    assert refused.status_code == 403
    assert refused.json() == {"detail": "Your role does not allow this.", "errors": {}}


@pytest.fixture
def failing_site(client, settings):
    settings.ROOT_URLCONF = "tests.liftoff.error_urls"
    settings.DEBUG = False
    client.raise_request_exception = False
    return client


def test_500_in_the_layout_without_the_database(failing_site, stakeholder):
    failing_site.force_login(stakeholder)
    with CaptureQueriesContext(connection) as queries:
        response = failing_site.get("/boom/")
    page = response.content.decode()
    assert response.status_code == 500
    assert LAYOUT in page and "<h1>Something went wrong on the server</h1>" in page
    # Rendered without the request: no navigation, and nothing read for the page itself
    # (the middleware's session and user lookups only).
    assert 'aria-label="Main"' not in page
    tables = ("django_session", "auth_user")
    assert all(any(t in q["sql"] for t in tables) for q in queries.captured_queries), [
        q["sql"] for q in queries.captured_queries
    ]
    assert "a bug" not in page and "Traceback" not in page


def test_500_of_the_api_is_json(failing_site):
    response = failing_site.get("/api/v1/boom/")
    assert response.status_code == 500
    assert response.json() == {"detail": "Something went wrong on the server.", "errors": {}}


@pytest.mark.parametrize("role", [Role.STAKEHOLDER, Role.APPROVER])
def test_htmx_refusals_stay_403(client_as, make_user, role):
    response = client_as(make_user(role)).get("/releases/new/", headers={"HX-Request": "true"})
    assert response.status_code == 403
