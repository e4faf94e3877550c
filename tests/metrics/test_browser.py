"""A stakeholder reads /metrics/ in a real headless Chromium: the figures with their
counts, the weekly table opened, no accessibility violation, no CSP error."""

import pytest
from playwright.sync_api import expect

from deployments.models import DeploymentStatus
from tests.helpers import axe_violations
from tests.metrics.conftest import at

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_stakeholder_reads_the_metrics(
    page, live_server, login_page, stakeholder, project, production, deploy, rollback, csp_errors
):
    deploy(production, at(2), commits=[("a", at(1))])
    failed = deploy(production, at(3), status=DeploymentStatus.FAILED, verification_failed=True)
    rollback(failed, at(3, 11))
    login_page(stakeholder)
    page.goto(f"{live_server.url}/metrics/?project=shop&since=2026-03-02&until=2026-03-29")
    card = page.locator("article", has=page.get_by_role("heading", name="Change fail rate"))
    expect(card).to_contain_text("1 of 3 production deployments")
    expect(card).to_contain_text("Band: Low")
    card.get_by_text("Weekly figures of change fail rate").click()
    expect(card.get_by_role("table")).to_contain_text("2026-03-02")
    assert axe_violations(page) == []
    card.get_by_role("link", name="1", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("needed intervention")
    expect(page.get_by_role("link", name=f"#{failed.pk} v2.0.0")).to_be_visible()
    assert csp_errors == []
