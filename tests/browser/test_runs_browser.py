"""A sync run watched live in a real browser, with a real worker."""

import time

import pytest

from tests.factories import ProjectFactory

pytestmark = [pytest.mark.browser, pytest.mark.worker]


def test_sync_progress_updates_live_and_then_stops_polling(
    page, live_server, login_page, manager, start_worker, git_remote
):
    bare, _ = git_remote
    ProjectFactory(slug="demo", name="Demo", repo_url=str(bare))
    start_worker()
    login_page(manager)
    page.goto(f"{live_server.url}/projects/demo/")
    assert page.get_by_text("No branches or tags known yet").is_visible()
    polls = []
    page.on("request", lambda r: polls.append(time.monotonic()) if "/progress/" in r.url else None)
    page.get_by_role("button", name="Sync").click()
    # Live while it works; one line once it has ended (the page is about something else).
    page.locator(".run-progress").first.wait_for()
    done = page.locator(".run-done")
    done.get_by_text("Succeeded", exact=True).first.wait_for(timeout=30_000)
    # The refs section reloads itself when the run ends.
    page.get_by_role("cell", name="main").wait_for(timeout=10_000)
    assert page.get_by_text("Sync of Demo started").is_visible()
    assert len(polls) >= 1
    finished = time.monotonic()
    page.wait_for_timeout(3000)
    assert [t for t in polls if t > finished + 0.5] == []  # polling stopped
