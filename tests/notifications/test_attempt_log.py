"""The attempt log (admins): a delivery's page and an endpoint's page list every attempt
made for real against receivers on 127.0.0.1 (answer, time taken, error), are linked from
the failed deliveries and the webhooks pages, and never show the signing secret."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from liftoff.roles import Role
from notifications.models import Delivery, DeliveryAttempt, DeliveryStatus
from notifications.services import delivery_send, webhook_rotate_secret
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db

SHIPPED = {"version": "2.0.0", "tag": "v2.0.0", "commit": "abc123"}


@pytest.fixture
def failed(receiver, add_webhook, raise_event, release, admin_user):
    """A delivery that really failed: the receiver answered 400 (no retry)."""
    endpoint, secret = add_webhook(receiver.url("/bad"))
    previous = secret
    secret = webhook_rotate_secret(endpoint=endpoint, actor=admin_user)
    [delivery] = raise_event("release.shipped", release, SHIPPED)
    assert delivery_send(delivery_id=delivery.pk) == DeliveryStatus.FAILED
    endpoint.refresh_from_db()
    return delivery, endpoint, (previous, secret)


def test_a_delivery_page_lists_its_attempts_and_no_secret(client_as, admin_user, failed):
    delivery, _, secrets = failed
    client = client_as(admin_user)
    listing = client.get(reverse("notifications:deliveries")).content.decode()
    url = reverse("notifications:delivery", args=[delivery.pk])
    assert f'href="{url}"' in listing

    page = client.get(url).content.decode()
    [attempt] = DeliveryAttempt.objects.filter(delivery=delivery)
    assert "<td>400</td>" in page and "HTTP 400" in page
    assert f"<td>{attempt.duration_ms} ms</td>" in page
    assert delivery.message_id in page
    assert "Send again" in page
    for secret in secrets:
        assert secret not in page
        assert secret.removeprefix("whsec_") not in page


def test_an_endpoint_page_lists_the_attempts_of_its_deliveries_and_no_secret(
    client_as, admin_user, failed, receiver, add_webhook, raise_event, release
):
    delivery, endpoint, secrets = failed
    [again] = raise_event("release.shipped", release, SHIPPED)
    delivery_send(delivery_id=again.pk)
    client = client_as(admin_user)
    url = reverse("webhooks:attempts", args=[endpoint.project.slug, endpoint.pk])
    assert (
        f'href="{url}"'
        in client.get(reverse("webhooks:list", args=[endpoint.project.slug])).content.decode()
    )

    page = client.get(url).content.decode()
    for pk in (delivery.pk, again.pk):
        assert f'href="{reverse("notifications:delivery", args=[pk])}"' in page
    assert page.count("HTTP 400") == 2
    for secret in secrets:
        assert secret not in page
        assert secret.removeprefix("whsec_") not in page


@pytest.mark.parametrize("role", [Role.STAKEHOLDER, Role.APPROVER, Role.RELEASE_MANAGER])
def test_only_admins_see_the_attempt_log(client_as, make_user, failed, role):
    delivery, endpoint, _ = failed
    client = client_as(make_user(role))
    assert client.get(reverse("notifications:delivery", args=[delivery.pk])).status_code == 403
    attempts = reverse("webhooks:attempts", args=[endpoint.project.slug, endpoint.pk])
    assert client.get(attempts).status_code == 403


def test_another_projects_endpoint_or_an_unknown_delivery_is_404(client_as, admin_user, failed):
    _, endpoint, _ = failed
    other = ProjectFactory(slug="other")
    client = client_as(admin_user)
    assert (
        client.get(reverse("webhooks:attempts", args=[other.slug, endpoint.pk])).status_code == 404
    )
    assert client.get(reverse("notifications:delivery", args=[999999])).status_code == 404


@pytest.mark.parametrize("count", [3, 120])
def test_the_attempt_pages_cost_the_same_queries_for_few_or_many_attempts(
    client_as, admin_user, failed, count, django_assert_max_num_queries
):
    delivery, endpoint, _ = failed
    start = timezone.now()
    deliveries = Delivery.objects.bulk_create(
        Delivery(channel="webhook", endpoint=endpoint, event="release.shipped")
        for _ in range(count)
    )
    DeliveryAttempt.objects.bulk_create(
        DeliveryAttempt(
            delivery=deliveries[n % len(deliveries)] if n % 2 else delivery,
            at=start + timedelta(seconds=n),
            status_code=503,
            duration_ms=n,
            error="HTTP 503",
        )
        for n in range(count)
    )
    client = client_as(admin_user)
    urls = [
        reverse("notifications:delivery", args=[delivery.pk]),
        reverse("webhooks:attempts", args=[endpoint.project.slug, endpoint.pk]),
    ]
    for url in urls:
        client.get(url)
        with django_assert_max_num_queries(8):
            assert client.get(url).status_code == 200
