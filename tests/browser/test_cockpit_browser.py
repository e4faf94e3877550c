"""The release page's action bar in a real headless Chromium: the checklists a few Tab
stops from the top, and Cancel asked for in place before it is done (axe, CSP)."""

import pytest

from releases.models import Release
from releases.policy import project_created
from releases.services import release_create
from tests.factories import ProjectFactory
from tests.helpers import axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def release(manager):
    project = ProjectFactory(slug="svc", name="Svc")
    project_created(project=project, actor=None)
    release = release_create(
        actor=manager, project=project, release_type="minor", version="1.0.0", codename="Orion"
    )
    Release.objects.filter(pk=release.pk).update(status="validating", head_commit="a" * 40)
    return release


def test_the_checklists_are_a_few_tab_stops_from_the_top(
    page, live_server, login_page, manager, release
):
    login_page(manager)
    page.goto(f"{live_server.url}/releases/{release.pk}/")
    page.get_by_role("link", name="Skip to content").focus()
    page.keyboard.press("Enter")
    for _ in range(3):  # Next steps, Gates, Checklists
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Checklists"
    page.keyboard.press("Enter")
    for _ in range(4):
        page.keyboard.press("Tab")
    inside = page.evaluate(
        "document.getElementById('release-checklists').contains(document.activeElement)"
    )
    assert inside


def test_cancel_is_asked_for_in_place_then_done(
    page, live_server, login_page, manager, release, csp_errors
):
    login_page(manager)
    page.goto(f"{live_server.url}/releases/{release.pk}/")
    page.evaluate("window.liftoffNoReload = true")
    page.locator(".more-menu summary").click()
    page.get_by_role("link", name="Cancel the release…").click()
    question = page.get_by_role("alertdialog", name="Cancel v1.0.0?")
    question.get_by_text("This cannot be undone.").wait_for()
    assert page.evaluate("window.liftoffNoReload") is True  # asked in place, no navigation
    assert Release.objects.get(pk=release.pk).status == "validating"
    assert axe_violations(page) == []
    page.emulate_media(color_scheme="dark")
    assert axe_violations(page) == []
    question.get_by_role("button", name="Cancel v1.0.0").click()
    page.locator(".page-head .badge", has_text="Cancelled").wait_for()
    assert Release.objects.get(pk=release.pk).status == "cancelled"
    assert csp_errors == []
