"""The API of webhooks and the inbox."""

import pytest

from liftoff.roles import Role
from notifications.models import WebhookEndpoint

SHIPPED = {"version": "2.0.0", "tag": "v2.0.0", "commit": "abc123"}


@pytest.mark.django_db
def test_an_admin_adds_a_webhook_and_gets_its_secret_once(client_as, admin_user, project):
    client = client_as(admin_user)
    url = f"/api/v1/projects/{project.slug}/webhooks/"
    made = client.post(
        url,
        # A private network's address: allowed (a chat server on the team's own network).
        {"url": "http://10.0.0.5/liftoff", "events": ["release.shipped"], "format": "slack"},
        content_type="application/json",
    )
    assert made.status_code == 201, made.json()
    body = made.json()
    assert body["secret"].startswith("whsec_")
    assert body["events"] == ["release.shipped"] and body["format"] == "slack"
    listed = client.get(url).json()
    assert [w["url"] for w in listed] == ["http://10.0.0.5/liftoff"]
    assert "secret" not in listed[0]


@pytest.mark.django_db
def test_the_api_refuses_a_metadata_url_and_unknown_events(client_as, admin_user, project):
    client = client_as(admin_user)
    url = f"/api/v1/projects/{project.slug}/webhooks/"
    refused = client.post(
        url,
        {"url": "http://169.254.169.254/", "events": ["*"]},
        content_type="application/json",
    )
    assert refused.status_code == 400
    assert "metadata" in refused.json()["errors"]["url"][0]
    unknown = client.post(
        url,
        {"url": "http://169.254.169.254/", "events": ["nope"]},
        content_type="application/json",
    )
    assert unknown.status_code == 400
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db
def test_an_admin_allows_a_private_address_for_one_endpoint(client_as, admin_user, project):
    client = client_as(admin_user)
    url = f"/api/v1/projects/{project.slug}/webhooks/"
    hook = {"url": "http://127.0.0.1:9/hook", "events": ["*"]}
    refused = client.post(url, hook, content_type="application/json")
    assert refused.status_code == 400
    assert "url" in refused.json()["errors"]
    made = client.post(url, {**hook, "allow_private": True}, content_type="application/json")
    assert made.status_code == 201, made.json()
    assert made.json()["allow_private"] is True
    assert WebhookEndpoint.objects.get().allow_private
    [listed] = client.get(url).json()
    assert listed["allow_private"] is True
    bad = client.post(url, {**hook, "allow_private": "perhaps"}, content_type="application/json")
    assert bad.status_code == 400 and "allow_private" in bad.json()["errors"]


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.STAKEHOLDER, Role.APPROVER, Role.RELEASE_MANAGER])
def test_others_may_not_allow_a_private_address(client_as, make_user, project, role):
    answer = client_as(make_user(role)).post(
        f"/api/v1/projects/{project.slug}/webhooks/",
        {"url": "http://127.0.0.1:9/hook", "events": ["*"], "allow_private": True},
        content_type="application/json",
    )
    assert answer.status_code == 403
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.STAKEHOLDER, Role.RELEASE_MANAGER])
def test_only_admins_see_webhooks(client_as, make_user, project, role):
    client = client_as(make_user(role))
    assert client.get(f"/api/v1/projects/{project.slug}/webhooks/").status_code == 403


@pytest.mark.django_db
def test_the_inbox_answers_the_unread_count_and_the_newest(
    client_as, stakeholder, raise_event, release
):
    raise_event("release.shipped", release, SHIPPED)
    body = client_as(stakeholder).get("/api/v1/inbox/").json()
    assert body["unread"] == 1
    assert body["notifications"][0]["event"] == "release.shipped"
    assert body["notifications"][0]["url"] == release.get_absolute_url()
