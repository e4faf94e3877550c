"""Gates in a real headless Chromium: the gate form switching its fields with the kind,
the configuration warning, a released release's recorded gates, the coverage summary, a
gate nothing measures waived in place; axe (WCAG 2.1 AA) on each, and no CSP error."""

import pytest
from playwright.sync_api import expect

from gates.models import GateResultSource, QualityGate
from gates.services import approval_record, gate_result_record, gate_save, waiver_grant
from liftoff.roles import Role
from releases.models import Release
from releases.policy import project_created
from releases.services import release_create, release_transition
from tests.factories import ProjectFactory
from tests.helpers import axe_violations, htmx_settled

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HEAD = "f" * 40


@pytest.fixture
def project():
    project = ProjectFactory(slug="svc", name="Svc")
    project_created(project=project, actor=None)
    return project


def test_the_gate_form_shows_the_fields_of_the_chosen_kind(
    page, live_server, login_page, admin_user, project, csp_errors
):
    login_page(admin_user)
    page.goto(f"{live_server.url}/projects/svc/gates/")
    # A new project's automated gates have nothing feeding them: the page says so.
    assert page.get_by_text("Nothing feeds “Test coverage”").is_visible()
    assert axe_violations(page) == []
    page.get_by_role("link", name="New gate").click()
    threshold, approvals = page.get_by_label("Threshold"), page.get_by_label("Required approvals")
    assert threshold.is_visible() and not approvals.is_visible()
    assert axe_violations(page) == []
    page.get_by_label("Manual").check()
    assert approvals.is_visible() and not threshold.is_visible()
    assert axe_violations(page) == []
    page.get_by_label("Key").fill("qa-sign-off")
    page.get_by_label("Name").fill("QA sign-off")
    approvals.fill("2")
    page.get_by_role("button", name="Save gate").click()
    page.get_by_text("Quality gate “QA sign-off” saved.").wait_for()
    gate = QualityGate.objects.get(project=project, key="qa-sign-off")
    assert (gate.kind, gate.required_approvals, gate.threshold) == ("manual", 2, None)
    # Back to automated: the measurement fields return, the sign-off ones go.
    page.goto(f"{live_server.url}/projects/svc/gates/{gate.pk}/")
    assert approvals.is_visible() and not threshold.is_visible()
    page.get_by_label("Automated").check()
    assert threshold.is_visible() and not approvals.is_visible()
    # Unused, it may be deleted (after a confirmation page).
    page.get_by_role("link", name="Delete…").click()
    page.get_by_role("heading", name="Delete “QA sign-off”?").wait_for()
    assert axe_violations(page) == []
    page.get_by_role("button", name="Delete gate").click()
    page.get_by_text("Quality gate “QA sign-off” deleted.").wait_for()
    assert not QualityGate.objects.filter(pk=gate.pk).exists()
    assert csp_errors == []


def test_an_admin_edits_the_allowed_licences_in_a_browser(
    page, live_server, login_page, admin_user, project, csp_errors
):
    login_page(admin_user)
    page.goto(f"{live_server.url}/projects/svc/gates/")
    page.get_by_role("link", name="Edit allowed licences").click()
    field = page.get_by_label("Allowed licences")
    assert "LGPL-3.0-or-later" in field.input_value()
    assert axe_violations(page) == []
    field.fill("MIT\nNot-A-Licence")
    page.get_by_role("button", name="Save allowed licences").click()
    page.get_by_text("“Not-A-Licence” is not an SPDX licence id").wait_for()
    assert field.input_value() == "MIT\nNot-A-Licence"  # nothing typed is lost
    assert axe_violations(page) == []
    field.fill("MIT\napache-2.0")
    page.get_by_role("button", name="Save allowed licences").click()
    page.get_by_text("Allowed licences saved.").wait_for()
    assert page.locator("p.licences").inner_text() == "Apache-2.0, MIT"
    assert axe_violations(page) == []
    assert csp_errors == []


