"""Projects: the API contract, the admin form, and constant query counts."""

import pytest

from liftoff.models import AuditEvent
from releases.models import Project
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db

VALID = {
    "slug": "pepelugpt",
    "name": "PepeluGPT",
    "repo_url": "/srv/git/pepelugpt.git",
    "default_branch": "main",
    "version_files": ["pyproject.toml"],
}


def test_admin_creates_a_project_through_the_api(client_as, admin_user):
    response = client_as(admin_user).post(
        "/api/v1/projects/", VALID, content_type="application/json"
    )
    assert response.status_code == 201
    body = response.json()
    assert {k: body[k] for k in VALID} == VALID
    assert body["branch_pattern"] == "release/v{version}-{codename-slug}"
    event = AuditEvent.objects.get(action="project.created")
    assert event.actor == admin_user and event.after["slug"] == "pepelugpt"


def test_project_list_for_every_role(client_as, stakeholder):
    ProjectFactory(slug="a", name="Alpha")
    response = client_as(stakeholder).get("/api/v1/projects/")
    assert response.status_code == 200
    assert [p["slug"] for p in response.json()] == ["a"]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"slug": "Bad Slug"}, "slug", "lowercase"),
        ({"default_branch": "main..x"}, "default_branch", "'..'"),
        ({"default_branch": "-x"}, "default_branch", "starts with '-'"),
        ({"repo_url": "ext::sh -c touch% /tmp/pwned"}, "repo_url", "not a plain git URL"),
        ({"repo_url": "https://bob:s3cret@git.example.test/x.git"}, "repo_url", "password"),
        ({"version_files": ["../etc/passwd"]}, "version_files", "'..'"),
        ({"version_files": []}, "version_files", "at least one"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(client_as, admin_user, change, field, message):
    response = client_as(admin_user).post(
        "/api/v1/projects/", {**VALID, **change}, content_type="application/json"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["detail"]
    assert message in " ".join(body["errors"][field])
    assert Project.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_duplicate_slug_is_refused_cleanly(client_as, admin_user):
    client = client_as(admin_user)
    assert (
        client.post("/api/v1/projects/", VALID, content_type="application/json").status_code == 201
    )
    again = client.post("/api/v1/projects/", VALID, content_type="application/json")
    assert again.status_code == 400
    assert "exists already" in again.json()["errors"]["slug"][0]
    assert Project.objects.count() == 1


def test_missing_fields_and_malformed_json_are_400(client_as, admin_user):
    client = client_as(admin_user)
    missing = client.post("/api/v1/projects/", {}, content_type="application/json")
    assert missing.status_code == 400
    assert set(missing.json()["errors"]) >= {"slug", "name", "repo_url"}
    broken = client.post("/api/v1/projects/", "{not json", content_type="application/json")
    assert broken.status_code == 400
    assert "JSON parse error" in broken.json()["detail"]


def test_unknown_project_is_404_json(client_as, stakeholder):
    response = client_as(stakeholder).get("/api/v1/projects/nope/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "errors": {}}


def test_admin_form_re_renders_with_messages_and_keeps_input(client_as, admin_user):
    client = client_as(admin_user)
    data = {
        "name": "PepeluGPT",
        "slug": "pepelugpt",
        "repo_url": "ext::sh",
        "default_branch": "main",
        "version_files": "pyproject.toml",
    }
    response = client.post("/projects/new/", data)
    assert response.status_code == 400
    body = response.content.decode()
    assert "not a plain git URL" in body
    assert 'value="PepeluGPT"' in body
    data["repo_url"] = "/srv/git/pepelugpt.git"
    response = client.post("/projects/new/", data)
    assert response.status_code == 302
    assert client.get(response["Location"]).status_code == 200


def test_openapi_document_describes_the_api(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    assert "/api/v1/projects/" in doc["paths"]
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


@pytest.mark.parametrize("path", ["/", "/projects/", "/api/v1/projects/", "/releases/"])
def test_pages_make_constant_queries(client_as, admin_user, django_assert_max_num_queries, path):
    client = client_as(admin_user)
    client.get(path)  # warm caches (content types, session)
    for size in (3, 30):
        ProjectFactory.create_batch(size - Project.objects.count())
        # 8, and one for the layout's critical-incident banner (incidents); the dashboard's
        # cards are kept under a digest of their rows (one query), read before them.
        with django_assert_max_num_queries(10 if path == "/" else 9):
            assert client.get(path).status_code == 200
