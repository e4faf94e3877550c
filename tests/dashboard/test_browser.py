"""A stakeholder reads the dashboard (its role cards loaded by htmx) and the release
history, filtered through its form, in a real headless Chromium: no accessibility
violation, no CSP error."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from releases.models import ReleaseStatus
from tests.factories import ReleaseFactory, synced_project
from tests.helpers import axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_stakeholder_reads_the_dashboard_and_the_history(
    page, live_server, login_page, admin_user, stakeholder, csp_errors
):
    project = synced_project(
        actor=admin_user, slug="shop", name="Shop", repo_url="https://git.example.test/t/shop.git"
    )
    for version, release_type, days in (("1.0.0", "major", 40), ("1.1.0", "minor", 5)):
        ReleaseFactory(
            project=project,
            version=version,
            type=release_type,
            codename=f"Star {version}",
            status=ReleaseStatus.RELEASED,
            released_at=timezone.now() - timedelta(days=days),
            notes="## ✨ Cosmic Highlights\n\n- Faster checkout",
        )
    login_page(stakeholder)
    cards = page.locator("#dashboard-cards")
    expect(cards.get_by_role("heading", name="Key performance indicators")).to_be_visible()
    expect(cards).to_contain_text("Deployment success rate")
    expect(cards.get_by_role("heading", name="Recently shipped")).to_be_visible()
    assert axe_violations(page) == []
    cards.get_by_role("link", name="The release history").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Release history")
    page.get_by_label("Type").select_option("minor")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**/history/?*type=minor*")
    expect(page.get_by_text("1 shipped release.")).to_be_visible()
    expect(page.get_by_role("heading", name="Shop v1.1.0 “Star 1.1.0”")).to_be_visible()
    page.get_by_text("Release notes of v1.1.0").click()
    expect(page.get_by_text("Faster checkout")).to_be_visible()
    assert axe_violations(page) == []
    assert csp_errors == []
