"""The critical banner in a real headless Chromium: a stakeholder reads it without its
actions; a release manager opens the emergency rollback's confirmation inside the banner,
confirms, and lands on the rollback deployment (no worker needed: the row and the page
are what is asserted)."""

import re

import pytest
from playwright.sync_api import expect

from deployments.models import Deployment
from incidents.services import incident_open
from tests.factories import ReleaseFactory
from tests.helpers import axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_manager_rolls_production_back_from_the_banner_in_place(
    page,
    live_server,
    login_page,
    project,
    production,
    release,
    manager,
    stakeholder,
    deployed,
    csp_errors,
):
    previous = ReleaseFactory(project=project, version="1.9.0", release_manager=manager)
    deployed(production, 120, release=previous, version="1.9.0", verified=True)
    deployed(production, 30, verified=True)
    incident = incident_open(
        project=project,
        environment=production,
        severity="critical",
        title="Payments fail",
        actor=manager,
    )

    login_page(stakeholder)
    banner = page.locator("#critical-incidents")
    expect(banner).to_contain_text(f"#{incident.pk} Payments fail")
    expect(banner.get_by_role("link", name="Emergency rollback of production")).to_have_count(0)
    expect(banner.get_by_role("button", name="Start a hotfix release")).to_have_count(0)

    page.context.clear_cookies()
    login_page(manager)
    page.goto(f"{live_server.url}/releases/")
    banner = page.locator("#critical-incidents")
    expect(banner.get_by_role("button", name="Start a hotfix release")).to_be_visible()
    banner.get_by_role("link", name="Emergency rollback of production").click()
    confirm = page.locator(f"#banner-confirm-{incident.pk}")
    expect(confirm.get_by_role("heading", name="Roll production back to v1.9.0?")).to_be_visible()
    assert page.url == f"{live_server.url}/releases/"  # asked in place, not on another page
    assert not Deployment.objects.filter(kind="rollback").exists()
    assert axe_violations(page) == []

    confirm.get_by_role("button", name="Roll back to v1.9.0").click()
    page.wait_for_url(re.compile(r"/deployments/\d+/$"))
    rollback = Deployment.objects.get(kind="rollback")
    assert (rollback.environment_id, rollback.version) == (production.pk, "1.9.0")
    assert page.url == f"{live_server.url}{rollback.get_absolute_url()}"
    expect(page.locator("#toasts")).to_contain_text("Rolling production back to v1.9.0")
    assert csp_errors == []
