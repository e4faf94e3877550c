"""The rules of gates, results, approvals and waivers, through the services every page,
API endpoint and command uses."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from checklists.models import ChecklistItem, ItemKind
from checklists.services import checklist_item_update
from gates.models import GateResultSource, GateStatus, QualityGate
from gates.selectors import release_gates
from gates.services import approval_record, gate_result_record, gate_save, waiver_grant
from liftoff.errors import Conflict, NotAllowed, ValidationFailed
from liftoff.roles import Role
from releases.models import Release, ReleaseStatus
from releases.services import (
    release_git_facts_record,
)
from tests.factories import ReleaseFactory, synced_project

HEAD = "a" * 40


@pytest.fixture
def project(db):
    return synced_project(
        actor=None, slug="orbit", name="Orbit", repo_url="https://git.example.test/orbit.git"
    )


def _release(project, manager, *, status=ReleaseStatus.VALIDATING, version="1.0.0"):
    return ReleaseFactory(
        project=project,
        release_manager=manager,
        version=version,
        status=status,
        head_commit=HEAD,
        prepared_at=timezone.now(),
    )


def _gate(release, key) -> QualityGate:
    return QualityGate.objects.get(project=release.project, key=key)


def _view(release, key):
    release = Release.objects.select_related("project").get(pk=release.pk)
    return next(v for v in release_gates(release=release) if v.gate.key == key)


def _complete_everything(release, actor, approvers):
    for item in ChecklistItem.objects.filter(release=release):
        if item.kind == ItemKind.SCENARIO:
            checklist_item_update(item=item, actor=actor, result="pass")
        else:
            checklist_item_update(item=item, actor=actor, done=True)
    for gate in QualityGate.objects.filter(project=release.project, active=True):
        if gate.is_automated:
            value = gate.threshold
            gate_result_record(
                release=release, gate=gate, source=GateResultSource.CI, value=value, commit=HEAD
            )
        else:
            approval_record(release=release, gate=gate, actor=approvers[0], decision="approve")


def test_an_automated_gate_passes_or_fails_on_its_threshold(project, manager):
    release = _release(project, manager)
    coverage = _gate(release, "coverage")
    gate_result_record(release=release, gate=coverage, source="validation", value=88.5, commit=HEAD)
    view = _view(release, "coverage")
    assert view.status == GateStatus.FAILED and view.value == 88.5
    assert "88.5 is not ≥ 90 %" in view.result.reason
    gate_result_record(release=release, gate=coverage, source="ci", value=93.0, commit=HEAD)
    assert _view(release, "coverage").status == GateStatus.PASSED


def test_a_scan_that_could_not_run_is_not_measured_never_a_pass(project, manager):
    release = _release(project, manager)
    gate = _gate(release, "dependency-vulnerabilities")
    gate_result_record(
        release=release,
        gate=gate,
        source="validation",
        value=None,
        commit=HEAD,
        reason="pip-audit could not reach its vulnerability service",
    )
    view = _view(release, "dependency-vulnerabilities")
    assert view.status == GateStatus.NOT_MEASURED
    assert "could not reach" in view.blocker


def test_the_release_manager_cannot_approve_their_own_release(project, admin_user):
    # An admin may approve gates, but not of a release they manage.
    release = _release(project, admin_user)
    with pytest.raises(NotAllowed, match="You are the release manager"):
        approval_record(
            release=release,
            gate=_gate(release, "security-review"),
            actor=admin_user,
            decision="approve",
        )


def test_one_person_counts_once_and_a_gate_needs_n_of_m(project, manager, make_user, admin_user):
    release = _release(project, manager)
    gate = _gate(release, "documentation")
    gate_save(
        actor=admin_user,
        project=project,
        gate=gate,
        key=gate.key,
        name=gate.name,
        kind="manual",
        required_approvals=2,
    )
    gate.refresh_from_db()
    one, two = make_user(Role.APPROVER), make_user(Role.APPROVER)
    approval_record(release=release, gate=gate, actor=one, decision="approve")
    with pytest.raises(Conflict, match="one person counts once"):
        approval_record(release=release, gate=gate, actor=one, decision="approve")
    view = _view(release, "documentation")
    assert (view.status, view.approvals_label) == (GateStatus.PENDING, "1 of 2")
    approval_record(release=release, gate=gate, actor=two, decision="approve")
    assert _view(release, "documentation").status == GateStatus.PASSED


def test_a_rejection_fails_the_gate_and_needs_a_reason(project, manager, approver):
    release = _release(project, manager)
    gate = _gate(release, "security-review")
    with pytest.raises(ValidationFailed):
        approval_record(release=release, gate=gate, actor=approver, decision="reject")
    approval_record(
        release=release, gate=gate, actor=approver, decision="reject", comment="No pen test"
    )
    assert _view(release, "security-review").status == GateStatus.FAILED
    # A changed mind replaces the rejection.
    approval_record(release=release, gate=gate, actor=approver, decision="approve")
    assert _view(release, "security-review").status == GateStatus.PASSED


def test_a_new_head_commit_makes_approvals_stale_unless_the_project_keeps_them(
    project, manager, approver
):
    release = _release(project, manager)
    gate = _gate(release, "security-review")
    approval_record(release=release, gate=gate, actor=approver, decision="approve")
    release_git_facts_record(release=release, head_commit="b" * 40)
    view = _view(release, "security-review")
    assert view.status == GateStatus.PENDING and len(view.stale) == 1
    # The same approver may approve the new head.
    approval_record(release=release, gate=gate, actor=approver, decision="approve")
    assert _view(release, "security-review").status == GateStatus.PASSED
    project.keep_approvals_on_new_commits = True
    project.save()
    release_git_facts_record(release=release, head_commit="c" * 40)
    assert _view(release, "security-review").status == GateStatus.PASSED


def test_results_of_an_older_head_do_not_count(project, manager):
    release = _release(project, manager)
    gate_result_record(
        release=release, gate=_gate(release, "coverage"), source="ci", value=99, commit=HEAD
    )
    release_git_facts_record(release=release, head_commit="d" * 40)
    view = _view(release, "coverage")
    assert view.status == GateStatus.PENDING and view.older_result is not None
    assert "older commit" in view.blocker


def test_a_waiver_lets_a_failed_gate_pass_with_its_reason(project, manager, approver):
    release = _release(project, manager)
    gate = _gate(release, "performance-regression")
    gate_result_record(release=release, gate=gate, source="ci", value=7.5, commit=HEAD)
    with pytest.raises(ValidationFailed):
        waiver_grant(release=release, gate=gate, actor=approver, reason="ok")
    with pytest.raises(NotAllowed):
        waiver_grant(release=release, gate=gate, actor=manager, reason="Accepted by product")
    waiver_grant(
        release=release, gate=gate, actor=approver, reason="Cold cache on the CI runner, accepted"
    )
    view = _view(release, "performance-regression")
    assert view.status == GateStatus.WAIVED and view.waiver.approver == approver
    assert "Cold cache" in view.waiver.reason


def test_the_alignment_check_prints_the_gates_and_exits_1_while_blocked(project, manager, approver):
    release = _release(project, manager)
    out = StringIO()
    with pytest.raises(SystemExit) as caught:
        call_command(
            "release", "check", "--project", project.slug, "1.0.0", "--to", "ready", stdout=out
        )
    assert caught.value.code == 1
    text = out.getvalue()
    assert "pending       Test coverage" in text
    assert "Security review (0 of 1)" in text
    assert "v1.0.0 cannot move to ready:" in text
    _complete_everything(release, manager, [approver])
    out = StringIO()
    call_command(
        "release", "check", "--project", project.slug, "1.0.0", "--to", "ready", stdout=out
    )
    assert "passed        Test coverage 90" in out.getvalue()
    assert "v1.0.0 may move to ready." in out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_two_waivers_of_one_gate_at_once_give_one_waiver_and_a_clear_refusal(make_user):
    """The first approver's waiver is still uncommitted when the second asks: the second
    waits for it, then is told the gate is waived already (not a 500 from the database's
    one-live-waiver constraint)."""
    import threading

    from django.db import connection, transaction

    from gates.models import Waiver

    project = synced_project(
        actor=None, slug="orbit", name="Orbit", repo_url="https://git.example.test/orbit.git"
    )
    manager = make_user(Role.RELEASE_MANAGER, "manager-user")
    first, second = make_user(Role.APPROVER, "approver-a"), make_user(Role.APPROVER, "approver-b")
    release = _release(project, manager)
    gate = _gate(release, "performance-regression")
    gate_result_record(release=release, gate=gate, source="ci", value=7.5, commit=HEAD)
    granted, commit_now, outcome = threading.Event(), threading.Event(), {}

    def first_approver():
        try:
            with transaction.atomic():
                waiver_grant(release=release, gate=gate, actor=first, reason="Cold CI runner, ok")
                granted.set()
                commit_now.wait(10)
        finally:
            connection.close()

    def second_approver():
        try:
            waiver_grant(release=release, gate=gate, actor=second, reason="Accepted by product")
            outcome["second"] = "granted"
        except Exception as exc:
            outcome["second"] = exc
        finally:
            connection.close()

    a = threading.Thread(target=first_approver)
    a.start()
    assert granted.wait(10)
    b = threading.Thread(target=second_approver)
    b.start()
    b.join(1.0)
    assert b.is_alive(), "the second waiver did not wait for the first"
    commit_now.set()
    a.join(10)
    b.join(10)
    assert isinstance(outcome["second"], Conflict), outcome
    assert "waived already" in str(outcome["second"])
    live = Waiver.objects.filter(release=release, gate=gate, revoked_at__isnull=True)
    assert [w.approver_id for w in live] == [first.pk]
