"""API tokens: shown once, stored hashed, revocable; per user and per project."""

import re

import pytest

from liftoff.models import ApiToken, AuditEvent
from liftoff.tokens import token_create, token_revoke
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


def _bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_token_is_shown_once_and_stored_hashed(client_as, manager):
    client = client_as(manager)
    response = client.post("/accounts/tokens/", {"name": "my script"})
    assert response.status_code == 200
    secret = re.search(r'value="(lft_[^"]+)"', response.content.decode()).group(1)
    token = ApiToken.objects.get(user=manager)
    assert secret not in (token.key_hash, token.prefix)
    assert token.key_hash != secret and len(token.key_hash) == 64
    # It is not shown again.
    assert secret not in client.get("/accounts/tokens/").content.decode()
    # And it works.
    assert client.get("/api/v1/projects/", headers=_bearer(secret)).status_code == 200


def test_bearer_token_acts_as_its_user(client, manager):
    _, secret = token_create(actor=manager, name="ci", user=manager)
    assert client.get("/api/v1/projects/", headers=_bearer(secret)).status_code == 200
    response = client.post(
        "/api/v1/projects/", {"slug": "x"}, content_type="application/json", headers=_bearer(secret)
    )
    assert response.status_code == 403  # a manager is not an admin


def test_revoked_token_gets_401(client, manager):
    token, secret = token_create(actor=manager, name="ci", user=manager)
    token_revoke(actor=manager, token=token)
    response = client.get("/api/v1/projects/", headers=_bearer(secret))
    assert response.status_code == 401
    assert response.json()["detail"] == "The token is unknown, revoked or expired."
    assert AuditEvent.objects.filter(action="token.revoked").count() == 1


def test_revoke_from_the_page(client_as, manager):
    token, secret = token_create(actor=manager, name="ci", user=manager)
    client = client_as(manager)
    response = client.post(f"/accounts/tokens/{token.pk}/revoke/")
    assert response.status_code == 302
    assert client.get("/api/v1/projects/", headers=_bearer(secret)).status_code == 401


def test_someone_elses_token_is_not_found(client_as, manager, approver):
    token, _ = token_create(actor=manager, name="ci", user=manager)
    response = client_as(approver).post(f"/accounts/tokens/{token.pk}/revoke/")
    assert response.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_garbage_and_malformed_tokens_get_401(client):
    for header in ["Bearer nope", "Bearer lft_1234_abcd", "Bearer a b"]:
        response = client.get("/api/v1/projects/", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert "detail" in response.json()


def test_only_admins_make_project_tokens(client_as, admin_user, manager):
    project = ProjectFactory()
    response = client_as(admin_user).post(
        "/accounts/tokens/", {"name": "gitlab", "project": project.pk}
    )
    assert response.status_code == 200
    assert ApiToken.objects.filter(project=project).count() == 1
    # A manager's form has no project field: the token is personal.
    client_as(manager).post("/accounts/tokens/", {"name": "mine", "project": project.pk})
    assert ApiToken.objects.filter(project=project).count() == 1
    assert ApiToken.objects.filter(user=manager).count() == 1


def test_project_token_cannot_use_user_endpoints(client, admin_user):
    project = ProjectFactory()
    _, secret = token_create(actor=admin_user, name="ci", project=project)
    response = client.get("/api/v1/projects/", headers=_bearer(secret))
    assert response.status_code == 403


def test_token_needs_a_name(client_as, manager):
    response = client_as(manager).post("/accounts/tokens/", {"name": ""})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert ApiToken.objects.count() == 0
