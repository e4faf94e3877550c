"""Security headers, CSP, CSRF with htmx, and the production settings check."""

import os
import re
import subprocess
import sys

import pytest
from django.conf import settings
from django.test import Client

pytestmark = pytest.mark.django_db


def test_pages_carry_a_strict_csp_with_a_nonce_for_htmx(client_as, manager):
    response = client_as(manager).get("/")
    csp = response["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in csp
    assert "style-src 'self'" in csp and "unsafe-inline" not in csp
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    body = response.content.decode()
    assert f'nonce="{nonce}"' in body
    assert "<script>" not in body  # no inline script without the nonce
    assert ' style="' not in body and "<style" not in body
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Request-ID"]


def test_htmx_is_served_locally_with_a_strict_config(client_as, manager):
    body = client_as(manager).get("/").content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', body)
    assert any(s.startswith("/static/django_htmx/htmx-2") for s in sources)
    assert all(not s.startswith(("http:", "https:", "//")) for s in sources)  # no CDN
    assert '"allowEval": false' in body and '"allowScriptTags": false' in body
    assert '"includeIndicatorStyles": false' in body


def test_csrf_token_travels_in_htmx_headers(manager):
    client = Client(enforce_csrf_checks=True)
    client.force_login(manager)
    page = client.get("/accounts/tokens/")
    token = re.search(r'"X-CSRFToken": "([^"]+)"', page.content.decode()).group(1)
    refused = client.post("/accounts/tokens/", {"name": "x"}, headers={"HX-Request": "true"})
    assert refused.status_code == 403
    accepted = client.post(
        "/accounts/tokens/", {"name": "x"}, headers={"HX-Request": "true", "X-CSRFToken": token}
    )
    assert accepted.status_code == 200


def test_api_session_calls_need_csrf(admin_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    response = client.post(
        "/api/v1/projects/",
        {"slug": "x", "name": "X", "repo_url": "/x"},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_check_deploy_is_clean_with_production_settings():
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "x" * 20 + "-production-key-" + "y" * 30,
        "ALLOWED_HOSTS": "liftoff.example.com",
        "LIFTOFF_DATA_DIR": str(settings.DATA_DIR),
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set by the browser tests' harness only
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_settings_refuse_a_missing_secret_key():
    env = {**os.environ, "DEBUG": "0", "SECRET_KEY": ""}
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; from django.conf import settings; import liftoff.settings",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "SECRET_KEY is required when DEBUG is off" in result.stderr
