"""Sessions read from the shared cache (liftoff/sessions.py): a signed-in request pays no
query for its session, a logout ends it everywhere, and a dead cache slows pages down
instead of breaking them."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.helpers import free_port

pytestmark = pytest.mark.django_db


def test_a_signed_in_request_reads_no_session_row(client_as, stakeholder):
    client = client_as(stakeholder)
    client.get("/notifications/")
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/notifications/").status_code == 200
    assert not [q for q in queries.captured_queries if "django_session" in q["sql"]]


def test_a_logout_ends_the_session_even_though_it_was_cached(client, stakeholder):
    client.force_login(stakeholder)
    cookie = client.cookies["sessionid"].value
    assert client.get("/notifications/").status_code == 200
    client.post("/accounts/logout/")
    client.cookies["sessionid"] = cookie  # someone kept the old cookie
    answer = client.get("/notifications/")
    assert answer.status_code == 302 and "/accounts/login/" in answer["Location"]


def test_pages_still_work_when_the_session_cache_is_down(client, stakeholder, settings):
    settings.CACHES = {
        **settings.CACHES,
        "sessions": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        },
    }
    client.force_login(stakeholder)
    assert client.get("/notifications/").status_code == 200
    client.post("/accounts/logout/")
    assert client.get("/notifications/").status_code == 302
