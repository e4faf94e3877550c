"""A stakeholder reads a shipped release's compliance report in a real headless
Chromium: the snapshot's digest, the record still matching it, the chain verified; no
accessibility violation, no CSP error; printed, the navigation and buttons are gone."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from metrics.models import EvidenceSnapshot
from releases.impact import DEFAULT_SECURITY_PATTERNS, impact_summarise
from releases.services import release_change_impact_record, release_transition
from tests.factories import ReleaseFactory
from tests.helpers import axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_stakeholder_reads_the_compliance_report(
    page, live_server, login_page, stakeholder, manager, project, csp_errors
):
    release = ReleaseFactory(
        project=project,
        version="5.0.0",
        release_manager=manager,
        status="production",
        head_commit="b" * 40,
        tag="v5.0.0",
        prepared_at=timezone.now(),
    )
    changes = [
        {"path": p, "old_path": None, "added": 3, "removed": 1, "binary": False, "change": c}
        for p, c in [
            ("shop/migrations/0007_refund.py", "added"),
            ("requirements.txt", "modified"),
            ("shop/auth/tokens.py", "modified"),
        ]
    ]
    release_change_impact_record(
        release=release,
        previous_tag="v4.2.0",
        base_commit="a" * 40,
        head_commit="b" * 40,
        result=impact_summarise(changes, security_patterns=DEFAULT_SECURITY_PATTERNS),
    )
    release_transition(release=release, to="released", actor=manager, system_reason="tagged")
    snapshot = EvidenceSnapshot.objects.get(release=release)
    login_page(stakeholder)
    page.goto(f"{live_server.url}/metrics/releases/{release.pk}/compliance/")
    expect(page.locator("#evidence-sha256")).to_have_text(snapshot.sha256)
    expect(page.locator("#evidence-matches")).to_be_visible()
    expect(page.locator("#audit-verdict")).to_contain_text("intact")
    expect(page.locator("#impact-summary")).to_contain_text("3 files changed, +9 −3 lines")
    expect(page.locator("#impact-folders")).to_contain_text("shop")
    expect(page.locator("#impact-migrations")).to_have_text("Migrations: 1")
    expect(page.get_by_role("link", name="Compliance")).to_have_attribute("aria-current", "page")
    assert page.get_by_role("button", name="Take a new snapshot").count() == 0
    assert axe_violations(page) == []
    page.emulate_media(media="print")
    expect(page.get_by_role("link", name="Download as Markdown")).to_be_hidden()
    expect(page.get_by_role("heading", name="Audit trail")).to_be_visible()
    assert csp_errors == []
