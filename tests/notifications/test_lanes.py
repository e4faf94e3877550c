"""The two lanes of webhook delivery (docs/notifications.md, "Delivery"): the fast lane
gives a receiver WEBHOOK_FAST_SECONDS; one that does not answer in that time goes, with
its endpoint, to the slow lane, so that a slow or dead receiver holds slow-lane threads
and never the fast receivers' (bench/notify.py measures it). Real receivers on
127.0.0.1; the task's body is called as each lane's worker calls it, with short times."""

import threading
import time

import pytest
from django.db import connection
from django.utils import timezone

from notifications.models import Delivery, DeliveryStatus, Lane, WebhookEndpoint
from notifications.services import deliveries_slow, delivery_send
from tests.notifications.conftest import wait_until

pytestmark = pytest.mark.django_db

SHIPPED = {"version": "2.0.0", "tag": "v2.0.0", "commit": "abc123"}


@pytest.fixture(autouse=True)
def short_times(settings):
    settings.WEBHOOK_FAST_SECONDS = 0.2
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.6
    settings.WEBHOOK_SLOW_LANE_SECONDS = 600


def test_no_answer_in_the_fast_lanes_time_moves_the_delivery_and_its_endpoint_to_the_slow_lane(
    receiver, add_webhook, raise_event, release
):
    endpoint, _ = add_webhook(receiver.url("/silent"))
    [delivery] = raise_event("release.shipped", release, SHIPPED)

    started = time.monotonic()
    assert delivery_send(delivery_id=delivery.pk, lane=Lane.FAST) == DeliveryStatus.PENDING
    assert time.monotonic() - started < 0.5  # the fast lane's time, not the full timeout
    delivery.refresh_from_db()
    endpoint.refresh_from_db()
    assert endpoint.slow_until > timezone.now()
    # Not a failure: due now, the attempt logged but not counted against the schedule.
    assert delivery.attempts == 0 and delivery.next_attempt_at <= timezone.now()
    assert "moved to the slow lane" in delivery.last_error
    assert delivery.attempt_log.count() == 1
    assert deliveries_slow(delivery_ids=[delivery.pk]) == {delivery.pk}

    # The slow lane waits the full timeout, then it is an ordinary failure, retried later.
    started = time.monotonic()
    assert delivery_send(delivery_id=delivery.pk, lane=Lane.SLOW) == DeliveryStatus.PENDING
    assert time.monotonic() - started >= 0.6
    delivery.refresh_from_db()
    assert delivery.attempts == 1 and delivery.next_attempt_at > timezone.now()
    assert delivery.last_error == "no answer within 0.6 s"
    assert len(receiver.seen("/silent")) == 2


def test_a_fast_lane_task_for_a_slow_endpoint_sends_nothing_and_hands_it_over(
    receiver, add_webhook, raise_event, release
):
    """Dispatched to the fast lane before its endpoint was found slow: the fast lane's
    worker does not try it (it would hold a fast-lane thread) but gives it back."""
    endpoint, _ = add_webhook(receiver.url("/ok"))
    [delivery] = raise_event("release.shipped", release, SHIPPED)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        slow_until=timezone.now() + timezone.timedelta(minutes=5)
    )

    assert delivery_send(delivery_id=delivery.pk, lane=Lane.FAST) is None
    assert receiver.seen("/ok") == []
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 0
    assert delivery.attempt_log.count() == 0

    assert delivery_send(delivery_id=delivery.pk, lane=Lane.SLOW) == DeliveryStatus.DELIVERED
    assert len(receiver.seen("/ok")) == 1


def test_a_quick_answer_on_the_slow_lane_brings_the_endpoint_back(
    receiver, add_webhook, raise_event, release
):
    endpoint, _ = add_webhook(receiver.url("/ok"))
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        slow_until=timezone.now() + timezone.timedelta(minutes=5)
    )
    first, second = (raise_event("release.shipped", release, SHIPPED)[0] for _ in range(2))
    assert deliveries_slow(delivery_ids=[first.pk, second.pk]) == {first.pk, second.pk}

    assert delivery_send(delivery_id=first.pk, lane=Lane.SLOW) == DeliveryStatus.DELIVERED
    endpoint.refresh_from_db()
    assert endpoint.slow_until is None
    assert deliveries_slow(delivery_ids=[second.pk]) == set()
    assert delivery_send(delivery_id=second.pk, lane=Lane.FAST) == DeliveryStatus.DELIVERED


def test_the_fast_lane_still_delivers_the_others_while_a_receiver_is_silent(
    receiver, add_webhook, raise_event, release
):
    add_webhook(receiver.url("/silent"))
    add_webhook(receiver.url("/ok"))
    silent, ok = raise_event("release.shipped", release, SHIPPED)
    delivery_send(delivery_id=silent.pk, lane=Lane.FAST)
    assert delivery_send(delivery_id=ok.pk, lane=Lane.FAST) == DeliveryStatus.DELIVERED
    assert Delivery.objects.get(pk=ok.pk).attempts == 1


@pytest.mark.django_db(transaction=True)
def test_on_the_slow_lane_a_dead_receiver_holds_two_threads_and_the_rest_wait_their_turn(
    receiver, add_webhook, raise_event, release, settings
):
    settings.WEBHOOK_SLOW_LANE_PER_ENDPOINT = 2
    add_webhook(receiver.url("/silent"))
    deliveries = [raise_event("release.shipped", release, SHIPPED)[0] for _ in range(3)]

    def send(pk):
        try:
            delivery_send(delivery_id=pk, lane=Lane.SLOW)
        finally:
            connection.close()  # the thread's own connection

    senders = [threading.Thread(target=send, args=(d.pk,)) for d in deliveries[:2]]
    for sender in senders:
        sender.start()
    assert wait_until(lambda: len(receiver.seen("/silent")) == 2, timeout=5)

    third = deliveries[2]
    asked, started = timezone.now(), time.monotonic()
    assert delivery_send(delivery_id=third.pk, lane=Lane.SLOW) is None
    assert time.monotonic() - started < 0.5  # not sent: no thread held for the timeout
    for sender in senders:
        sender.join(timeout=5)
    assert len(receiver.seen("/silent")) == 2
    third.refresh_from_db()
    assert third.status == DeliveryStatus.PENDING and third.attempts == 0
    assert third.next_attempt_at >= asked + timezone.timedelta(seconds=0.6)


def test_a_delivery_kept_waiting_on_the_fast_lane_sends_the_next_ones_to_the_slow_lane(
    receiver, add_webhook, raise_event, release
):
    """A receiver that has just died: before the first delivery's fast-lane time is up,
    the next ones to it do not take fast-lane threads too."""
    add_webhook(receiver.url("/ok"))
    waiting, next_one = (raise_event("release.shipped", release, SHIPPED)[0] for _ in range(2))
    Delivery.objects.filter(pk=waiting.pk).update(
        status=DeliveryStatus.SENDING, claimed_at=timezone.now() - timezone.timedelta(seconds=1)
    )

    assert delivery_send(delivery_id=next_one.pk, lane=Lane.FAST) is None
    assert receiver.seen("/ok") == []
    next_one.refresh_from_db()
    assert next_one.status == DeliveryStatus.PENDING and next_one.attempts == 0
