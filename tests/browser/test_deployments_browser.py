"""In a real headless Chromium: the environment board, an environment page and a
deployment page (with its live progress), axe clean in light and dark, no CSP error."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from deployments.models import Deployment, Environment, HealthSample
from deployments.services import deployment_start
from liftoff.roles import Role
from tests.factories import PASSWORD, ProjectFactory, ReleaseFactory
from tests.helpers import axe_violations, htmx_settled

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _axe_light_and_dark(page):
    assert axe_violations(page) == []
    page.emulate_media(color_scheme="dark")
    assert axe_violations(page) == []
    page.emulate_media(color_scheme="light")


def test_the_board_an_environment_and_a_deployment(
    page, live_server, login_page, manager, csp_errors
):
    project = ProjectFactory(slug="svc", name="Svc")
    staging = Environment.objects.create(
        project=project, name="staging", phase="staging", order=1, deploy_commands=[["true"]]
    )
    old = ReleaseFactory(
        project=project,
        release_manager=manager,
        version="0.9.0",
        status="released",
        head_commit="b" * 40,
    )
    now = timezone.now()
    Deployment.objects.create(
        environment=staging,
        release=old,
        status="succeeded",
        strategy="command",
        version="0.9.0",
        commit="b" * 40,
        verified=True,
        finished_at=now - timedelta(hours=1),
        requested_by=manager,
    )
    for i in range(5):
        HealthSample.objects.create(environment=staging, at=now - timedelta(minutes=i), ok=i != 2)
    release = ReleaseFactory(
        project=project,
        release_manager=manager,
        version="1.0.0",
        status="ready",
        head_commit="a" * 40,
        prepared_at=now,
    )
    # No worker: the run stays queued, and its progress polls.
    deployment = deployment_start(release=release, environment=staging, actor=manager)
    login_page(manager)

    page.goto(f"{live_server.url}/deployments/")
    expect(page.get_by_role("heading", name="Svc")).to_be_visible()
    expect(page.locator(f"#environment-{staging.pk}")).to_contain_text("v0.9.0")
    expect(page.locator(f"#run-{deployment.run_id}-progress")).to_be_visible()
    htmx_settled(page)
    _axe_light_and_dark(page)

    page.get_by_role("link", name="staging", exact=True).first.click()
    expect(page.get_by_role("heading", name="staging", level=1)).to_be_visible()
    page.get_by_label("Why it is locked").fill("database migration")
    page.get_by_role("button", name="Lock").click()
    expect(page.locator(".callout-warning")).to_contain_text("database migration")
    htmx_settled(page)
    _axe_light_and_dark(page)

    page.goto(f"{live_server.url}/deployments/{deployment.pk}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("v1.0.0 to staging")
    expect(page.locator(f"#run-{deployment.run_id}-progress")).to_be_visible()
    htmx_settled(page)
    _axe_light_and_dark(page)
    page.get_by_role("link", name="Abort and roll back…").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("roll back?")
    page.get_by_role("button", name="Abort and roll back").click()
    expect(page.get_by_text("Abort requested")).to_be_visible()
    assert csp_errors == []


def test_two_managers_clicking_deploy_at_once_make_one_deployment(
    browser, page, live_server, login_page, manager, make_user, csp_errors
):
    project = ProjectFactory(slug="svc", name="Svc")
    staging = Environment.objects.create(
        project=project, name="staging", phase="staging", order=1, deploy_commands=[["true"]]
    )
    release = ReleaseFactory(
        project=project,
        release_manager=manager,
        version="1.0.0",
        status="ready",
        head_commit="a" * 40,
        prepared_at=timezone.now(),
    )
    other = make_user(Role.RELEASE_MANAGER)
    login_page(manager)
    second = browser.new_context(base_url=live_server.url).new_page()
    second.goto(f"{live_server.url}/accounts/login/")
    second.get_by_label("Username").fill(other.get_username())
    second.get_by_label("Password").fill(PASSWORD)
    second.get_by_role("button", name="Log in").click()
    second.wait_for_url(f"{live_server.url}/")
    url = f"{live_server.url}/deployments/releases/{release.pk}/"
    for tab in (page, second):
        tab.goto(url)
    buttons = [tab.get_by_role("button", name="Deploy to staging") for tab in (page, second)]
    # Both clicks leave before either answer comes back.
    for button in buttons:
        button.click(no_wait_after=True)
    for tab in (page, second):  # each lands on the deployment, or back on the form
        tab.wait_for_url(lambda landed: landed != url)
        tab.wait_for_load_state()
    assert Deployment.objects.filter(environment=staging).count() == 1
    texts = [page.content(), second.content()]
    assert sum("has a deployment in progress" in t for t in texts) == 1, "one was told why"
    second.context.close()
    assert csp_errors == []
