"""Reads: a release's checklists with their progress, its gates with their status and
evidence, what blocks a phase, and what waits for an approver.

Each reads a constant number of queries whatever the number of items, results or
approvals: rows are fetched per release in one query each and grouped in Python.
"""

from collections import defaultdict
from dataclasses import dataclass, field

from django.shortcuts import get_object_or_404

from checklists.models import (
    RESULTS_DONE,
    Approval,
    Checklist,
    ChecklistItem,
    Decision,
    GateKind,
    GateResult,
    GateStatus,
    ItemKind,
    ItemResult,
    Phase,
    QualityGate,
    Waiver,
)
from liftoff.roles import Role, has_role, user_roles
from releases.policy import memoized

# What must be complete before a release moves to a phase: the checklists of these
# phases (required items) and every active gate.
PHASES_REQUIRED_BEFORE = {
    "ready": [Phase.PREPARATION, Phase.VALIDATION, Phase.SECURITY],
    "production": [Phase.PREPARATION, Phase.VALIDATION, Phase.SECURITY, Phase.STAGING],
}
# Releases that still need sign-offs (the approvals page, the navigation count).
OPEN_FOR_APPROVAL = ["preparing", "validating", "ready", "staging", "production"]


# --- Checklists -------------------------------------------------------------------------


@dataclass
class ChecklistView:
    checklist: Checklist
    items: list = field(default_factory=list)

    @property
    def done(self) -> int:
        return sum(1 for i in self.items if i.is_complete)

    @property
    def total(self) -> int:
        return len(self.items)

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 100

    @property
    def version(self) -> int:
        """When an item last changed (µs): item changes of a release are serialised on
        its row, so a later state always has a higher version. The page uses it to keep a
        late answer from replacing a newer one."""
        times = [i.updated_at for i in self.items if i.updated_at]
        return int(max(times).timestamp() * 1_000_000) if times else 0


@dataclass
class PhaseView:
    phase: Phase
    checklists: list = field(default_factory=list)

    @property
    def done(self) -> int:
        return sum(c.done for c in self.checklists)

    @property
    def total(self) -> int:
        return sum(c.total for c in self.checklists)

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 100


def release_checklists(*, release) -> list[PhaseView]:
    """The release's checklists grouped by phase, in phase order (two queries, once per
    page inside a policy snapshot)."""
    return memoized(("checklists", release.pk), lambda: _release_checklists(release))


def _release_checklists(release) -> list[PhaseView]:
    checklists = list(Checklist.objects.filter(release=release))
    items = ChecklistItem.objects.filter(release=release).select_related("updated_by")
    by_checklist = defaultdict(list)
    for item in items:
        by_checklist[item.checklist_id].append(item)
    phases = {p: PhaseView(phase=Phase(p)) for p in Phase.values}
    for checklist in checklists:
        phases[checklist.phase].checklists.append(
            ChecklistView(checklist=checklist, items=by_checklist[checklist.pk])
        )
    return [view for view in phases.values() if view.checklists]


def checklist_item_get(*, item_id: int) -> ChecklistItem:
    return get_object_or_404(
        ChecklistItem.objects.select_related("checklist", "release", "release__project"),
        pk=item_id,
    )


def checklist_get(*, checklist_id: int) -> Checklist:
    return get_object_or_404(Checklist.objects.select_related("release"), pk=checklist_id)


# --- Gates ------------------------------------------------------------------------------


def approval_is_current(approval: Approval, release) -> bool:
    """An approval counts for the head it was given for (or for any, if the project keeps
    approvals across commits)."""
    return release.project.keep_approvals_on_new_commits or approval.commit == release.head_commit


def result_is_current(result: GateResult, release) -> bool:
    return not result.commit or not release.head_commit or result.commit == release.head_commit


