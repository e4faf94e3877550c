"""In a real headless Chromium: the plan form keeps what was typed while the version
follows the type, a release's audit trail, the error pages, the copy button of a new API
token and the navigation on a phone; axe clean in light and dark."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from releases.services import project_refs_record, release_create
from tests.factories import ProjectFactory
from tests.helpers import axe_violations, htmx_settled

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _axe_light_and_dark(page):
    assert axe_violations(page) == []
    page.emulate_media(color_scheme="dark")
    assert axe_violations(page) == []
    page.emulate_media(color_scheme="light")


def test_the_plan_form_keeps_the_codename_while_the_version_follows_the_type(
    page, live_server, login_page, manager, csp_errors
):
    project = ProjectFactory(slug="svc", name="Svc", codename_pool=["Digital Oracle"])
    tag = {"kind": "tag", "name": "v0.3.0", "commit": "a" * 40, "subject": "v0.3.0"}
    project_refs_record(project=project, refs=[tag | {"committed_at": timezone.now()}])
    login_page(manager)
    page.goto(f"{live_server.url}/releases/new/?project=svc")
    version = page.get_by_label("Version")
    assert version.input_value() == "0.3.1"  # a patch: no commits to suggest otherwise

    page.get_by_label("Codename").fill("Comet Tail")
    page.get_by_label("Summary").fill("A new era")
    page.get_by_role("button", name="major", exact=True).click()

    expect(version).to_have_value("1.0.0")
    htmx_settled(page)
    assert page.get_by_label("Codename").input_value() == "Comet Tail"
    assert page.get_by_label("Summary").input_value() == "A new era"
    assert page.get_by_label("Type of release").input_value() == "major"
    # The select too: choosing minor proposes 0.4.0, the typed fields stay.
    page.get_by_label("Type of release").select_option("minor")
    expect(version).to_have_value("0.4.0")
    htmx_settled(page)
    assert page.get_by_label("Codename").input_value() == "Comet Tail"
    _axe_light_and_dark(page)
    page.get_by_role("button", name="Plan release").click()
    page.get_by_role("heading", name="v0.4.0 “Comet Tail”").wait_for()
    assert csp_errors == []


def test_a_new_tokens_copy_button_copies_it(page, live_server, login_page, manager, csp_errors):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    login_page(manager)
    page.goto(f"{live_server.url}/accounts/tokens/")
    page.get_by_label("Name").fill("ci")
    page.get_by_role("button", name="Make token").click()
    token = page.get_by_label("New token").input_value()
    assert token.startswith("lft_")

    page.get_by_role("button", name="Copy").click()

    page.get_by_text("Copied to the clipboard.").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == token
    _axe_light_and_dark(page)
    assert csp_errors == []


def test_without_the_clipboard_the_copy_button_selects_the_token(
    page, live_server, login_page, manager
):
    login_page(manager)
    page.goto(f"{live_server.url}/accounts/tokens/")
    page.get_by_label("Name").fill("ci")
    page.get_by_role("button", name="Make token").click()
    page.evaluate("Object.defineProperty(navigator, 'clipboard', {value: undefined})")

    page.get_by_role("button", name="Copy").click()

    page.get_by_text("Selected: press Ctrl+C").wait_for()
    selected = page.evaluate(
        "(() => { const f = document.getElementById('new-token');"
        " return f.value.substring(f.selectionStart, f.selectionEnd); })()"
    )
    assert selected == page.get_by_label("New token").input_value()


def test_on_a_phone_the_navigation_folds_behind_the_menu_button(
    page, live_server, login_page, manager, csp_errors
):
    ProjectFactory(slug="svc", name="Svc")
    page.set_viewport_size({"width": 375, "height": 740})
    login_page(manager)
    page.goto(f"{live_server.url}/releases/")
    nav = page.get_by_role("navigation", name="Main")
    menu = page.get_by_role("button", name="Menu")
    assert not nav.get_by_role("link", name="Deployments").is_visible()
    assert menu.get_attribute("aria-expanded") == "false"
    assert page.locator("header.topbar").bounding_box()["height"] < 80
    _axe_light_and_dark(page)

    menu.click()

    assert nav.get_by_role("link", name="Deployments").is_visible()
    assert menu.get_attribute("aria-expanded") == "true"
    _axe_light_and_dark(page)
    page.keyboard.press("Escape")
    assert not nav.get_by_role("link", name="Deployments").is_visible()
    # On a wide screen there is no menu button: the navigation is always there.
    page.set_viewport_size({"width": 1200, "height": 800})
    assert not menu.is_visible()
    assert nav.get_by_role("link", name="Deployments").is_visible()
    assert csp_errors == []


def test_on_a_phone_the_releases_table_keeps_its_phase_column(
    page, live_server, login_page, manager
):
    project = ProjectFactory(slug="svc", name="Svc")
    release_create(
        actor=manager, project=project, release_type="minor", version="0.3.0", codename="Long One"
    )
    page.set_viewport_size({"width": 375, "height": 740})
    login_page(manager)
    page.goto(f"{live_server.url}/releases/")

    phase = page.get_by_role("columnheader", name="Phase")
    box = phase.bounding_box()
    assert phase.is_visible() and box["x"] + box["width"] <= 375
    cell = page.locator("tbody .badge").first
    assert cell.is_visible() and cell.bounding_box()["x"] + cell.bounding_box()["width"] <= 375
    assert not page.get_by_role("columnheader", name="Manager").is_visible()
    _axe_light_and_dark(page)


def test_the_audit_trail_and_the_error_pages_pass_axe(
    page, live_server, login_page, stakeholder, manager
):
    project = ProjectFactory(slug="svc", name="Svc")
    release = release_create(actor=manager, project=project, release_type="minor", version="0.3.0")
    login_page(stakeholder)
    page.goto(f"{live_server.url}/releases/{release.pk}/audit/")
    assert page.get_by_text("planned v0.3.0 (minor)").is_visible()
    page.get_by_label("Kind").select_option("checklists")
    page.get_by_role("button", name="Filter").click()
    page.get_by_text("No event matches this filter.").wait_for()
    _axe_light_and_dark(page)
    page.goto(f"{live_server.url}/releases/new/")  # 403
    assert page.get_by_text("This page is for the role Release manager or Admin.").is_visible()
    _axe_light_and_dark(page)
    page.goto(f"{live_server.url}/no/such/page/")
    assert page.get_by_role("heading", name="Page not found").is_visible()
    _axe_light_and_dark(page)
