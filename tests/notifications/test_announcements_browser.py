"""Announcements in a real headless Chromium: a manager edits a tone, the preview follows
by htmx under the strict CSP, publishing reaches a stakeholder's inbox; the new pages pass
axe (WCAG 2.1 AA)."""

import pytest
from playwright.sync_api import expect

from notifications.models import Announcement, Notification
from tests.factories import ProjectFactory, ReleaseFactory
from tests.helpers import axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_manager_edits_a_tone_sees_the_preview_and_publishes(
    page, live_server, login_page, manager, stakeholder, csp_errors
):
    project = ProjectFactory(slug="rocket", name="Rocket")
    release = ReleaseFactory(
        project=project,
        version="2.0.0",
        codename="Nova",
        release_manager=manager,
        notes="## ✨ Cosmic Highlights\n\n- **api:** add tokens (1234567)\n",
    )

    login_page(manager)
    page.goto(f"{live_server.url}/releases/{release.pk}/")
    page.get_by_role("link", name="Announcements", exact=True).first.click()
    page.wait_for_url(f"{live_server.url}/releases/{release.pk}/announcements/")
    preview = page.locator("#preview-cosmic")
    expect(preview).to_contain_text("A new star rises in the Rocket galaxy!")
    expect(preview).to_contain_text("api: add tokens")
    assert axe_violations(page) == []

    draft = page.get_by_label("Draft (Markdown)").nth(2)
    draft.fill("# Liftoff of v{{ version }}\n\n{{ nope }} <script>alert(1)</script>")
    expect(preview.get_by_role("heading", name="Liftoff of v2.0.0")).to_be_visible()
    expect(preview).to_contain_text("Unknown placeholder {{ nope }}")
    assert preview.locator("script").count() == 0

    draft.fill("# Liftoff of v{{ version }} “{{ codename }}”")
    expect(preview.get_by_role("heading", name="Liftoff of v2.0.0 “Nova”")).to_be_visible()
    section = page.locator("#tone-cosmic")
    section.get_by_label("E-mail").uncheck()
    section.get_by_role("button", name="Publish cosmic").click()

    expect(page.get_by_text("The 🌠 Cosmic announcement is published.")).to_be_visible()
    expect(section.get_by_text("Published on")).to_be_visible()
    assert axe_violations(page) == []
    row = Announcement.objects.get(release=release, tone="cosmic")
    assert row.markdown == "# Liftoff of v2.0.0 “Nova”"
    assert row.channels == ["in_app", "webhook"]
    assert Notification.objects.get(user=stakeholder).body == row.markdown

    page.goto(f"{live_server.url}/projects/rocket/communication/")
    expect(page.get_by_role("heading", name="Release notes template")).to_be_visible()
    assert axe_violations(page) == []
    assert csp_errors == []