@dataclass
class GateView:
    gate: QualityGate
    status: str = GateStatus.PENDING
    result: GateResult | None = None
    # A result measured on an older head, shown but not counted.
    older_result: GateResult | None = None
    approvals: list = field(default_factory=list)
    rejections: list = field(default_factory=list)
    stale: list = field(default_factory=list)
    waiver: Waiver | None = None

    @property
    def status_label(self) -> str:
        return GateStatus(self.status).label

    @property
    def value(self):
        return self.result.value if self.result else None

    @property
    def approvals_count(self) -> int:
        return len(self.approvals)

    @property
    def required(self) -> int:
        return self.gate.required_approvals

    @property
    def approvals_label(self) -> str:
        return f"{self.approvals_count} of {self.required}"

    def decided_by(self, user) -> Approval | None:
        return next((a for a in self.approvals + self.rejections if a.approver_id == user.pk), None)

    @property
    def blocker(self) -> str:
        """What a refusal says about this gate."""
        gate = self.gate
        if self.status == GateStatus.PENDING:
            if gate.kind == GateKind.MANUAL:
                return f"Gate “{gate.name}” needs approval ({self.approvals_label})."
            if self.older_result is not None:
                return f"Gate “{gate.name}” was measured on an older commit: validate again."
            return f"Gate “{gate.name}” is not measured yet: run the validation."
        if self.status == GateStatus.NOT_MEASURED:
            reason = self.result.reason if self.result else ""
            return f"Gate “{gate.name}” could not be measured ({reason})"
        if gate.kind == GateKind.MANUAL:
            return f"Gate “{gate.name}” was rejected by {self.rejections[0].approver}."
        if self.value is None:  # The report was missing or malformed.
            return f"Gate “{gate.name}” failed: {self.result.reason}"
        return f"Gate “{gate.name}” failed: {self.value:g}, needs {gate.threshold_label}."


def release_gates(*, release, gates=None) -> list[GateView]:
    """Each active gate of the release's project with its status (four queries, once per
    page inside a policy snapshot)."""
    if gates is None:
        return memoized(("gates", release.pk), lambda: _release_gates(release, None))
    return _release_gates(release, gates)


def _release_gates(release, gates) -> list[GateView]:
    if gates is None:
        gates = list(QualityGate.objects.filter(project_id=release.project_id, active=True))
    ids = [g.pk for g in gates]
    return _views_from_rows(
        release,
        gates,
        GateResult.objects.filter(release=release, gate_id__in=ids).order_by(
            "gate_id", "-measured_at", "-id"
        ),
        Approval.objects.filter(
            release=release, gate_id__in=ids, superseded_at__isnull=True
        ).select_related("approver"),
        Waiver.objects.filter(
            release=release, gate_id__in=ids, revoked_at__isnull=True
        ).select_related("approver"),
    )


def _gate_status(view: GateView) -> str:
    if view.gate.kind == GateKind.MANUAL:
        if view.rejections:
            return GateStatus.FAILED
        if view.approvals_count >= view.required:
            return GateStatus.PASSED
        return GateStatus.PENDING
    if view.result is None:
        return GateStatus.PENDING
    if view.result.status in {GateStatus.FAILED, GateStatus.NOT_MEASURED} and view.waiver:
        return GateStatus.WAIVED
    return view.result.status


def gate_get(*, release, key: str) -> QualityGate:
    return get_object_or_404(QualityGate, project_id=release.project_id, key=key)


def gate_get_by_id(*, gate_id: int) -> QualityGate:
    return get_object_or_404(QualityGate.objects.select_related("project"), pk=gate_id)


# --- Enforcement ------------------------------------------------------------------------


def checklist_blockers(release, to: str) -> list[str]:
    """The release policy's checklist blocker: open required items of the phases before
    `to`, and failed or blocked scenarios."""
    phases = PHASES_REQUIRED_BEFORE.get(to)
    if not phases:
        return []
    missing = []
    for phase in release_checklists(release=release):
        if phase.phase not in phases:
            continue
        for view in phase.checklists:
            for item in view.items:
                if not item.required or item.is_complete:
                    continue
                where = f"{view.checklist.name}: “{item.title}”"
                if item.kind == ItemKind.SCENARIO and item.result in {
                    ItemResult.FAIL,
                    ItemResult.BLOCKED,
                }:
                    verdict = "failed" if item.result == ItemResult.FAIL else "is blocked"
                    missing.append(f"{where} {verdict}.")
                elif item.kind == ItemKind.SCENARIO:
                    missing.append(f"{where} has no test result.")
                else:
                    missing.append(f"{where} is not ticked.")
    return missing


def gate_blockers(release, to: str) -> list[str]:
    """The release policy's gate blocker: every active gate not passed or waived."""
    if to not in PHASES_REQUIRED_BEFORE:
        return []
    return [
        view.blocker
        for view in release_gates(release=release)
        if view.status not in {GateStatus.PASSED, GateStatus.WAIVED}
    ]


def gate_check_lines(release) -> list[str]:
    """`manage.py release check`: each gate's status, with its value or approvals."""
    lines = []
    for view in release_gates(release=release):
        value = f" {view.value:g}" if view.value is not None else ""
        extra = f" ({view.approvals_label})" if not view.gate.is_automated else value
        lines.append(f"{view.status:<13} {view.gate.name}{extra}")
    return lines


