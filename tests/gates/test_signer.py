"""Who may sign, approve or waive a gate: one rule (`gate_signer_problem`), asked by the
service, the release page's buttons and the approvals inbox alike."""

import re

import pytest

from gates.models import Approval, QualityGate
from gates.selectors import approvals_waiting, gate_signer_problem
from gates.services import approval_record
from liftoff.errors import Conflict, NotAllowed
from liftoff.roles import Role
from releases.models import ReleaseStatus
from releases.policy import project_created
from tests.factories import ProjectFactory, ReleaseFactory

pytestmark = pytest.mark.django_db

HEAD = "c" * 40


@pytest.fixture
def project():
    project = ProjectFactory(slug="sign", name="Sign")
    project_created(project=project, actor=None)
    return project


def _release(project, release_manager, status=ReleaseStatus.VALIDATING):
    return ReleaseFactory(
        project=project,
        release_manager=release_manager,
        version="2.0.0",
        codename="Vega",
        status=status,
        head_commit=HEAD,
    )


def _gate(project, key="security-review", role=None) -> QualityGate:
    gate = QualityGate.objects.get(project=project, key=key)
    if role is not None:
        # Written past the service (which refuses unknown roles): data from before that
        # check, or a role renamed since.
        QualityGate.objects.filter(pk=gate.pk).update(approver_role=role)
        gate.refresh_from_db()
    return gate


def _approve_url(release, gate) -> str:
    return f"/releases/{release.pk}/gates/{gate.pk}/approve/"


def _waiting_gates(user) -> set[int]:
    return {w.view.gate.pk for w in approvals_waiting(user=user)}


# --- A gate naming an unknown role is signed by admins only -----------------------------


def test_an_unknown_role_is_refused_by_the_service_to_approvers(project, manager, approver):
    release = _release(project, manager)
    gate = _gate(project, role="qa-lead")
    with pytest.raises(NotAllowed, match=re.escape("Only an admin may approve “Security review”.")):
        approval_record(release=release, gate=gate, actor=approver, decision="approve")
    assert not Approval.objects.exists()


def test_an_unknown_role_is_signed_by_an_admin(project, manager, admin_user):
    release = _release(project, manager)
    gate = _gate(project, role="qa-lead")
    approval_record(release=release, gate=gate, actor=admin_user, decision="approve")
    assert Approval.objects.filter(gate=gate, approver=admin_user).exists()


def test_an_unknown_role_shows_no_buttons_to_approvers(
    client_as, project, manager, approver, admin_user
):
    release = _release(project, manager)
    gate = _gate(project, role="qa-lead")
    page = client_as(approver).get(f"/releases/{release.pk}/")
    assert page.status_code == 200
    assert _approve_url(release, gate) not in page.content.decode()
    assert (
        _approve_url(release, gate)
        in client_as(admin_user).get(f"/releases/{release.pk}/").content.decode()
    )


def test_an_unknown_role_is_not_in_the_approvers_inbox_and_nothing_crashes(
    client_as, project, manager, approver, admin_user
):
    release = _release(project, manager)
    gate = _gate(project, role="qa-lead")
    assert gate.pk not in _waiting_gates(approver)
    assert gate.pk in _waiting_gates(admin_user)
    assert client_as(approver).get("/approvals/").status_code == 200
    assert client_as(approver).get("/").status_code == 200
    page = client_as(admin_user).get("/approvals/").content.decode()
    assert _approve_url(release, gate) in page


# --- The guards ---------------------------------------------------------------------------


def test_the_release_manager_of_the_release_never_signs_even_as_admin(
    client_as, project, make_user
):
    boss = make_user(Role.ADMIN, "boss")
    release = _release(project, boss)
    gate = _gate(project)
    problem = gate_signer_problem(user=boss, release=release, gate=gate)
    assert problem == "You are the release manager of v2.0.0: someone else must sign its gates."
    with pytest.raises(NotAllowed, match="someone else must approve its gates"):
        approval_record(release=release, gate=gate, actor=boss, decision="approve")
    assert (
        _approve_url(release, gate)
        not in client_as(boss).get(f"/releases/{release.pk}/").content.decode()
    )
    assert gate.pk not in _waiting_gates(boss)


def test_only_the_gates_role_signs(client_as, project, manager, approver, make_user):
    release = _release(project, manager)
    gate = _gate(project, role=Role.RELEASE_MANAGER)
    other_manager = make_user(Role.RELEASE_MANAGER, "other-manager")
    assert gate_signer_problem(user=approver, release=release, gate=gate) == (
        "Only a release manager may sign “Security review”."
    )
    with pytest.raises(NotAllowed, match="Only a release manager may approve"):
        approval_record(release=release, gate=gate, actor=approver, decision="approve")
    assert gate.pk not in _waiting_gates(approver)
    assert (
        _approve_url(release, gate)
        not in client_as(approver).get(f"/releases/{release.pk}/").content.decode()
    )
    assert gate_signer_problem(user=other_manager, release=release, gate=gate) is None
    assert gate.pk in _waiting_gates(other_manager)
    approval_record(release=release, gate=gate, actor=other_manager, decision="approve")


def test_a_closed_release_refuses_sign_offs(client_as, project, manager, approver):
    release = _release(project, manager, status=ReleaseStatus.CANCELLED)
    gate = _gate(project)
    assert gate_signer_problem(user=approver, release=release, gate=gate) == (
        "v2.0.0 is cancelled: its checklists and gates are closed."
    )
    with pytest.raises(Conflict, match="its checklists and gates are closed"):
        approval_record(release=release, gate=gate, actor=approver, decision="approve")
    assert (
        _approve_url(release, gate)
        not in client_as(approver).get(f"/releases/{release.pk}/").content.decode()
    )
    assert gate.pk not in _waiting_gates(approver)
    assert not Approval.objects.exists()
