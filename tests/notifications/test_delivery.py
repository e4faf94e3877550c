"""Sending the outbox for real: webhooks to receivers on 127.0.0.1, e-mail to an SMTP
server on 127.0.0.1. The service is called as the task calls it (no worker here)."""

import json
import logging
import threading
import time

import pytest
from django.db import connection
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from liftoff.errors import ValidationFailed
from notifications.models import Delivery, DeliveryStatus, Lane, WebhookEndpoint
from notifications.services import (
    deliveries_sweep,
    delivery_send,
    endpoint_url_problem,
    webhook_create,
    webhook_rotate_secret,
)

SHIPPED = {"version": "2.0.0", "tag": "v2.0.0", "commit": "abc123"}


@pytest.mark.django_db
def test_a_webhook_is_signed_as_standard_webhooks_says(
    receiver, add_webhook, raise_event, release, caplog
):
    _, secret = add_webhook(receiver.url("/ok"))
    assert secret.startswith("whsec_")
    [delivery] = raise_event("release.shipped", release, SHIPPED)

    with caplog.at_level(logging.INFO):
        assert delivery_send(delivery_id=delivery.pk) == DeliveryStatus.DELIVERED
    # A webhook's URL may hold a secret (Slack's do): it is not logged, nor is the secret.
    assert receiver.url("/ok") not in caplog.text
    assert secret not in caplog.text

    [request] = receiver.seen("/ok")
    data = Webhook(secret).verify(request.body, request.headers)
    assert data["type"] == "release.shipped"
    assert data["data"]["version"] == "2.0.0"
    assert data["data"]["project"] == "rocket"
    assert request.headers["webhook-id"] == delivery.message_id
    delivery.refresh_from_db()
    assert delivery.attempts == 1
    assert delivery.delivered_at is not None
    assert [a.status_code for a in delivery.attempt_log.all()] == [200]


@pytest.mark.django_db
def test_during_a_rotation_both_secrets_sign(
    receiver, add_webhook, raise_event, release, admin_user
):
    endpoint, old = add_webhook(receiver.url("/ok"))
    new = webhook_rotate_secret(endpoint=endpoint, actor=admin_user)
    [delivery] = raise_event("release.shipped", release, SHIPPED)
    delivery_send(delivery_id=delivery.pk)

    [request] = receiver.seen("/ok")
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(request.body, request.headers)
    Webhook(new).verify(request.body, request.headers)

    # Once the overlap is over, only the new secret signs.
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        previous_secret_until=timezone.now() - timezone.timedelta(seconds=1)
    )
    [later] = raise_event("release.shipped", release, SHIPPED)
    delivery_send(delivery_id=later.pk)
    last = receiver.seen("/ok")[-1]
    assert len(last.headers["webhook-signature"].split(" ")) == 1
    Webhook(new).verify(last.body, last.headers)


@pytest.mark.django_db
def test_a_slack_endpoint_gets_text_and_short_blocks(receiver, add_webhook, raise_event, release):
    add_webhook(receiver.url("/ok"), format="slack")
    payload = {**SHIPPED, "notes": "x" * 7000}
    [delivery] = raise_event("release.shipped", release, payload)
    delivery_send(delivery_id=delivery.pk)

    body = json.loads(receiver.seen("/ok")[0].body)
    assert "2.0.0" in body["text"]
    assert len(body["blocks"]) >= 3
    assert all(len(b["text"]["text"]) <= 3000 for b in body["blocks"])


@pytest.mark.django_db
def test_a_failing_endpoint_is_retried_with_the_same_id_until_it_answers(
    receiver, add_webhook, raise_event, release, settings
):
    settings.WEBHOOK_RETRY_SCALE = 0.001  # 5 ms, 300 ms, ...
    add_webhook(receiver.url("/flaky"))
    [delivery] = raise_event("release.shipped", release, SHIPPED)

    statuses = []
    deadline = time.monotonic() + 10
    while not statuses or statuses[-1] != DeliveryStatus.DELIVERED:
        assert time.monotonic() < deadline, statuses
        status = delivery_send(delivery_id=delivery.pk)  # None while not yet due
        if status:
            statuses.append(status)
        time.sleep(0.01)

    assert statuses == ["pending", "pending", "delivered"]
    requests = receiver.seen("/flaky")
    assert len(requests) == 3
    assert {r.headers["webhook-id"] for r in requests} == {delivery.message_id}
    delivery.refresh_from_db()
    assert [a.status_code for a in delivery.attempt_log.all()] == [503, 503, 200]


@pytest.mark.django_db
def test_a_silent_endpoint_times_out_and_the_others_are_still_delivered(
    receiver, add_webhook, raise_event, release, settings, caplog
):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    add_webhook(receiver.url("/silent"))
    add_webhook(receiver.url("/ok"))
    silent, ok = raise_event("release.shipped", release, SHIPPED)

    with caplog.at_level(logging.WARNING, logger="notifications.services"):
        started = time.monotonic()
        # On the slow lane, where it goes after the fast lane's time (test_lanes.py).
        assert delivery_send(delivery_id=silent.pk, lane=Lane.SLOW) == DeliveryStatus.PENDING
        assert time.monotonic() - started < 3
    assert delivery_send(delivery_id=ok.pk) == DeliveryStatus.DELIVERED

    silent.refresh_from_db()
    assert silent.last_error == "no answer within 0.5 s"
    assert silent.next_attempt_at > timezone.now()
    assert "no answer within 0.5 s" in caplog.text
    assert silent.endpoint.secret not in caplog.text