# --- Approvals waiting ------------------------------------------------------------------


@dataclass
class Waiting:
    release: object
    view: GateView


def approvals_waiting(*, user) -> list[Waiting]:
    """Manual gates this user may sign and has not, on releases still in flight, and
    failed automated gates they may waive: the approvals page (five queries)."""
    from releases.models import Release

    roles = user_roles(user)
    if not roles & {Role.APPROVER, Role.ADMIN, Role.RELEASE_MANAGER}:
        return []
    releases = list(
        Release.objects.filter(status__in=OPEN_FOR_APPROVAL)
        .exclude(release_manager=user)
        .select_related("project", "release_manager")
        .order_by("target_date", "created_at")
    )
    if not releases:
        return []
    gates_by_project = defaultdict(list)
    for gate in QualityGate.objects.filter(
        project_id__in={r.project_id for r in releases}, active=True
    ):
        gates_by_project[gate.project_id].append(gate)
    ids = [r.pk for r in releases]
    results = defaultdict(list)
    for result in GateResult.objects.filter(release_id__in=ids).order_by(
        "gate_id", "-measured_at", "-id"
    ):
        results[result.release_id].append(result)
    approvals = defaultdict(list)
    for approval in Approval.objects.filter(
        release_id__in=ids, superseded_at__isnull=True
    ).select_related("approver"):
        approvals[approval.release_id].append(approval)
    waivers = defaultdict(list)
    for waiver in Waiver.objects.filter(release_id__in=ids, revoked_at__isnull=True):
        waivers[waiver.release_id].append(waiver)
    waiting = []
    for release in releases:
        for view in _views_from_rows(
            release,
            gates_by_project[release.project_id],
            results[release.pk],
            approvals[release.pk],
            waivers[release.pk],
        ):
            gate = view.gate
            if not has_role(user, {Role(gate.approver_role)}):
                continue
            if gate.kind == GateKind.MANUAL:
                if view.status == GateStatus.PENDING and view.decided_by(user) is None:
                    waiting.append(Waiting(release=release, view=view))
            elif view.status in {GateStatus.FAILED, GateStatus.NOT_MEASURED}:
                waiting.append(Waiting(release=release, view=view))
    return waiting


def _views_from_rows(release, gates, results, approvals, waivers) -> list[GateView]:
    views = {g.pk: GateView(gate=g) for g in gates}
    for result in results:
        view = views.get(result.gate_id)
        if view is None:
            continue
        if result_is_current(result, release):
            view.result = view.result or result
        elif view.result is None and view.older_result is None:
            view.older_result = result
    for approval in approvals:
        view = views.get(approval.gate_id)
        if view is None:
            continue
        if not approval_is_current(approval, release):
            view.stale.append(approval)
        elif approval.decision == Decision.APPROVE:
            view.approvals.append(approval)
        else:
            view.rejections.append(approval)
    for waiver in waivers:
        if waiver.gate_id in views and approval_is_current(waiver, release):
            views[waiver.gate_id].waiver = waiver
    for view in views.values():
        view.status = _gate_status(view)
    return list(views.values())


def approvals_waiting_count(*, user, waiting: list[Waiting] | None = None) -> int:
    """The number in the navigation for approvers: sign-offs that wait. A page that has
    read `approvals_waiting` already passes it in (no second read)."""
    if waiting is None:
        waiting = approvals_waiting(user=user)
    return sum(1 for w in waiting if w.view.gate.kind == GateKind.MANUAL)


def releases_checklist_progress(*, release_ids) -> dict[int, tuple[int, int]]:
    """(done, total) of every listed release's checklist items, in one query (the
    approvals page shows it beside each release)."""
    from django.db.models import Count, Q

    complete = Q(kind=ItemKind.CHECK, done=True) | Q(
        kind=ItemKind.SCENARIO, result__in=list(RESULTS_DONE)
    )
    rows = (
        ChecklistItem.objects.filter(release_id__in=list(release_ids))
        .values("release_id")
        .annotate(total=Count("id"), done=Count("id", filter=complete))
    )
    return {row["release_id"]: (row["done"], row["total"]) for row in rows}


# --- Project configuration --------------------------------------------------------------


def project_templates(*, project):
    return list(project.checklist_templates.prefetch_related("items"))


def project_gates(*, project):
    return list(project.quality_gates.all())


def project_validation_commands(*, project):
    return list(project.validation_commands.select_related("gate"))
