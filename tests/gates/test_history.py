"""A release keeps the gates it was judged by: recorded when it leaves validation (and at
every later move), shown on its page once it is no longer in flight, whatever happens to
the gates' configuration afterwards; and a configuration change is recorded on each
release still in flight."""

import pytest

from gates.models import GateJudgement, QualityGate
from gates.services import approval_record, gate_result_record, gate_save, waiver_grant
from liftoff.models import AuditEvent
from liftoff.roles import Role
from releases.models import ReleaseStatus
from releases.policy import project_created
from releases.services import release_transition
from tests.factories import ProjectFactory, ReleaseFactory

pytestmark = pytest.mark.django_db

HEAD = "e" * 40
SHIPPING = [ReleaseStatus.READY, ReleaseStatus.STAGING, ReleaseStatus.PRODUCTION]


@pytest.fixture
def project():
    project = ProjectFactory(slug="hist", name="Hist")
    project_created(project=project, actor=None)
    return project


def _gate(project, key) -> QualityGate:
    return QualityGate.objects.get(project=project, key=key)


def _move(release, *phases):
    for to in phases:
        release_transition(release=release, to=to, actor=None, system_reason="test: skip checks")


def _judged_release(project, manager, approver, make_user):
    """A release whose gates all pass (coverage waived) and that moved on to `ready`."""
    release = ReleaseFactory(
        project=project,
        release_manager=manager,
        version="1.0.0",
        status=ReleaseStatus.VALIDATING,
        head_commit=HEAD,
    )
    for gate in QualityGate.objects.filter(project=project, kind="automated"):
        value = 0.0 if gate.comparator == "lte" else 95.0
        gate_result_record(release=release, gate=gate, source="ci", value=value, commit=HEAD)
    coverage = _gate(project, "coverage")
    gate_result_record(release=release, gate=coverage, source="ci", value=83.4, commit=HEAD)
    waiver_grant(
        release=release, gate=coverage, actor=approver, reason="Legacy module, covered by e2e."
    )
    for gate in QualityGate.objects.filter(project=project, kind="manual"):
        for n in range(gate.required_approvals):
            signer = approver if n == 0 else make_user(Role.APPROVER)
            approval_record(release=release, gate=gate, actor=signer, decision="approve")
    _move(release, ReleaseStatus.READY)
    return release


def test_leaving_validation_and_each_later_move_records_the_gates(
    project, manager, approver, make_user
):
    release = _judged_release(project, manager, approver, make_user)
    active = QualityGate.objects.filter(project=project, active=True).count()
    rows = GateJudgement.objects.filter(release=release)
    assert rows.count() == active
    coverage = rows.get(gate_key="coverage")
    assert (coverage.status, coverage.value, coverage.threshold_label) == ("waived", 83.4, "≥ 90 %")
    assert coverage.waived_by == approver.get_username()
    review = rows.get(gate_key="security-review")
    assert review.status == "passed" and review.approved_by == approver.get_username()
    _move(release, ReleaseStatus.STAGING, ReleaseStatus.PRODUCTION, ReleaseStatus.RELEASED)
    phases = set(GateJudgement.objects.filter(release=release).values_list("phase", flat=True))
    assert phases == {"ready", "staging", "production", "released"}


def test_no_judgement_before_validation_ends(project, manager):
    release = ReleaseFactory(
        project=project, release_manager=manager, status=ReleaseStatus.PLANNED, head_commit=HEAD
    )
    _move(release, ReleaseStatus.PREPARING, ReleaseStatus.VALIDATING)
    assert not GateJudgement.objects.exists()


def test_a_released_release_keeps_a_gate_made_inactive_afterwards(
    client_as, project, manager, approver, admin_user, stakeholder, make_user
):
    release = _judged_release(project, manager, approver, make_user)
    _move(release, ReleaseStatus.STAGING, ReleaseStatus.PRODUCTION, ReleaseStatus.RELEASED)
    coverage = _gate(project, "coverage")
    response = client_as(admin_user).post(
        f"/projects/{project.slug}/gates/{coverage.pk}/",
        {
            "key": "coverage",
            "name": coverage.name,
            "kind": "automated",
            "comparator": "gte",
            "threshold": "95",
            "unit": "%",
            "order": coverage.order,
            # "active" left out: made inactive.
        },
    )
    assert response.status_code == 302
    QualityGate.objects.filter(project=project, key="accessibility").delete()

    page = client_as(stakeholder).get(f"/releases/{release.pk}/").content.decode()
    assert "As judged on" in page and "when it moved to released" in page
    assert "Test coverage" in page and "since made inactive" in page
    assert "Waived by <strong>approver-user</strong>: Legacy module, covered by e2e." in page
    assert "needed ≥ 90 %" in page and "(now ≥ 95 %)" in page
    assert "since deleted" in page  # the accessibility gate, deleted since
    evidence = client_as(stakeholder).get(f"/releases/{release.pk}/gates/{coverage.pk}/evidence/")
    text = evidence.content.decode()
    assert evidence.status_code == 200
    assert "As judged on" in text and "The gate has since been made inactive." in text
    assert "83.4 %" in text