@pytest.mark.django_db
def test_410_gone_disables_the_endpoint_and_its_waiting_deliveries(
    receiver, add_webhook, raise_event, release
):
    endpoint, _ = add_webhook(receiver.url("/gone"))
    first = raise_event("release.shipped", release, SHIPPED)[0]
    second = raise_event("release.shipped", release, SHIPPED)[0]

    assert delivery_send(delivery_id=first.pk) == DeliveryStatus.DISABLED

    endpoint.refresh_from_db()
    assert not endpoint.active
    assert "410" in endpoint.disabled_reason
    second.refresh_from_db()
    assert second.status == DeliveryStatus.DISABLED
    assert raise_event("release.shipped", release, SHIPPED) == []  # no longer listens


@pytest.mark.django_db
def test_other_4xx_fail_at_once_and_429_waits_as_asked(receiver, add_webhook, raise_event, release):
    add_webhook(receiver.url("/bad"))
    add_webhook(receiver.url("/busy"))
    bad, busy = raise_event("release.shipped", release, SHIPPED)

    assert delivery_send(delivery_id=bad.pk) == DeliveryStatus.FAILED
    assert delivery_send(delivery_id=busy.pk) == DeliveryStatus.PENDING
    busy.refresh_from_db()
    assert busy.next_attempt_at >= timezone.now() + timezone.timedelta(seconds=115)
    assert busy.last_status_code == 429


@pytest.mark.django_db
def test_metadata_and_link_local_urls_are_refused(project, admin_user):
    for url in ["http://169.254.169.254/latest/meta-data/", "http://[fe80::1]/hook"]:
        with pytest.raises(ValidationFailed) as refused:
            webhook_create(project=project, url=url, events=["*"], actor=admin_user)
        assert "address" in refused.value.summary()
    assert endpoint_url_problem("ftp://example.test/x", allow_private=True)
    assert "this machine" in endpoint_url_problem("http://127.0.0.1:9/x", allow_private=False)
    assert endpoint_url_problem("http://127.0.0.1:9/x", allow_private=True) == ""
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db
def test_a_refused_address_is_checked_again_when_sending(raise_event, add_webhook, release):
    endpoint, _ = add_webhook("http://169.254.169.254/latest/")
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(allow_private=False)
    [delivery] = raise_event("release.shipped", release, SHIPPED)
    assert delivery_send(delivery_id=delivery.pk) == DeliveryStatus.FAILED
    delivery.refresh_from_db()
    assert delivery.last_error.startswith("refused: ")


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_senders_deliver_once(receiver, add_webhook, raise_event, release):
    add_webhook(receiver.url("/ok"))
    [delivery] = raise_event("release.shipped", release, SHIPPED)
    start = threading.Barrier(2)
    results = []

    def sender():
        try:
            start.wait()
            results.append(delivery_send(delivery_id=delivery.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)

    # One sender claimed it and delivered; the other lost the claim and sent nothing.
    assert sorted(map(str, results)) == ["None", "delivered"]
    assert len(receiver.seen("/ok")) == 1


@pytest.mark.django_db
def test_the_sweeper_sends_again_what_waited_and_what_got_stuck(
    raise_event, add_webhook, release, settings, monkeypatch
):
    rung = []
    monkeypatch.setattr(
        "notifications.services.deliveries_dispatch",
        lambda *, delivery_ids, countdown=0: rung.extend(delivery_ids) or len(delivery_ids),
    )
    add_webhook("http://127.0.0.1:9/a")
    add_webhook("http://127.0.0.1:9/b")
    add_webhook("http://127.0.0.1:9/c")
    waited, stuck, _fresh = raise_event("release.shipped", release, SHIPPED)
    long_ago = timezone.now() - timezone.timedelta(minutes=10)
    Delivery.objects.filter(pk=waited.pk).update(next_attempt_at=long_ago)
    Delivery.objects.filter(pk=stuck.pk).update(status="sending", claimed_at=long_ago)

    assert sorted(deliveries_sweep()) == sorted([waited.pk, stuck.pk])
    stuck.refresh_from_db()
    assert stuck.status == DeliveryStatus.PENDING


@pytest.mark.django_db
def test_email_goes_through_a_real_smtp_server(
    smtp_server, raise_event, release, make_user, settings
):
    settings.LIFTOFF_BASE_URL = "https://liftoff.example.test"
    approver = make_user("approver", "ada")
    [delivery] = raise_event("approval.requested", release, {"gates": ["qa-signoff"]})
    assert delivery.channel == "email" and delivery.user == approver

    assert delivery_send(delivery_id=delivery.pk) == DeliveryStatus.DELIVERED

    [(recipients, message)] = smtp_server.messages
    assert recipients == ["ada@example.test"]
    assert "Sign-off requested" in message["Subject"]
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    link = f"https://liftoff.example.test{release.get_absolute_url()}"
    assert link in text
    assert f'href="{link}"' in html


@pytest.mark.django_db
def test_an_smtp_server_that_is_down_means_a_retry(raise_event, release, make_user, settings):
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": 9, "timeout": 2},
        }
    }
    make_user("approver", "bob")
    [delivery] = raise_event("approval.requested", release, {"gates": ["qa-signoff"]})
    assert delivery_send(delivery_id=delivery.pk) == DeliveryStatus.PENDING
    delivery.refresh_from_db()
    assert delivery.last_error