def test_a_released_release_shows_the_gates_it_was_judged_by(
    page, live_server, login_page, project, manager, approver, admin_user, stakeholder, csp_errors
):
    release = release_create(
        actor=manager, project=project, release_type="minor", version="1.0.0", codename="Orion"
    )
    Release.objects.filter(pk=release.pk).update(status="validating", head_commit=HEAD)
    release.refresh_from_db()
    coverage_report = (
        '<coverage line-rate="0.834"><packages><package><classes>'
        '<class name="a" filename="app/a.py"><lines><line number="1" hits="0"/>'
        '<line number="2" hits="1"/></lines></class></classes></package></packages></coverage>'
    )
    for gate in QualityGate.objects.filter(project=project, kind="automated"):
        value = 83.4 if gate.key == "coverage" else 0
        gate_result_record(
            release=release,
            gate=gate,
            source=GateResultSource.CI,
            value=value,
            commit=HEAD,
            report=coverage_report if gate.key == "coverage" else "",
            report_name="coverage.xml",
        )
    coverage = QualityGate.objects.get(project=project, key="coverage")
    waiver_grant(
        release=release, gate=coverage, actor=approver, reason="Legacy module, covered by e2e."
    )
    for gate in QualityGate.objects.filter(project=project, kind="manual"):
        approval_record(release=release, gate=gate, actor=approver, decision="approve")
    for to in ("ready", "staging", "production", "released"):
        release_transition(release=release, to=to, actor=None, system_reason="test")
    gate_save(
        actor=admin_user,
        project=project,
        gate=coverage,
        key=coverage.key,
        name=coverage.name,
        kind="automated",
        comparator="gte",
        threshold=95.0,
        unit="%",
        active=False,
    )

    login_page(stakeholder)
    page.goto(f"{live_server.url}/releases/{release.pk}/")
    gates = page.locator("#release-gates")
    assert gates.get_by_text("As judged on").is_visible()
    assert gates.get_by_text("since made inactive").is_visible()
    assert axe_violations(page) == []
    gates.get_by_role("link", name="Evidence for Test coverage").click()
    page.get_by_role("heading", name="Test coverage", level=1).wait_for()
    assert page.get_by_text("Line coverage 83.4 % over 1 file.").is_visible()
    assert page.get_by_text("The gate has since been made inactive.").is_visible()
    assert axe_violations(page) == []
    page.emulate_media(color_scheme="dark")
    assert axe_violations(page) == []
    assert csp_errors == []


def test_an_approver_sees_one_number_and_upcoming_sign_offs(
    page, live_server, login_page, project, manager, make_user, csp_errors
):
    approver = make_user(Role.APPROVER, "approver-one")
    validating = release_create(
        actor=manager, project=project, release_type="minor", version="1.0.0", codename="Orion"
    )
    Release.objects.filter(pk=validating.pk).update(status="validating", head_commit=HEAD)
    preparing = release_create(
        actor=manager, project=project, release_type="minor", version="1.1.0", codename="Vega"
    )
    Release.objects.filter(pk=preparing.pk).update(status="preparing", head_commit=HEAD)
    coverage = QualityGate.objects.get(project=project, key="coverage")
    gate_result_record(
        release=validating, gate=coverage, source=GateResultSource.CI, value=70, commit=HEAD
    )
    login_page(approver)
    assert page.locator(".nav-count").text_content() == "4 waiting"
    assert page.get_by_text("All 4 on the approvals page").is_visible()
    page.goto(f"{live_server.url}/approvals/")
    assert page.locator("li.gate").count() == 4
    page.goto(f"{live_server.url}/releases/{preparing.pk}/")
    assert page.locator("#release-gates .gate-upcoming").count() == 3
    assert axe_violations(page) == []
    assert csp_errors == []


def test_an_approver_waives_a_gate_nothing_measures(
    page, live_server, login_page, project, manager, approver, csp_errors
):
    """Accessibility is never reported: the release page tells the approver they may
    waive it, the waiver is given in place, and what blocks the release follows."""
    release = release_create(
        actor=manager, project=project, release_type="minor", version="1.0.0", codename="Orion"
    )
    Release.objects.filter(pk=release.pk).update(status="validating", head_commit=HEAD)
    for gate in QualityGate.objects.filter(project=project, kind="automated"):
        if gate.key != "accessibility":
            gate_result_record(
                release=release, gate=gate, source="ci", value=gate.threshold, commit=HEAD
            )
    accessibility = QualityGate.objects.get(project=project, key="accessibility")
    left = "is not measured yet: run the validation, or an approver may waive it."

    login_page(approver)
    page.goto(f"{live_server.url}/releases/{release.pk}/")
    cockpit = page.locator("#release-cockpit")
    expect(cockpit.get_by_text(left)).to_have_count(1)
    assert axe_violations(page) == []
    row = page.locator(f"#gate-{release.pk}-{accessibility.pk}")
    row.get_by_label(f"Why “{accessibility.name}” may be waived").fill(
        "Nothing runs axe on this service yet; checked by hand."
    )
    row.get_by_role("button", name="Waive").click()

    page.locator(f"#gate-{release.pk}-{accessibility.pk}").get_by_text(
        "Waived by approver-user"
    ).wait_for()
    # The blockers panel refreshes itself on the release-changed event.
    expect(page.locator("#release-cockpit").get_by_text(left)).to_have_count(0)
    htmx_settled(page)
    assert axe_violations(page) == []
    assert csp_errors == []
