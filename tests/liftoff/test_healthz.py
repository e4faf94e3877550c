import time

import pytest

pytestmark = pytest.mark.django_db


def test_healthz_reports_ok_without_login(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_healthz_reports_a_dead_broker_within_two_seconds(client, settings):
    if settings.REDIS_URL:
        settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"  # the discard port: closed
    else:
        settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
            **settings.CELERY_BROKER_TRANSPORT_OPTIONS,
            "data_folder_in": "/nonexistent/queue",
        }
    started = time.monotonic()
    response = client.get("/healthz")
    elapsed = time.monotonic() - started
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["database"] == "ok"
    assert body["broker"].startswith("down")
    assert elapsed < 2.0


def test_healthz_answers_within_two_seconds_when_the_broker_host_hangs(client, settings):
    """A black-holed broker (no answer at all) still gets a 503 in time."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)  # accepts into the backlog but never answers PING
    port = listener.getsockname()[1]
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{port}/0"
    try:
        started = time.monotonic()
        response = client.get("/healthz")
        elapsed = time.monotonic() - started
    finally:
        listener.close()
    assert response.status_code == 503
    assert response.json()["broker"].startswith("down")
    assert elapsed < 2.0
