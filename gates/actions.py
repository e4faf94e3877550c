"""What gates offer on the release page's action bar (releases.sections.register_actions)."""

from django.urls import reverse

from gates.models import GateStatus, ValidationCommand
from gates.selectors import release_gates
from gates.services import VALIDATABLE
from liftoff.roles import Role, has_role
from releases.models import ReleaseStatus
from releases.sections import PageAction


def gate_actions(*, user, release) -> list[PageAction]:
    """Validate, to a release manager, once the release is prepared and until it reaches
    production. It is the next step right after a successful Prepare, and while an
    automated gate is pending (no result for the current head, and no waiver)."""
    if not has_role(user, {Role.RELEASE_MANAGER}) or release.status not in VALIDATABLE:
        return []
    if not release.prepared_at or not release.head_commit:
        return []
    if not ValidationCommand.objects.filter(project_id=release.project_id, active=True).exists():
        return []  # release_validate would refuse: nothing to run
    if release.status == ReleaseStatus.PREPARING:
        next_step = True
    elif release.status == ReleaseStatus.VALIDATING:
        # A gate waived before anything measured it has no result either, but waits for
        # nothing: only a pending one makes Validate the next step.
        next_step = any(
            view.gate.is_automated and view.status == GateStatus.PENDING
            for view in release_gates(release=release)
        )
    else:
        next_step = False
    return [
        PageAction(
            name="validate",
            label="Validate",
            url=reverse("gates:release-validate", args=[release.pk]),
            next_step=next_step,
            order=20,
        )
    ]
