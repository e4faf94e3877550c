"""Log in, log out, password change, idle sessions and login throttling."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.utils import timezone

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def _login(client, username, password):
    return client.post("/accounts/login/", {"username": username, "password": password})


def test_login_page_is_public_and_logs_in(client, manager):
    assert client.get("/accounts/login/").status_code == 200
    response = _login(client, manager.username, PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200


def test_wrong_password_re_renders_with_a_message(client, manager):
    response = _login(client, manager.username, "wrong")
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_session_key_rotates_at_login(client, manager):
    client.get("/accounts/login/")
    client.session.save()
    before = client.session.session_key
    _login(client, manager.username, PASSWORD)
    assert client.session.session_key != before


def test_logout_needs_post_and_ends_the_session(client, manager):
    client.force_login(manager)
    assert client.get("/accounts/logout/").status_code == 405
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/").status_code == 302


def test_idle_session_expires(client, manager, settings):
    client.force_login(manager)
    client.get("/")
    assert client.session.get_expiry_age() <= settings.SESSION_IDLE_TIMEOUT
    # Pretend the last request was longer ago than the idle timeout.
    session = client.session
    session.set_expiry(timezone.now() - timedelta(seconds=1))
    session.save()
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_password_change_keeps_this_session(client, manager):
    client.force_login(manager)
    response = client.post(
        "/accounts/password/",
        {
            "old_password": PASSWORD,
            "new_password1": "a-new-long-passphrase-42",
            "new_password2": "a-new-long-passphrase-42",
        },
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    manager.refresh_from_db()
    assert manager.check_password("a-new-long-passphrase-42")


def test_five_failures_lock_the_account_for_that_address_then_release(client, manager):
    for _ in range(5):
        _login(client, manager.username, "wrong")
    locked = _login(client, manager.username, PASSWORD)
    assert locked.status_code == 429
    assert "Too many failed log-ins" in locked.content.decode()
    assert client.get("/").status_code == 302  # not logged in

    # Fifteen minutes later the lock is released (move the attempts back in time).
    past = timezone.now() - timedelta(minutes=16)
    AccessAttempt.objects.update(attempt_time=past)
    from axes.models import AccessAttemptExpiration

    AccessAttemptExpiration.objects.update(expires_at=past)
    released = _login(client, manager.username, PASSWORD)
    assert released.status_code == 302
    assert client.get("/").status_code == 200


def test_lockout_is_per_user_and_address(client, manager, approver):
    for _ in range(5):
        _login(client, manager.username, "wrong")
    assert _login(client, manager.username, PASSWORD).status_code == 429
    assert _login(client, approver.username, PASSWORD).status_code == 302
