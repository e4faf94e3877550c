"""A release planned and prepared in a real browser, watched live, with a real worker."""

import pytest

from tests.factories import ProjectFactory
from tests.helpers import axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.worker]


def test_plan_and_prepare_a_release_live(
    page, live_server, login_page, manager, start_worker, git_remote
):
    bare, _ = git_remote
    ProjectFactory(
        slug="svc",
        name="Svc",
        repo_url=str(bare),
        version_files=["pyproject.toml"],
        codename_pool=["Digital Oracle"],
    )
    start_worker()
    login_page(manager)
    page.goto(f"{live_server.url}/releases/new/?project=svc")
    assert page.get_by_label("Version").input_value() == "0.1.0"
    page.get_by_role("link", name="minor", exact=True).click()  # htmx swaps the proposal
    page.get_by_label("Summary").fill("First light")
    page.get_by_role("button", name="Plan release").click()
    page.get_by_role("heading", name="v0.1.0 “Digital Oracle”").wait_for()
    assert axe_violations(page) == []
    page.get_by_role("button", name="Prepare").click()
    progress = page.locator(".run-progress")
    progress.get_by_text("Succeeded", exact=True).first.wait_for(timeout=60_000)
    # When the run ends the release part of the page reloads itself: the head is known.
    page.get_by_text("not pushed yet").wait_for(state="detached", timeout=10_000)
    assert page.get_by_role("heading", name="Release notes").is_visible()
    assert "release/v0.1.0-digital-oracle" in page.content()
    assert axe_violations(page) == []
