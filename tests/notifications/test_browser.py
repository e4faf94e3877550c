"""The inbox in a real headless Chromium: the header's count arrives by htmx, the pages
pass axe (WCAG 2.1 AA) under the strict CSP."""

import pytest
from django.db import transaction
from playwright.sync_api import expect

from deployments.services import environment_create
from incidents.services import incident_open, project_severity_policies_install
from liftoff.events import emit
from notifications.models import Notification
from notifications.services import delivery_send
from tests.factories import ProjectFactory, ReleaseFactory
from tests.helpers import axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_header_shows_the_unread_count_and_the_inbox_is_accessible(
    page, live_server, login_page, stakeholder, csp_errors, settings
):
    # The header asks every second here (15 s by default): the live update below is quick.
    settings.INBOX_POLL_SECONDS = 1
    release = ReleaseFactory(project=ProjectFactory(slug="rocket"), version="2.0.0")
    with transaction.atomic():
        emit("release.shipped", subject=release, payload={"version": "2.0.0", "tag": "v2.0.0"})

    login_page(stakeholder)
    expect(page.locator("#nav-inbox .nav-count")).to_have_text("1 unread")
    page.locator("#nav-inbox").click()
    page.wait_for_url(f"{live_server.url}/notifications/")
    assert page.get_by_role("link", name="rocket v2.0.0 shipped (v2.0.0)").is_visible()
    assert axe_violations(page) == []
    page.get_by_role("button", name="Mark all read").click()
    expect(page.locator("#nav-inbox .nav-count")).to_have_count(0)

    # A notification arrives while the page is open: the count shows up without a reload.
    navigations = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    Notification.objects.create(user=stakeholder, event="release.shipped", title="Arrived")
    expect(page.locator("#nav-inbox .nav-count")).to_have_text("1 unread", timeout=5000)
    assert navigations == []
    page.goto(f"{live_server.url}/notifications/preferences/")
    assert axe_violations(page) == []
    assert csp_errors == []


def test_the_incident_and_notification_pages_pass_axe(
    page,
    live_server,
    login_page,
    admin_user,
    receiver,
    add_webhook,
    raise_event,
    release,
    csp_errors,
):
    """Every page of incidents and notifications, as an admin (who sees every action and
    the critical banner's), with rows on each: zero WCAG 2.1 AA violations."""
    project = release.project
    project_severity_policies_install(project=project)
    production, _ = environment_create(
        project=project,
        actor=None,
        name="production",
        order=1,
        phase="production",
        strategy="command",
        deploy_commands=[["true"]],
    )
    incident = incident_open(
        project=project,
        environment=production,
        severity="critical",
        title="Payments fail",
        description="**Card** payments answer 500.",
        actor=admin_user,
    )
    endpoint, _ = add_webhook(receiver.url("/bad"))
    [delivery] = raise_event("release.shipped", release, {"version": "2.0.0", "tag": "v2.0.0"})
    assert delivery_send(delivery_id=delivery.pk) == "failed"

    login_page(admin_user)
    for path in (
        "/incidents/",
        f"/incidents/{incident.pk}/",
        "/incidents/new/",
        f"/incidents/settings/{project.slug}/",
        "/notifications/",
        "/notifications/preferences/",
        "/notifications/deliveries/",
        f"/notifications/deliveries/{delivery.pk}/",
        f"/projects/{project.slug}/webhooks/",
        f"/projects/{project.slug}/webhooks/{endpoint.pk}/attempts/",
    ):
        page.goto(f"{live_server.url}{path}")
        expect(page.locator("h1")).to_be_visible()
        assert axe_violations(page) == [], path

    # A row of the matrix with wrong input comes back with its messages, accessibly.
    page.goto(f"{live_server.url}/incidents/settings/{project.slug}/")
    row = page.locator("#severity-high")
    row.get_by_label("Respond within (minutes)").fill("99999")
    row.get_by_role("button", name="Save the high row").click()
    expect(row.get_by_role("alert")).to_contain_text("Between 1 and 10080 minutes")
    assert axe_violations(page) == []
    assert csp_errors == []
