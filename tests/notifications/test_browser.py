"""The inbox in a real headless Chromium: the header's count arrives by htmx, the pages
pass axe (WCAG 2.1 AA) under the strict CSP."""

import pytest
from django.db import transaction
from playwright.sync_api import expect

from liftoff.events import emit
from tests.factories import ProjectFactory, ReleaseFactory
from tests.helpers import axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_header_shows_the_unread_count_and_the_inbox_is_accessible(
    page, live_server, login_page, stakeholder, csp_errors
):
    release = ReleaseFactory(project=ProjectFactory(slug="rocket"), version="2.0.0")
    with transaction.atomic():
        emit("release.shipped", subject=release, payload={"version": "2.0.0", "tag": "v2.0.0"})

    login_page(stakeholder)
    expect(page.locator("#nav-inbox .nav-count")).to_have_text("1 unread")
    page.locator("#nav-inbox").click()
    page.wait_for_url(f"{live_server.url}/notifications/")
    assert page.get_by_role("link", name="rocket v2.0.0 shipped (v2.0.0)").is_visible()
    assert axe_violations(page) == []
    page.get_by_role("button", name="Mark all read").click()
    expect(page.locator("#nav-inbox .nav-count")).to_have_count(0)
    page.goto(f"{live_server.url}/notifications/preferences/")
    assert axe_violations(page) == []
    assert csp_errors == []
