"""The events gates raise, inside the transaction of their change: a failed result, a
decision, the sign-offs a release waits for when it enters validation, and the end of a
validation run."""

import pytest
from django.utils import timezone

from gates.models import GateResultSource, QualityGate
from gates.run_kinds import validate_finished
from gates.services import (
    approval_record,
    gate_result_record,
    release_validate,
    validation_command_save,
    waiver_grant,
)
from liftoff import events
from releases.models import ReleaseStatus
from releases.services import release_transition
from tests.factories import ReleaseFactory, synced_project

pytestmark = pytest.mark.django_db

HEAD = "b" * 40


@pytest.fixture
def heard():
    seen = []

    def handler(event):
        seen.append(event)

    for name in events.EVENTS:
        events.subscribe(name, handler)
    yield seen
    for name in events.EVENTS:
        events.unsubscribe(name, handler)


@pytest.fixture
def release(manager):
    project = synced_project(
        actor=None, slug="evt", name="Evt", repo_url="https://git.example.test/evt.git"
    )
    return ReleaseFactory(
        project=project,
        release_manager=manager,
        status=ReleaseStatus.VALIDATING,
        head_commit=HEAD,
        prepared_at=timezone.now(),
    )


def _names(seen, name):
    return [e for e in seen if e.name == name]


def test_a_failed_or_unmeasured_result_raises_gate_failed_and_a_pass_gate_passed(heard, release):
    coverage = QualityGate.objects.get(project=release.project, key="coverage")
    for value in (95.0, 80.0, None):
        gate_result_record(
            release=release, gate=coverage, source=GateResultSource.CI, value=value, commit=HEAD
        )
    failed = _names(heard, "gate.failed")
    assert [(e.payload["status"], e.payload["value"]) for e in failed] == [
        ("failed", 80.0),
        ("not_measured", None),
    ]
    assert failed[0].payload["gate"] == "coverage" and failed[0].subject.pk == release.pk
    # The pass raises gate.passed (the metrics' cache hears it), without a reason.
    [passed] = _names(heard, "gate.passed")
    assert passed.payload == {
        "gate": "coverage",
        "status": "passed",
        "value": 95.0,
        "threshold": coverage.threshold_label,
    }


def test_a_decision_raises_approval_given(heard, release, approver):
    gate = QualityGate.objects.filter(project=release.project, kind="manual").first()
    approval_record(release=release, gate=gate, actor=approver, decision="approve")
    (given,) = _names(heard, "approval.given")
    assert given.actor == approver
    assert given.payload == {"gate": gate.key, "decision": "approve", "comment": ""}


def test_a_waiver_raises_gate_waived_with_what_was_waived(heard, release, approver):
    gate = QualityGate.objects.get(project=release.project, key="coverage")
    gate_result_record(
        release=release, gate=gate, source=GateResultSource.CI, value=80.0, commit=HEAD
    )
    waiver_grant(release=release, gate=gate, actor=approver, reason="Flaky runner, accepted")
    (waived,) = _names(heard, "gate.waived")
    assert waived.actor == approver and waived.subject.pk == release.pk
    assert waived.payload == {
        "gate": "coverage",
        "reason": "Flaky runner, accepted",
        "commit": HEAD,
        "status": "failed",
    }


def test_entering_validation_requests_the_waiting_sign_offs(heard, manager):
    project = synced_project(
        actor=None, slug="req", name="Req", repo_url="https://git.example.test/req.git"
    )
    release = ReleaseFactory(
        project=project,
        release_manager=manager,
        status=ReleaseStatus.PREPARING,
        head_commit=HEAD,
        prepared_at=timezone.now(),
    )
    release_transition(release=release, to=ReleaseStatus.VALIDATING, actor=manager)
    (requested,) = _names(heard, "approval.requested")
    manual = set(project.quality_gates.filter(kind="manual").values_list("key", flat=True))
    assert set(requested.payload["gates"]) == manual and manual


def test_the_end_of_a_validation_run_raises_validation_finished(heard, release, manager):
    coverage = QualityGate.objects.get(project=release.project, key="coverage")
    validation_command_save(actor=None, project=release.project, name="tests", argv=["true"])
    run = release_validate(release=release, actor=manager)
    gate_result_record(
        release=release,
        gate=coverage,
        source=GateResultSource.VALIDATION,
        value=99.0,
        commit=HEAD,
        run=run,
    )
    validate_finished(run)
    (finished,) = _names(heard, "validation.finished")
    assert finished.payload["run"] == run.pk
    assert finished.payload["gates"]["coverage"] == "passed"