def test_a_release_in_flight_shows_its_gates_as_they_are(
    client_as, project, manager, approver, make_user
):
    """Its gates still decide its next move: no recorded judgement replaces them."""
    release = _judged_release(project, manager, approver, make_user)
    page = client_as(approver).get(f"/releases/{release.pk}/gates/").content.decode()
    assert "As judged on" not in page


def test_a_gate_change_is_recorded_on_each_release_in_flight(
    client_as, project, manager, approver, admin_user, make_user
):
    staging = _judged_release(project, manager, approver, make_user)
    _move(staging, ReleaseStatus.STAGING)
    released = ReleaseFactory(
        project=project, release_manager=manager, version="0.9.0", status="released"
    )
    planned = ReleaseFactory(
        project=project, release_manager=manager, version="1.1.0", status="planned"
    )
    coverage = _gate(project, "coverage")
    gate_save(
        actor=admin_user,
        project=project,
        gate=coverage,
        key="coverage",
        name=coverage.name,
        kind="automated",
        comparator="gte",
        threshold=90.0,
        unit="%",
        active=False,
    )
    summary = "admin-user made gate “Test coverage” inactive"
    for release in (staging, planned):
        event = AuditEvent.objects.get(object_id=str(release.pk), action="gate.made_inactive")
        assert event.after["summary"] == summary and event.actor == admin_user
    assert not AuditEvent.objects.filter(
        object_id=str(released.pk), action__startswith="gate.made"
    ).exists()
    page = client_as(approver).get(f"/releases/{staging.pk}/").content.decode()
    assert "made gate “Test coverage” inactive" in page  # in words, in its audit trail

    # A threshold change of an active gate says what changed; its order changes nothing.
    docs = _gate(project, "documentation")
    gate_save(
        actor=admin_user,
        project=project,
        gate=docs,
        key=docs.key,
        name=docs.name,
        kind="manual",
        required_approvals=2,
        approver_role="approver",
    )
    event = AuditEvent.objects.get(object_id=str(staging.pk), action="gate.rule_changed")
    assert event.after["summary"] == (
        "admin-user changed gate “Documentation complete”: "
        "1 approval(s) from approver → 2 approval(s) from approver"
    )
    before = AuditEvent.objects.count()
    gate_save(
        actor=admin_user,
        project=project,
        gate=docs,
        key=docs.key,
        name=docs.name,
        kind="manual",
        required_approvals=2,
        approver_role="approver",
        order=99,
    )
    assert AuditEvent.objects.count() == before + 1  # the gate's own audit event only


def test_recorded_gates_and_the_gates_page_make_constant_queries(
    client_as, project, manager, approver, admin_user, make_user, django_assert_max_num_queries
):
    release = _judged_release(project, manager, approver, make_user)
    _move(release, ReleaseStatus.STAGING, ReleaseStatus.PRODUCTION, ReleaseStatus.RELEASED)
    client = client_as(approver)
    client.get(f"/releases/{release.pk}/gates/")  # the session and roles, read once
    counts = {"release": [], "gates": []}
    for extra in (0, 6):
        for n in range(extra):
            gate_save(
                actor=admin_user,
                project=project,
                key=f"extra-{n}",
                name=f"Extra {n}",
                kind="automated",
                comparator="gte",
                threshold=1.0,
            )
        # More recorded gates: the same release judged again (as a later move would).
        if extra:
            GateJudgement.objects.bulk_create(
                GateJudgement(
                    release=release,
                    phase="released",
                    judged_at=GateJudgement.objects.latest("judged_at").judged_at,
                    order=100 + n,
                    gate_key=f"gone-{n}",
                    gate_name=f"Gone {n}",
                    kind="automated",
                    status="passed",
                    value=1.0,
                )
                for n in range(extra)
            )
        for name, url in (
            ("release", f"/releases/{release.pk}/gates/"),
            ("gates", f"/projects/{project.slug}/gates/"),
        ):
            with django_assert_max_num_queries(12) as captured:
                page = client.get(url).content.decode()
            counts[name].append(len(captured))
        assert page.count("Extra ") >= extra
    assert counts["release"][0] == counts["release"][1], counts
    assert counts["gates"][0] == counts["gates"][1], counts
