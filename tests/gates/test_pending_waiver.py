"""A pending automated gate (nothing measured it on the release head) may be waived by a
signer, with a reason: a check that never reports must not hold a release for ever. The
service, the gates page, the API, the release page's blockers, the approvals page and the
audit trail agree on it; the signer rules hold as for any waiver."""

import re

import pytest
from django.utils import timezone

from checklists.models import ChecklistItem, ItemKind
from checklists.services import checklist_item_update
from gates.models import GateResultSource, GateStatus, QualityGate, Waiver
from gates.selectors import approvals_waiting, release_gates
from gates.services import (
    approval_record,
    gate_result_record,
    waiver_grant,
    waiver_revoke,
)
from liftoff.errors import Conflict, NotAllowed, ValidationFailed
from liftoff.models import AuditEvent
from liftoff.roles import Role
from releases.models import Release, ReleaseStatus
from releases.policy import release_blockers
from releases.services import release_git_facts_record, release_transition
from tests.factories import ReleaseFactory, synced_project

pytestmark = pytest.mark.django_db

HEAD = "c" * 40
NEW_HEAD = "e" * 40
HTMX = {"HX-Request": "true"}
REASON = "Nothing runs axe on this service yet; checked by hand."


@pytest.fixture
def project(db):
    return synced_project(
        actor=None, slug="orbit", name="Orbit", repo_url="https://git.example.test/orbit.git"
    )


def _release(project, manager, status=ReleaseStatus.VALIDATING, version="1.0.0"):
    return ReleaseFactory(
        project=project,
        release_manager=manager,
        version=version,
        status=status,
        head_commit=HEAD,
        prepared_at=timezone.now(),
    )


def _gate(project, key) -> QualityGate:
    return QualityGate.objects.get(project=project, key=key)


def _view(release, key):
    release = Release.objects.select_related("project").get(pk=release.pk)
    return next(v for v in release_gates(release=release) if v.gate.key == key)


def _everything_but_accessibility(release, manager, approver):
    """Every item ticked, every manual gate approved, every automated gate passed, but
    accessibility: nothing ever reports it."""
    for item in ChecklistItem.objects.filter(release=release):
        if item.kind == ItemKind.SCENARIO:
            checklist_item_update(item=item, actor=manager, result="pass")
        else:
            checklist_item_update(item=item, actor=manager, done=True)
    for gate in QualityGate.objects.filter(project=release.project, active=True):
        if gate.key == "accessibility":
            continue
        if gate.is_automated:
            gate_result_record(
                release=release,
                gate=gate,
                source=GateResultSource.CI,
                value=gate.threshold,
                commit=HEAD,
            )
        else:
            approval_record(release=release, gate=gate, actor=approver, decision="approve")


# --- The service --------------------------------------------------------------------------


def test_a_pending_gate_is_waived_by_an_approver_and_the_release_moves_on(
    project, manager, approver
):
    release = _release(project, manager)
    _everything_but_accessibility(release, manager, approver)
    (blocker,) = release_blockers(release=release, to=ReleaseStatus.READY)
    # The blocker tells an approver reading it that they may act.
    assert blocker == (
        "Gate “Accessibility violations (WCAG 2.1 AA)” is not measured yet: run the "
        "validation, or an approver may waive it."
    )
    with pytest.raises(Conflict):
        release_transition(release=release, to=ReleaseStatus.READY, actor=manager)

    waiver = waiver_grant(
        release=release, gate=_gate(project, "accessibility"), actor=approver, reason=REASON
    )

    assert (waiver.approver, waiver.commit, waiver.reason) == (approver, HEAD, REASON)
    view = _view(release, "accessibility")
    assert view.status == GateStatus.WAIVED and view.result is None
    assert release_blockers(release=release, to=ReleaseStatus.READY) == []
    release_transition(release=release, to=ReleaseStatus.READY, actor=manager)
    assert Release.objects.get(pk=release.pk).status == ReleaseStatus.READY
    # It was judged waived, with who and why.
    (judged,) = release.gate_judgements.filter(gate_key="accessibility")
    assert (judged.status, judged.waived_by, judged.waiver_reason) == (
        "waived",
        "approver-user",
        REASON,
    )


def test_a_pending_waiver_is_audited_as_one(project, manager, approver, client_as):
    release = _release(project, manager)
    waiver_grant(
        release=release, gate=_gate(project, "accessibility"), actor=approver, reason=REASON
    )
    event = AuditEvent.objects.get(action="gate.waived")
    assert event.actor == approver and event.object_id == str(release.pk)
    assert event.after == {
        "gate": "accessibility",
        "reason": REASON,
        "commit": HEAD,
        "status": "pending",
    }
    page = client_as(approver).get(f"/releases/{release.pk}/audit/").content.decode()
    assert "waived Accessibility violations (WCAG 2.1 AA) before anything measured it" in page


