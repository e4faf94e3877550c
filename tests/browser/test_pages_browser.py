"""The pages in a real headless Chromium: log in, navigate, accessibility (axe, WCAG 2.1
AA), the strict CSP, keyboard focus and the colour schemes."""

import pytest
from django.core.management import call_command

from tests.factories import PASSWORD
from tests.helpers import axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    call_command("seed_demo", "--force")


@pytest.mark.parametrize("username", ["admin", "manager", "approver", "stakeholder"])
def test_each_demo_user_logs_in_and_the_dashboard_passes_axe(
    demo, page, live_server, settings, csp_errors, username
):
    page.goto(f"{live_server.url}/")
    assert "/accounts/login/" in page.url
    assert axe_violations(page) == []
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(settings.DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/")
    assert page.get_by_role("heading", name="Dashboard", level=1).is_visible()
    assert page.get_by_role("link", name="PepeluGPT", exact=True).is_visible()
    assert page.get_by_role("link", name="PepeluGPT v0.3.0").first.is_visible()
    nav = page.get_by_role("navigation", name="Main")
    for label in ["Dashboard", "Releases", "Approvals", "Deployments", "Incidents", "Metrics"]:
        assert nav.get_by_role("link", name=label).is_visible()
    assert axe_violations(page) == []
    assert csp_errors == []


def test_every_section_renders_its_empty_state_accessibly(
    page, live_server, login_page, stakeholder, csp_errors
):
    login_page(stakeholder)
    expectations = {
        "Releases": "No releases yet",
        "Approvals": "Nothing waits for your approval",
        "Deployments": "No environments yet",
        "Incidents": "No incidents yet",
        "Metrics": "No metrics yet",
    }
    for label, empty in expectations.items():
        page.get_by_role("navigation", name="Main").get_by_role("link", name=label).click()
        page.wait_for_load_state()
        assert page.get_by_role("heading", name=empty).is_visible(), label
        assert page.get_by_role("link", name=label).get_attribute("aria-current") == "page"
        assert axe_violations(page) == [], label
    assert csp_errors == []


def test_keyboard_users_can_skip_to_content_with_visible_focus(
    page, live_server, login_page, manager
):
    login_page(manager)
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    assert skip.evaluate("el => el === document.activeElement")
    outline = skip.evaluate("el => getComputedStyle(el).outlineStyle")
    assert outline != "none"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_dark_colour_scheme_follows_the_system(page, live_server, login_page, manager):
    login_page(manager)
    light = page.evaluate("getComputedStyle(document.body).backgroundColor")
    page.emulate_media(color_scheme="dark")
    dark = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert light != dark
    assert axe_violations(page) == []


def test_token_made_in_the_browser_then_revoked_shows_a_toast(
    page, live_server, login_page, manager, csp_errors
):
    login_page(manager)
    page.goto(f"{live_server.url}/accounts/tokens/")
    page.get_by_label("Name").fill("laptop script")
    page.get_by_role("button", name="Make token").click()
    secret = page.get_by_label("New token").input_value()
    assert secret.startswith("lft_")
    assert axe_violations(page) == []
    page.get_by_role("button", name="Revoke").click()
    toast = page.get_by_role("status").get_by_text("Token “laptop script” revoked.")
    toast.wait_for()
    assert page.get_by_text("revoked", exact=True).is_visible()
    assert csp_errors == []


def test_failed_logins_lock_out_in_the_browser(page, live_server, manager):
    def attempt(password):
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Username").fill(manager.username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_load_state()

    for _ in range(4):
        attempt("wrong")
        assert page.get_by_text("Please enter a correct username and password").is_visible()
    attempt("wrong")  # the fifth failure locks
    assert page.get_by_role("heading", name="Too many failed log-ins").is_visible()
    attempt(PASSWORD)  # even the right password is refused during the cool-off
    assert page.get_by_role("heading", name="Too many failed log-ins").is_visible()
    assert "/accounts/login/" in page.url
    assert axe_violations(page) == []
