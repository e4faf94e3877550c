"""A real Celery worker processes tasks; the dashboard says when none answers."""

from datetime import timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.utils import timezone

from liftoff.models import WorkerHeartbeat
from liftoff.tasks import worker_heartbeat
from liftoff.workers import LAST_SEEN_CACHE_KEY, LAST_SEEN_CACHE_SECONDS
from tests.helpers import wait_for


@pytest.mark.worker
def test_a_real_worker_processes_the_heartbeat_task(start_worker):
    start_worker()
    WorkerHeartbeat.objects.update(seen_at=timezone.now() - timedelta(hours=1))
    worker_heartbeat.delay()
    wait_for(
        lambda: WorkerHeartbeat.objects.filter(
            seen_at__gt=timezone.now() - timedelta(minutes=1)
        ).exists(),
        timeout=30,
        message="the heartbeat task to run on the worker",
    )


@pytest.mark.django_db
def test_dashboard_warns_when_no_worker_answered_lately(client_as, manager):
    client = client_as(manager)
    assert "No background worker has answered" in client.get("/").content.decode()
    WorkerHeartbeat.objects.create(hostname="w1", seen_at=timezone.now())
    # Pages reuse the last answer for LAST_SEEN_CACHE_SECONDS: the banner stays a moment.
    assert "No background worker has answered" in client.get("/").content.decode()
    with time_machine.travel(timezone.now() + timedelta(seconds=LAST_SEEN_CACHE_SECONDS + 1)):
        assert "No background worker has answered" not in client.get("/").content.decode()
    WorkerHeartbeat.objects.update(seen_at=timezone.now() - timedelta(minutes=10))
    cache.delete(LAST_SEEN_CACHE_KEY)
    assert "No background worker has answered" in client.get("/").content.decode()