def test_the_signer_rules_hold_for_a_pending_gate(project, manager, approver, make_user):
    release = _release(project, manager)
    gate = _gate(project, "accessibility")
    admin_manager = make_user(Role.ADMIN, "admin-manager")
    own = ReleaseFactory(
        project=project,
        release_manager=admin_manager,
        version="2.0.0",
        status=ReleaseStatus.VALIDATING,
        head_commit=HEAD,
    )
    refusals = [
        (release, manager, "Only an approver may waive"),
        (release, make_user(Role.STAKEHOLDER, "reader"), "Only an approver may waive"),
        (release, make_user(None, "outsider"), "Only an approver may waive"),
        # Never one's own release, even as an admin (who has every role).
        (own, admin_manager, "You are the release manager of v2.0.0"),
    ]
    for target, actor, words in refusals:
        with pytest.raises(NotAllowed, match=words):
            waiver_grant(release=target, gate=gate, actor=actor, reason=REASON)
    with pytest.raises(ValidationFailed) as short:
        waiver_grant(release=release, gate=gate, actor=approver, reason="untested")
    assert short.value.errors == {"reason": ["Give a reason of at least 10 characters."]}
    assert not Waiver.objects.exists()


def test_what_is_not_waivable_stays_refused(project, manager, approver):
    release = _release(project, manager)
    with pytest.raises(ValidationFailed, match="Manual gates are approved, not waived"):
        waiver_grant(
            release=release, gate=_gate(project, "security-review"), actor=approver, reason=REASON
        )
    coverage = _gate(project, "coverage")
    gate_result_record(release=release, gate=coverage, source="ci", value=95, commit=HEAD)
    with pytest.raises(Conflict, match="is passed: only a failed, unmeasured or pending gate"):
        waiver_grant(release=release, gate=coverage, actor=approver, reason=REASON)
    accessibility = _gate(project, "accessibility")
    waiver_grant(release=release, gate=accessibility, actor=approver, reason=REASON)
    with pytest.raises(Conflict, match="is waived already"):
        waiver_grant(release=release, gate=accessibility, actor=approver, reason=REASON)
    assert Waiver.objects.count() == 1


@pytest.mark.parametrize("status", [ReleaseStatus.PLANNED, ReleaseStatus.PREPARING])
def test_a_pending_gate_is_not_waived_before_validation(project, manager, approver, status):
    """Before validation nothing has tried to measure it yet (as a manual gate's sign-off
    is "upcoming" then)."""
    release = _release(project, manager, status=status)
    with pytest.raises(Conflict, match="is not in validation"):
        waiver_grant(
            release=release, gate=_gate(project, "accessibility"), actor=approver, reason=REASON
        )


def test_a_pending_waiver_is_for_the_head_and_a_real_measurement_shows(project, manager, approver):
    release = _release(project, manager)
    gate = _gate(project, "accessibility")
    waiver_grant(release=release, gate=gate, actor=approver, reason=REASON)
    # A passing measurement on the same head: passed, on its own merit.
    gate_result_record(release=release, gate=gate, source="ci", value=0, commit=HEAD)
    assert _view(release, "accessibility").status == GateStatus.PASSED
    # A new head: nothing measured it there, and the waiver was for the old one.
    release_git_facts_record(release=release, head_commit=NEW_HEAD)
    assert _view(release, "accessibility").status == GateStatus.PENDING
    # Revoked, a waived pending gate is pending again.
    other = ReleaseFactory(
        project=project,
        release_manager=manager,
        version="1.1.0",
        status=ReleaseStatus.VALIDATING,
        head_commit=HEAD,
    )
    waiver_grant(release=other, gate=gate, actor=approver, reason=REASON)
    waiver_revoke(release=other, gate=gate, actor=approver)
    assert _view(other, "accessibility").status == GateStatus.PENDING


# --- The pages ----------------------------------------------------------------------------


def _waive_form(page: str, release, gate) -> bool:
    return f'action="/releases/{release.pk}/gates/{gate.pk}/waive/"' in page


def test_the_gates_page_offers_waive_for_a_pending_gate_to_signers_only(
    client_as, project, manager, approver, stakeholder
):
    release = _release(project, manager)
    gate = _gate(project, "accessibility")
    url = f"/releases/{release.pk}/gates/"
    page = client_as(approver).get(url).content.decode()
    assert _waive_form(page, release, gate)
    assert "why this release may go on without this measurement" in page
    for reader in (manager, stakeholder):
        assert not _waive_form(client_as(reader).get(url).content.decode(), release, gate)
    # Before validation there is no Waive for a pending gate.
    preparing = _release(project, manager, status=ReleaseStatus.PREPARING, version="1.1.0")
    page = client_as(approver).get(f"/releases/{preparing.pk}/gates/").content.decode()
    assert not _waive_form(page, preparing, gate)


