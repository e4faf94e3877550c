"""Checklists and approvals in a real headless Chromium: ticking in place (no reload),
approving from /approvals/ with the navigation count going down, axe (WCAG 2.1 AA)."""

import json

import pytest

from checklists.models import ChecklistItem
from gates.models import GateResultSource, QualityGate
from gates.services import gate_result_record, waiver_grant
from liftoff.models import AuditEvent
from releases.models import Release
from releases.policy import project_created, release_blockers
from releases.services import release_create
from tests.factories import ProjectFactory
from tests.helpers import axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HEAD = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def release(manager, approver):
    """A release being validated: one gate failed and waived, one failed, the manual gates
    waiting for approval, all checklists open."""
    project = ProjectFactory(slug="svc", name="Svc")
    project_created(project=project, actor=None)
    release = release_create(
        actor=manager, project=project, release_type="minor", version="1.0.0", codename="Orion"
    )
    Release.objects.filter(pk=release.pk).update(status="validating", head_commit=HEAD)
    release.refresh_from_db()
    gates = {g.key: g for g in QualityGate.objects.filter(project=project)}
    for key, value in [("coverage", 82.5), ("security-scan", 0), ("performance-regression", 9)]:
        gate_result_record(
            release=release,
            gate=gates[key],
            source=GateResultSource.CI,
            value=value,
            commit=HEAD,
            report=json.dumps({"value": value}),
        )
    waiver_grant(
        release=release,
        gate=gates["coverage"],
        actor=approver,
        reason="Legacy module, covered by the end-to-end suite.",
    )
    return release


def test_a_manager_ticks_an_item_in_place(
    page, live_server, login_page, manager, release, csp_errors
):
    item = ChecklistItem.objects.get(release=release, title="Vision alignment")
    login_page(manager)
    page.goto(f"{live_server.url}/releases/{release.pk}/")
    assert page.get_by_text("left before ready").is_visible()
    assert axe_violations(page) == []
    page.evaluate("window.liftoffNoReload = true")
    checklist = page.locator(f"#checklist-{item.checklist_id}")
    assert "0 of 7 required done" in checklist.inner_text()
    checklist.get_by_label("Vision alignment", exact=True).click()
    checklist.get_by_text("ticked by manager-user").wait_for()
    # Swapped in place: the page (and the marker on window) survived.
    assert page.evaluate("window.liftoffNoReload") is True
    assert "1 of 7 required done" in checklist.inner_text()
    assert checklist.get_by_label("Pre-release checklist progress").get_attribute("value") == "1"
    assert "1 of 7 required done" in page.locator("#phase-preparation-progress").inner_text()
    assert checklist.get_by_label("Vision alignment", exact=True).is_checked()
    item.refresh_from_db()
    assert item.done and item.updated_by == manager
    assert AuditEvent.objects.filter(action="checklist_item.ticked", actor_id=manager.pk).exists()
    # A scenario's result, chosen in place too.
    scenario = ChecklistItem.objects.filter(release=release, kind="scenario").first()
    box = page.locator(f"#checklist-{scenario.checklist_id}")
    row = box.locator(f"#item-{scenario.pk}")
    row.get_by_role("group", name=scenario.title).get_by_role("button", name="Pass").click()
    box.get_by_text("pass by manager-user").wait_for()
    assert row.get_by_role("button", name="Pass").get_attribute("aria-pressed") == "true"
    assert row.get_by_role("button", name="Fail").get_attribute("aria-pressed") == "false"
    assert page.evaluate("window.liftoffNoReload") is True
    assert axe_violations(page) == []
    page.emulate_media(color_scheme="dark")
    assert axe_violations(page) == []
    assert csp_errors == []


def test_an_approver_approves_from_the_approvals_page(
    page, live_server, login_page, approver, release, csp_errors
):
    login_page(approver)
    count = page.locator(".nav-count")
    # Three sign-offs and the failed performance gate the approver may waive.
    assert count.text_content() == "4 waiting"
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Approvals").click()
    page.get_by_role("heading", name="Svc v1.0.0 “Orion”").wait_for()
    assert page.get_by_text("Measured 9 %, needs ≤ 5 %").is_visible()
    assert axe_violations(page) == []
    page.get_by_label("Comment on “Security review” (needed to reject)").fill("Threat model read.")
    page.get_by_role("button", name="Approve “Security review”").click()
    page.get_by_text("Approved “Security review” for v1.0.0.").wait_for()
    assert count.text_content() == "3 waiting"
    assert page.get_by_role("button", name="Approve “Security review”").count() == 0
    assert axe_violations(page) == []
    # The release page shows the approval and the waiver, and passes axe for an approver.
    page.get_by_role("link", name="Svc v1.0.0 “Orion”").click()
    gates = page.locator("#release-gates")
    gates.get_by_text("Waived by approver-user").wait_for()
    assert (
        "by approver-user" in gates.locator(f"#gate-{release.pk}-{_gate_pk(release)}").inner_text()
    )
    assert axe_violations(page) == []
    # On the release page the gates are approved in place (htmx, no reload).
    page.evaluate("window.liftoffNoReload = true")
    gates.get_by_role("button", name="Approve “Documentation complete”").click()
    gates.get_by_text("You approved this gate.").nth(1).wait_for()
    assert page.evaluate("window.liftoffNoReload") is True
    page.get_by_text("Approved “Documentation complete” for v1.0.0.").wait_for()
    assert count.text_content() == "2 waiting"  # swapped out of band
    page.emulate_media(color_scheme="dark")
    assert axe_violations(page) == []
    assert csp_errors == []


