"""The whole path with a real worker: an event's webhook is dispatched on commit to the
notifications' queue, sent, retried on the shortened schedule, and delivered."""

import pytest
from django.db import transaction

from liftoff.events import emit
from notifications.models import Delivery, DeliveryStatus
from tests.helpers import wait_for


@pytest.mark.worker
def test_a_worker_delivers_and_retries_on_its_own_queue(
    start_worker, receiver, add_webhook, release, monkeypatch
):
    # The worker reads its settings from the environment.
    monkeypatch.setenv("WEBHOOK_RETRY_SCALE", "0.001")
    start_worker()
    add_webhook(receiver.url("/flaky"))
    with transaction.atomic():
        emit("release.shipped", subject=release, payload={"version": "2.0.0", "tag": "v2.0.0"})

    delivery = Delivery.objects.get()
    wait_for(
        lambda: Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.DELIVERED).exists(),
        timeout=30,
        message="the webhook to be delivered",
    )
    assert len(receiver.seen("/flaky")) == 3
    assert delivery.attempt_log.count() == 3
