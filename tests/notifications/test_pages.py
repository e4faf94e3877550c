"""The inbox, the header's count, preferences, failed deliveries and webhook pages: each
tried as the role it is for, a role it is not for, and an outsider where it matters."""

import pytest
from django.urls import reverse

from liftoff.roles import Role
from notifications.models import Delivery, DeliveryStatus, Notification, WebhookEndpoint

SHIPPED = {"version": "2.0.0", "tag": "v2.0.0", "commit": "abc123"}


@pytest.mark.django_db
@pytest.mark.parametrize("others", [3, 300])
def test_the_inbox_count_changes_after_an_event_in_two_queries(
    client_as, stakeholder, raise_event, release, django_assert_max_num_queries, others
):
    """Two queries at any inbox size: the user with their roles, and one indexed count
    (the session comes from the shared cache, liftoff/sessions.py)."""
    Notification.objects.bulk_create(
        Notification(user=stakeholder, event="release.shipped", title=f"old {n}")
        for n in range(others)
    )
    client = client_as(stakeholder)
    count_url = reverse("notifications:count")
    htmx = {"HX-Request": "true"}
    assert client.get(count_url, {"shown": str(others)}, headers=htmx).status_code == 204

    raise_event("release.shipped", release, SHIPPED)

    with django_assert_max_num_queries(2):
        answer = client.get(count_url, {"shown": str(others)}, headers=htmx)
    assert answer.status_code == 200
    assert f'hx-vals=\'{{"shown": "{others + 1}"}}\'' in answer.content.decode()
    assert f'{others + 1}<span class="visually-hidden"> unread' in answer.content.decode()
    with django_assert_max_num_queries(2):
        assert client.get(count_url, {"shown": str(others + 1)}, headers=htmx).status_code == 204
    # Without htmx the URL leads to the inbox.
    assert client.get(count_url).status_code == 302


@pytest.mark.django_db
def test_pages_ask_for_the_count_when_they_load_and_pay_no_query_for_it(client_as, stakeholder):
    page = client_as(stakeholder).get("/").content.decode()
    assert 'hx-trigger="load, every 15s" hx-vals=\'{"shown": ""}\'' in page
    assert 'href="/notifications/"' in page


@pytest.mark.django_db
def test_the_inbox_lists_links_and_marks_read(client_as, stakeholder, raise_event, release):
    raise_event("release.shipped", release, SHIPPED)
    raise_event("release.shipped", release, SHIPPED)
    client = client_as(stakeholder)
    page = client.get(reverse("notifications:inbox")).content.decode()
    assert f'href="{release.get_absolute_url()}"' in page
    first, _ = Notification.objects.filter(user=stakeholder)

    client.post(reverse("notifications:read", args=[first.pk]))
    assert Notification.objects.filter(user=stakeholder, read_at=None).count() == 1
    client.post(reverse("notifications:read-all"))
    assert Notification.objects.filter(user=stakeholder, read_at=None).count() == 0


@pytest.mark.django_db
def test_nobody_marks_another_users_notification_read(
    client_as, stakeholder, approver, raise_event, release
):
    raise_event("release.shipped", release, SHIPPED)
    theirs = Notification.objects.get(user=approver)
    client_as(stakeholder).post(reverse("notifications:read", args=[theirs.pk]))
    theirs.refresh_from_db()
    assert theirs.read_at is None


@pytest.mark.django_db
def test_preferences_are_saved_per_event_and_channel(client_as, approver):
    client = client_as(approver)
    page = client.get(reverse("notifications:preferences")).content.decode()
    assert 'name="approval.requested:email" aria-label="Sign-off requested: e-mail" checked' in page
    client.post(reverse("notifications:preferences"), {"release.shipped:email": "on"})
    page = client.get(reverse("notifications:preferences")).content.decode()
    assert 'name="release.shipped:email" aria-label="Release shipped: e-mail" checked' in page
    assert (
        'name="approval.requested:email" aria-label="Sign-off requested: e-mail" checked'
        not in page
    )


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.STAKEHOLDER, Role.APPROVER, Role.RELEASE_MANAGER])
def test_admin_pages_refuse_other_roles(client_as, make_user, project, role):
    client = client_as(make_user(role))
    assert client.get(reverse("notifications:deliveries")).status_code == 403
    assert client.get(reverse("webhooks:list", args=[project.slug])).status_code == 403
    assert (
        client.post(
            reverse("webhooks:list", args=[project.slug]),
            {"url": "https://hooks.example.test/x", "events": ["*"], "format": "standard"},
        ).status_code
        == 403
    )
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db
def test_an_admin_adds_a_webhook_and_sees_its_secret_once(client_as, admin_user, project):
    client = client_as(admin_user)
    url = reverse("webhooks:list", args=[project.slug])
    answer = client.post(
        url,
        {
            "url": "http://127.0.0.1:9/hook",
            "events": ["release.shipped"],
            "format": "standard",
            "allow_private": "on",
        },
    )
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret in answer.content.decode()
    assert 'aria-current="page">Webhooks</a>' in answer.content.decode()
    assert endpoint.secret not in client.get(url).content.decode()

    rotated = client.post(reverse("webhooks:rotate", args=[project.slug, endpoint.pk]))
    endpoint.refresh_from_db()
    assert endpoint.secret in rotated.content.decode() and endpoint.previous_secret

    client.post(reverse("webhooks:active", args=[project.slug, endpoint.pk]), {"active": "0"})
    endpoint.refresh_from_db()
    assert not endpoint.active
    client.post(reverse("webhooks:active", args=[project.slug, endpoint.pk]), {"active": "1"})
    endpoint.refresh_from_db()
    assert endpoint.active
    client.post(reverse("webhooks:delete", args=[project.slug, endpoint.pk]))
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db
def test_a_metadata_url_is_refused_on_the_page(client_as, admin_user, project):
    answer = client_as(admin_user).post(
        reverse("webhooks:list", args=[project.slug]),
        {"url": "http://169.254.169.254/latest/", "events": ["*"], "format": "standard"},
    )
    assert answer.status_code == 400
    assert "cloud metadata" in answer.content.decode()


@pytest.mark.django_db
def test_an_admin_sends_a_failed_delivery_again(
    client_as,
    admin_user,
    add_webhook,
    raise_event,
    release,
    django_capture_on_commit_callbacks,
    monkeypatch,
):
    add_webhook("http://127.0.0.1:9/hook")
    [delivery] = raise_event("release.shipped", release, SHIPPED)
    Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.FAILED, attempts=8)
    client = client_as(admin_user)
    assert "127.0.0.1:9/hook" in client.get(reverse("notifications:deliveries")).content.decode()

    rung = []
    monkeypatch.setattr(
        "notifications.services.deliveries_dispatch",
        lambda *, delivery_ids, countdown=0: rung.extend(delivery_ids) or len(delivery_ids),
    )
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("notifications:delivery-send-again", args=[delivery.pk]))
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 0)
    assert rung == [delivery.pk]
