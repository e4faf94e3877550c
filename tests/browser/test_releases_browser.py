"""A release planned and prepared in a real browser, watched live, with a real worker."""

from pathlib import Path

import pytest
from django.db import transaction

from releases.services import project_create
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
    page.get_by_role("button", name="minor", exact=True).click()  # htmx swaps the proposal
    page.get_by_label("Summary").fill("First light")
    page.get_by_role("button", name="Plan release").click()
    page.get_by_role("heading", name="v0.1.0 “Digital Oracle”").wait_for()
    assert axe_violations(page) == []
    page.get_by_role("button", name="Prepare").click()
    # Live while it works; one line once it has ended (the page is about something else).
    page.locator(".run-progress").first.wait_for()
    done = page.locator(".run-done")
    done.get_by_text("Succeeded", exact=True).first.wait_for(timeout=60_000)
    # When the run ends the release part of the page reloads itself: the head is known.
    page.get_by_text("not pushed yet").wait_for(state="detached", timeout=10_000)
    assert page.get_by_role("heading", name="Release notes").is_visible()
    assert "release/v0.1.0-digital-oracle" in page.content()
    assert axe_violations(page) == []


def test_the_plan_form_waits_for_a_new_projects_first_sync_then_proposes(
    page, live_server, login_page, admin_user, manager, start_worker, git_remote, settings, tmp_path
):
    settings.DATA_DIR = tmp_path / "data"  # a mirror of this test's own, for the worker too
    settings.DATA_DIR.mkdir()
    bare, work = git_remote
    for message, tag in (("feat: one", "v4.12.0"), ("fix: two", "v4.12.1"), ("feat: three", "")):
        with (Path(work.working_dir) / "CHANGELOG").open("a") as changelog:
            changelog.write(message + "\n")
        work.index.add(["CHANGELOG"])
        work.index.commit(message)
        if tag:
            work.create_tag(tag, message=tag)
    work.git.push("origin", "HEAD:refs/heads/main", "--tags")
    # Its first sync run is queued with the project; no worker runs yet.
    with transaction.atomic():
        project_create(actor=admin_user, slug="atlas", name="Atlas", repo_url=str(bare))
    login_page(manager)
    page.goto(f"{live_server.url}/releases/new/?project=atlas")
    page.get_by_text("The proposal is not known yet.").wait_for()
    assert page.get_by_label("Version").input_value() == ""
    assert page.get_by_role("button", name="Plan release").is_disabled()
    assert axe_violations(page) == []
    start_worker()
    # The sync's progress on the page ends; the form reloads itself with the proposal.
    page.get_by_text("The proposal is not known yet.").wait_for(state="detached", timeout=60_000)
    assert page.get_by_label("Version").input_value() == "4.13.0"
    assert page.get_by_role("button", name="Plan release").is_enabled()
    assert "Suggested: minor" in page.content()