def test_waive_a_pending_gate_through_the_page(client_as, project, manager, approver, stakeholder):
    release = _release(project, manager)
    gate = _gate(project, "accessibility")
    url = f"/releases/{release.pk}/gates/{gate.pk}/waive/"
    # Those who may not sign are refused, by role (403) or by the rule (a message).
    assert client_as(stakeholder).post(url, {"reason": REASON}).status_code == 403
    refused = client_as(manager).post(url, {"reason": REASON}, headers=HTMX).content.decode()
    assert "Only an approver may waive" in refused
    assert not Waiver.objects.exists()

    fragment = client_as(approver).post(url, {"reason": REASON}, headers=HTMX).content.decode()

    assert "Waived by <strong>approver-user</strong>" in fragment
    assert REASON in fragment
    assert re.search(r'badge gate-waived">Waived<', fragment)
    cockpit = client_as(manager).get(f"/releases/{release.pk}/cockpit/").content.decode()
    assert "Accessibility violations" not in cockpit


def test_the_release_page_tells_who_may_waive_a_pending_gate(client_as, project, manager, approver):
    release = _release(project, manager)
    cockpit = client_as(approver).get(f"/releases/{release.pk}/cockpit/").content.decode()
    assert (
        "Gate “Accessibility violations (WCAG 2.1 AA)” is not measured yet: run the "
        "validation, or an approver may waive it."
    ) in cockpit


def test_validate_is_not_the_next_step_once_the_pending_gate_is_waived(
    client_as, project, manager, approver
):
    release = _release(project, manager)
    project.validation_commands.create(name="tests", argv=["true"])
    for gate in QualityGate.objects.filter(project=project, kind="automated"):
        if gate.key != "accessibility":
            gate_result_record(
                release=release, gate=gate, source="ci", value=gate.threshold, commit=HEAD
            )
    primary = re.compile(r'class="button primary"[^>]*>([^<]+)<')
    page = client_as(manager).get(f"/releases/{release.pk}/").content.decode()
    assert [p.strip() for p in primary.findall(page)] == ["Validate"]
    waiver_grant(
        release=release, gate=_gate(project, "accessibility"), actor=approver, reason=REASON
    )
    page = client_as(manager).get(f"/releases/{release.pk}/").content.decode()
    assert "Validate" not in [p.strip() for p in primary.findall(page)]


def test_the_approvals_page_lists_what_a_measurement_refused_not_what_waits_for_one(
    client_as, project, manager, approver
):
    """A pending gate waits for its measurement first: it is not work in the inbox (a
    failed one is), but it is waivable where the gate is shown."""
    release = _release(project, manager)
    gate_result_record(
        release=release, gate=_gate(project, "coverage"), source="ci", value=50, commit=HEAD
    )
    automated = {
        w.view.gate.key: w.view.status
        for w in approvals_waiting(user=approver)
        if w.view.gate.is_automated
    }
    assert automated == {"coverage": "failed"}
    page = client_as(approver).get("/approvals/").content.decode()
    coverage = _gate(project, "coverage")
    assert _waive_form(page, release, coverage)
    assert not _waive_form(page, release, _gate(project, "accessibility"))


# --- The API ------------------------------------------------------------------------------


def _waive_api(client, release, gate="accessibility", reason=REASON):
    return client.post(
        f"/api/v1/releases/{release.pk}/waivers/",
        {"gate": gate, "reason": reason},
        content_type="application/json",
    )


def test_the_api_waives_a_pending_gate(
    client_as, project, manager, approver, stakeholder, make_user
):
    release = _release(project, manager)
    assert _waive_api(client_as(stakeholder), release).status_code == 403
    assert _waive_api(client_as(make_user(None, "outsider")), release).status_code == 403
    assert _waive_api(client_as(manager), release).status_code == 403

    response = _waive_api(client_as(approver), release)

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["key"], body["status"], body["blocker"], body["evidence"]) == (
        "accessibility",
        "waived",
        None,
        None,
    )
    assert body["waiver"]["by"] == "approver-user" and body["waiver"]["reason"] == REASON
    again = _waive_api(client_as(approver), release)
    assert again.status_code == 409 and "waived already" in again.json()["detail"]
    revoked = client_as(approver).delete(f"/api/v1/releases/{release.pk}/waivers/accessibility/")
    assert revoked.status_code == 200 and revoked.json()["status"] == "pending"
    assert "or an approver may waive it" in revoked.json()["blocker"]