def _gate_pk(release):
    return QualityGate.objects.get(project=release.project, key="security-review").pk


def test_three_quick_ticks_in_one_checklist_are_all_kept_and_shown(
    page, live_server, login_page, manager, release
):
    titles = ["Feature complete", "Security review", "Documentation"]
    login_page(manager)
    page.goto(f"{live_server.url}/releases/{release.pk}/")
    item = ChecklistItem.objects.get(release=release, title=titles[0])
    checklist = page.locator(f"#checklist-{item.checklist_id}")
    for title in titles:  # one after another, without waiting for the answers
        checklist.get_by_label(title, exact=True).click()
    page.wait_for_function(
        "id => document.getElementById(id).innerText.includes('3 of 7 required done')",
        arg=f"checklist-{item.checklist_id}",
        timeout=10_000,
    )
    for title in titles:
        assert checklist.get_by_label(title, exact=True).is_checked()
    done = ChecklistItem.objects.filter(release=release, title__in=titles, done=True)
    assert done.count() == 3


def test_the_release_page_opens_what_is_worked_on_now_and_marks_a_checklist_done(
    page, live_server, login_page, manager, release, csp_errors
):
    pre = release.checklists.get(name="Pre-release checklist")
    first = ChecklistItem.objects.filter(release=release, kind="scenario").order_by("pk")[0]
    login_page(manager)
    page.goto(f"{live_server.url}/releases/{release.pk}/")
    page.evaluate(
        "window.liftoffNoReload = true; window.releaseChanged = 0;"
        "document.body.addEventListener('liftoff:release-changed',"
        " () => { window.releaseChanged += 1; });"
    )
    # Validation and security are worked on now: open, first. The later phases are folded
    # with their counts; one click unfolds them.
    phases = page.locator("#release-checklists .phase-checklists")
    assert phases.nth(0).get_attribute("id") == "phase-validation"
    assert phases.nth(1).get_attribute("id") == "phase-security"
    staging = page.locator("#phase-staging")
    assert "0 of 6 required done" in staging.locator("summary").inner_text()
    assert not staging.get_by_label("Security controls active", exact=True).is_visible()
    staging.locator("summary").click()
    assert staging.get_by_label("Security controls active", exact=True).is_visible()
    # The jump link to a folded phase unfolds it.
    production = page.locator("#phase-production")
    assert production.get_attribute("open") is None
    page.get_by_role("navigation", name="Checklist phases").get_by_role(
        "link", name="Production"
    ).click()
    # liftoff.js unfolds it on hashchange, which fires after the click returns.
    page.locator("#phase-production[open]").wait_for(timeout=5_000)
    assert production.get_by_label("Deployment verified", exact=True).is_visible()
    assert axe_violations(page) == []

    # A few Tab stops: the jump link to validation, then the checklist's name, then Pass.
    page.get_by_role("navigation", name="Checklist phases").get_by_role(
        "link", name="Validation"
    ).focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    focused = page.evaluate("[document.activeElement.textContent, document.activeElement.value]")
    assert focused == ["Pass", "pass"]
    page.keyboard.press("Enter")
    page.locator(f"#item-{first.pk}").get_by_text("pass by manager-user").wait_for()
    _wait_for_what_is_left(page, release)  # the release page heard liftoff:release-changed

    # Mark all done, with one note, in place.
    checklist = page.locator(f"#checklist-{pre.pk}")
    checklist.get_by_label("Note for the items it ticks (optional)").fill(
        "Reviewed in the go/no-go"
    )
    checklist.get_by_role("button", name="Mark all done in “Pre-release checklist”").click()
    checklist.get_by_text("7 of 7 required done").wait_for()
    page.get_by_text("Marked 7 items of “Pre-release checklist” done.").wait_for()
    _wait_for_what_is_left(page, release)
    assert page.evaluate("window.liftoffNoReload") is True
    assert page.evaluate("window.releaseChanged") == 2  # the result, then mark all done
    assert checklist.get_by_label("Vision alignment", exact=True).is_checked()
    assert (
        checklist.get_by_role("button", name="Mark all done in “Pre-release checklist”").count()
        == 0
    )
    notes = set(pre.items.values_list("note", flat=True))
    assert notes == {"Reviewed in the go/no-go"} and not pre.items.filter(done=False).exists()
    assert axe_violations(page) == []
    page.emulate_media(color_scheme="dark")
    assert axe_violations(page) == []
    assert csp_errors == []


def _wait_for_what_is_left(page, release):
    """The release page's "N left before ready" follows a checklist change without a reload
    (it listens for the change's liftoff:release-changed event)."""
    left = len(release_blockers(release=release, to="ready"))
    page.wait_for_function(
        "text => (document.getElementById('blockers-heading') || {}).textContent === text",
        arg=f"{left} left before ready",
        timeout=10_000,
    )
