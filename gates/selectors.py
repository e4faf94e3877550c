"""Reads of quality gates: a release's gates with their status and evidence, what they
block, what waits for an approver, and the one rule of who may sign a gate.

Each reads a constant number of queries whatever the number of results or approvals:
rows are fetched per release in one query each and grouped in Python.
"""

from collections import defaultdict
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Subquery
from django.shortcuts import get_object_or_404

from gates.approvals_sections import approvals_sections_count, approvals_sections_rows
from gates.licences import DEFAULT_ALLOWED
from gates.models import (
    Approval,
    Decision,
    GateJudgement,
    GateKind,
    GateResult,
    GateResultSource,
    GateStatus,
    LicencePolicy,
    QualityGate,
    ValidationCommand,
    Waiver,
)
from liftoff.kept import Rows, kept_value, rows_version
from liftoff.roles import ROLE_LABELS, Role, has_role, user_roles
from releases.models import RELEASE_IN_FLIGHT, Project, Release, ReleaseStatus
from releases.policy import (
    MUST_ACT_APPROVER,
    MUST_ACT_NOBODY,
    MUST_ACT_RELEASE_MANAGER,
    Blocker,
    memoized_many,
)
from releases.selectors import release_closed_reason

# The moves every active gate must be passed (or waived) for.
GATES_REQUIRED_BEFORE = frozenset({ReleaseStatus.READY, ReleaseStatus.PRODUCTION})
# Releases whose sign-offs are open: approvals are requested when a release enters
# validation (`gates.services.approvals_request`), and only these count as work (the
# navigation's count, the approvals page, the dashboard). Before that (planned,
# preparing) a manual gate is "upcoming"; after it (released, closed) nothing waits.
OPEN_FOR_APPROVAL = [
    ReleaseStatus.VALIDATING,
    ReleaseStatus.READY,
    ReleaseStatus.STAGING,
    ReleaseStatus.PRODUCTION,
]
# Before validation: a manual gate is shown as upcoming, not as work.
APPROVALS_UPCOMING = frozenset({ReleaseStatus.PLANNED, ReleaseStatus.PREPARING})
# Automated gate statuses a signer may waive: failed or not measured (a measurement said
# no), and pending (nothing measured it on this head: a check that never reports is what
# a waiver is for, as GitHub's bypass of a required status check is).
WAIVABLE = frozenset({GateStatus.FAILED, GateStatus.NOT_MEASURED, GateStatus.PENDING})
# The waivable statuses that ask a signer for a decision (the approvals inbox): what a
# measurement refused. A pending gate waits for its measurement (a validation run, a CI
# report) first; it may be waived from the release's gates, but is not listed as work.
WAIVER_ASKED = frozenset({GateStatus.FAILED, GateStatus.NOT_MEASURED})
# The moves a release is judged on: its gates are recorded as they stand then
# (`gates.services.gate_judgement_record`), from leaving validation to shipping.
JUDGED_ON = frozenset(
    {ReleaseStatus.READY, ReleaseStatus.STAGING, ReleaseStatus.PRODUCTION, ReleaseStatus.RELEASED}
)
# The roles a gate may name as its signer (`QualityGate.approver_role`).
SIGNER_ROLES = (Role.APPROVER, Role.RELEASE_MANAGER, Role.ADMIN)


# --- Who signs a gate -------------------------------------------------------------------


def gate_signer_role(gate: QualityGate) -> Role:
    """The role that signs `gate`. A gate naming a role that is not a signer role (a
    stakeholder, a role since renamed, a typo in old data) is signed by admins only:
    never by more people than its admin meant."""
    return Role(gate.approver_role) if gate.approver_role in SIGNER_ROLES else Role.ADMIN


def gate_signer_problem(*, user, release, gate: QualityGate, what: str = "sign") -> str | None:
    """Why `user` may not sign `gate` of `release` (approve, reject, waive or revoke a
    waiver: `what` names it in the answer), or None when they may. The one rule: the
    service refuses with this reason, the release and evidence pages show no buttons,
    and the approvals inbox does not list the gate.

    1. the user has the gate's signer role (`gate_signer_role`; admins have every role);
    2. the release manager of the release never signs its gates;
    3. a closed (cancelled, rolled back) release takes no sign-offs.
    """
    role = gate_signer_role(gate)
    if not has_role(user, {role}):
        article = "an" if role in {Role.APPROVER, Role.ADMIN} else "a"
        return f"Only {article} {ROLE_LABELS[role].lower()} may {what} “{gate.name}”."
    if release.release_manager_id and release.release_manager_id == user.pk:
        return (
            f"You are the release manager of v{release.version}: someone else must {what} "
            "its gates."
        )
    return release_closed_reason(release)


def may_sign(*, user, release, gate: QualityGate) -> bool:
    return gate_signer_problem(user=user, release=release, gate=gate) is None


# --- A release's gates ------------------------------------------------------------------


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
            # Waivable too (`WAIVABLE`): a check that never reports must not hold the
            # release for ever, and the approver reading this learns they may act.
            if self.older_result is not None:
                return (
                    f"Gate “{gate.name}” was measured on an older commit: validate again, "
                    "or an approver may waive it."
                )
            return (
                f"Gate “{gate.name}” is not measured yet: run the validation, or an approver "
                "may waive it."
            )
        if self.status == GateStatus.NOT_MEASURED:
            reason = self.result.reason if self.result else ""
            return f"Gate “{gate.name}” could not be measured ({reason})"
        if gate.kind == GateKind.MANUAL:
            return f"Gate “{gate.name}” was rejected by {self.rejections[0].approver}."
        if self.value is None:  # The report was missing or malformed.
            return f"Gate “{gate.name}” failed: {self.result.reason}"
        return f"Gate “{gate.name}” failed: {self.value:g}, needs {gate.threshold_label}."

    @property
    def must_act(self) -> str:
        """Who must act on this gate's blocker: an approver signs a manual gate; nobody can
        measure one that could not be measured (an approver may waive it); the release
        manager validates (again) or fixes what failed."""
        if self.gate.kind == GateKind.MANUAL:
            return MUST_ACT_APPROVER
        if self.status == GateStatus.NOT_MEASURED:
            return MUST_ACT_NOBODY
        return MUST_ACT_RELEASE_MANAGER


def waiver_problem(*, release, view: GateView) -> str | None:
    """Why the automated gate of `view` cannot be waived as it stands, whoever asks (who
    may is `gate_signer_problem`), or None when it can: the service refuses with it and
    the pages offer Waive only where it is None.

    1. a gate already waived, or one that passed, is not waived (`WAIVABLE`);
    2. a pending gate is waived once sign-offs are open (validation and later): before,
       nothing has tried to measure it yet, as a manual gate's sign-off is "upcoming".
    """
    gate = view.gate
    if not gate.is_automated:
        return "Manual gates are approved, not waived."
    if view.status == GateStatus.WAIVED:
        return f"“{gate.name}” is waived already."
    if view.status not in WAIVABLE:
        return (
            f"“{gate.name}” is {view.status_label.lower()}: only a failed, unmeasured or "
            "pending gate is waived."
        )
    if view.status == GateStatus.PENDING and release.status in APPROVALS_UPCOMING:
        return (
            f"“{gate.name}” is not measured yet and v{release.version} is not in validation: "
            "a pending gate may be waived once the release is in validation."
        )
    return None


def release_gates(*, release, gates=None, reports: bool = False) -> list[GateView]:
    """Each active gate of the release's project with its status (four queries, once per
    page inside a policy snapshot). A result's report (up to 200,000 characters each) is
    read only for a page that shows it (`reports=True`: the evidence page)."""
    if gates is None and not reports:
        return releases_gates(releases=[release])[release.pk]
    return _release_gates(release, gates, reports)


def releases_gates(*, releases) -> dict[int, list[GateView]]:
    """`release_gates` of each release (without reports), read together: four queries for
    all of them (once per page inside a policy snapshot, shared with `release_gates`)."""
    by_pk = {release.pk: release for release in releases}
    return memoized_many("gates", by_pk, lambda ids: _releases_gates([by_pk[pk] for pk in ids]))


def _releases_gates(releases) -> dict[int, list[GateView]]:
    gates_by_project = defaultdict(list)
    for gate in QualityGate.objects.filter(
        project_id__in={r.project_id for r in releases}, active=True
    ):
        gates_by_project[gate.project_id].append(gate)
    gate_ids = [g.pk for gates in gates_by_project.values() for g in gates]
    ids = [r.pk for r in releases]
    results, approvals, waivers = defaultdict(list), defaultdict(list), defaultdict(list)
    if gate_ids:
        for result in _results(release_id__in=ids, gate_id__in=gate_ids):
            results[result.release_id].append(result)
        for approval in Approval.objects.filter(
            release_id__in=ids, gate_id__in=gate_ids, superseded_at__isnull=True
        ).select_related("approver"):
            approvals[approval.release_id].append(approval)
        for waiver in Waiver.objects.filter(
            release_id__in=ids, gate_id__in=gate_ids, revoked_at__isnull=True
        ).select_related("approver"):
            waivers[waiver.release_id].append(waiver)
    return {
        release.pk: _views_from_rows(
            release,
            gates_by_project[release.project_id],
            results[release.pk],
            approvals[release.pk],
            waivers[release.pk],
        )
        for release in releases
    }


def _results(**filters):
    """Gate results, newest first per gate, without their reports (statuses and values
    are what pages, blockers and the inbox need)."""
    return (
        GateResult.objects.filter(**filters)
        .defer("report")
        .order_by("gate_id", "-measured_at", "-id")
    )


def _release_gates(release, gates, reports: bool) -> list[GateView]:
    if gates is None:
        gates = list(QualityGate.objects.filter(project_id=release.project_id, active=True))
    ids = [g.pk for g in gates]
    results = _results(release=release, gate_id__in=ids)
    return _views_from_rows(
        release,
        gates,
        results.defer(None) if reports else results,
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
        # Nothing measured it on this head; a waiver given for this head lets it pass.
        return GateStatus.WAIVED if view.waiver else GateStatus.PENDING
    if view.result.status in {GateStatus.FAILED, GateStatus.NOT_MEASURED} and view.waiver:
        return GateStatus.WAIVED
    return view.result.status


def gate_get(*, release, key: str) -> QualityGate:
    return get_object_or_404(QualityGate, project_id=release.project_id, key=key)


def gate_result_get(*, release, gate: QualityGate, result_id: int) -> GateResult:
    """One result of `gate` for `release` (404 for another release's or gate's)."""
    return get_object_or_404(GateResult, pk=result_id, release_id=release.pk, gate_id=gate.pk)


def gate_get_by_id(*, gate_id: int) -> QualityGate:
    return get_object_or_404(QualityGate.objects.select_related("project"), pk=gate_id)


# --- Enforcement ---------------------------------------------------------------------


def gate_blockers(release, to: str) -> list[Blocker]:
    """The release policy's gate blocker for one release: the batch of one."""
    return gates_blockers([release], {release.pk: to})[release.pk]


def gates_blockers(releases, to) -> dict[int, list[Blocker]]:
    """The release policy's gate blocker (its batch form: `to` maps each release to its
    move): every active gate not passed or waived, for the moves gates guard. Four
    queries for all the releases asked about such a move."""
    asked = [r for r in releases if to[r.pk] in GATES_REQUIRED_BEFORE]
    views = releases_gates(releases=asked) if asked else {}
    return {
        release.pk: [
            Blocker(view.blocker, who=view.must_act, anchor=f"gate-{release.pk}-{view.gate.pk}")
            for view in views.get(release.pk, [])
            if view.status not in {GateStatus.PASSED, GateStatus.WAIVED}
        ]
        for release in releases
    }


def gates_blocker_rows(releases) -> list[Rows]:
    """What the gate blocker reads for `releases` (the policy's `rows`): their projects'
    gates, their results, sign-offs (and who gave them: a rejection names them) and
    waivers."""
    ids = [release.pk for release in releases]
    projects = sorted({release.project_id for release in releases})
    signers = "id IN (SELECT approver_id FROM checklists_approval WHERE release_id = ANY(%s))"
    return [
        Rows(QualityGate, "project_id = ANY(%s)", (projects,)),
        Rows(GateResult, "release_id = ANY(%s)", (ids,)),
        Rows(Approval, "release_id = ANY(%s)", (ids,)),
        Rows(Waiver, "release_id = ANY(%s)", (ids,)),
        Rows(get_user_model(), signers, (ids,)),
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


# Who may have anything waiting: a gate names approvers, release managers or admins as
# its signers (`SIGNER_ROLES`). Anyone else reads no rows for the count.
_SIGNERS = frozenset(SIGNER_ROLES)


def approvals_waiting(*, user, for_count: bool = False) -> list[Waiting]:
    """What waits for `user`: the one definition behind the navigation's count, the
    approvals page and the dashboard, so that all three show the same number.

    On releases whose sign-offs are open (`OPEN_FOR_APPROVAL`: validating and later),
    among gates `user` may sign (`gate_signer_problem`):
    1. manual gates still pending that `user` has not decided on;
    2. automated gates whose current result failed or could not be measured
       (`WAIVER_ASKED`) and that no live waiver lets pass (the signer may waive them; the
       release is blocked until someone does, or the release manager fixes it). A pending
       automated gate waits for its measurement first: waivable, but not listed.

    Four queries whatever the number of releases (releases, active gates, live approvals,
    results with the commit of each one's live waiver), one when nothing is in flight.
    `for_count` (the navigation, on every page a signer opens) reads fewer columns; what
    counts is decided by the same code."""
    if not user_roles(user) & _SIGNERS:
        return []
    releases = Release.objects.filter(status__in=OPEN_FOR_APPROVAL).exclude(release_manager=user)
    if for_count:
        # Only what the signer rule and the "current head" rule read.
        releases = releases.select_related("project").only(
            "project__keep_approvals_on_new_commits",
            "version",
            "status",
            "head_commit",
            "release_manager_id",
        )
    else:
        releases = releases.select_related("project", "release_manager")
    releases = list(releases)
    if not releases:
        return []
    gates_by_project = defaultdict(list)
    for gate in QualityGate.objects.filter(
        project_id__in={r.project_id for r in releases}, active=True
    ):
        gates_by_project[gate.project_id].append(gate)
    gates = [g for project_gates in gates_by_project.values() for g in project_gates]
    manual = [g.pk for g in gates if g.kind == GateKind.MANUAL]
    automated = [g.pk for g in gates if g.kind == GateKind.AUTOMATED]
    ids = [r.pk for r in releases]
    approvals, results, waivers = defaultdict(list), defaultdict(list), defaultdict(list)
    if manual:
        for approval in Approval.objects.filter(
            release_id__in=ids, gate_id__in=manual, superseded_at__isnull=True
        ).select_related("approver"):
            approvals[approval.release_id].append(approval)
    if automated:
        for result in _results_with_waiver(ids, automated, for_count):
            results[result.release_id].append(result)
            if result.waiver_commit is not None and not any(
                w.gate_id == result.gate_id for w in waivers[result.release_id]
            ):
                # Only its commit decides whether the waiver counts; a listed gate never
                # has a counting waiver (it would be waived), so nothing shows this row.
                # A waived gate with no result at all is not seen here: it would be
                # pending without its waiver, and a pending gate is not listed either.
                waivers[result.release_id].append(
                    Waiver(
                        release_id=result.release_id,
                        gate_id=result.gate_id,
                        commit=result.waiver_commit,
                    )
                )
    waiting = []
    for release in releases:
        for view in _views_from_rows(
            release,
            gates_by_project[release.project_id],
            results[release.pk],
            approvals[release.pk],
            waivers[release.pk],
        ):
            if _waits_for(user, release, view):
                waiting.append(Waiting(release=release, view=view))
    return waiting


def _results_with_waiver(release_ids, gate_ids, for_count: bool):
    """The results of these releases' automated gates, each with the commit of its gate's
    live waiver (None without one): one query instead of a second one for waivers."""
    live_waiver = Waiver.objects.filter(
        release_id=OuterRef("release_id"), gate_id=OuterRef("gate_id"), revoked_at__isnull=True
    ).values("commit")[:1]
    results = _results(release_id__in=release_ids, gate_id__in=gate_ids).annotate(
        waiver_commit=Subquery(live_waiver)
    )
    if for_count:
        results = results.only("release_id", "gate_id", "status", "commit", "measured_at")
    return results


def _waits_for(user, release, view: GateView) -> bool:
    if not may_sign(user=user, release=release, gate=view.gate):
        return False
    if view.gate.kind == GateKind.MANUAL:
        return view.status == GateStatus.PENDING and view.decided_by(user) is None
    return view.status in WAIVER_ASKED


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
    """The number beside Approvals in the navigation: everything `approvals_waiting`
    lists, the same number the approvals page and the dashboard show. A page that has
    read `approvals_waiting` already passes it in (no second read)."""
    roles = user_roles(user)
    if not roles & _SIGNERS:
        return 0
    # What the apps above gates have waiting (deployments: emergency changes to review).
    if waiting is not None:
        return len(waiting) + approvals_sections_count(user=user)
    # Kept per process under the version of every row the count reads (liftoff.kept): the
    # navigation asks on every page a signer opens, and nothing changed on most of them.
    version = rows_version(approvals_waiting_rows())
    key = ("approvals-waiting", user.pk, tuple(sorted(roles)), version)
    return kept_value(
        key,
        lambda: (
            len(approvals_waiting(user=user, for_count=True)) + approvals_sections_count(user=user)
        ),
    )


def approvals_waiting_rows() -> list[Rows]:
    """Every row `approvals_waiting_count` reads (`approvals_waiting` and the sections of
    apps above gates): a page that shows what waits, kept under their digest, is true for
    as long as the count is."""
    return [*_waiting_rows(), *approvals_sections_rows()]


def _waiting_rows() -> list[Rows]:
    """The rows `approvals_waiting` reads: the releases open for sign-off, their projects'
    gates and the projects themselves, and their sign-offs, results and waivers."""
    states = ", ".join(["%s"] * len(OPEN_FOR_APPROVAL))
    # Only placeholders go into the SQL: the states are parameters.
    open_releases = f"SELECT id FROM releases_release WHERE status IN ({states})"  # noqa: S608
    their_projects = f"SELECT project_id FROM releases_release WHERE status IN ({states})"  # noqa: S608
    values = tuple(OPEN_FOR_APPROVAL)
    return [
        Rows(Release, f"status IN ({states})", values),
        Rows(Project, f"id IN ({their_projects})", values),
        Rows(QualityGate, f"project_id IN ({their_projects})", values),
        Rows(Approval, f"release_id IN ({open_releases})", values),
        Rows(GateResult, f"release_id IN ({open_releases})", values),
        Rows(Waiver, f"release_id IN ({open_releases})", values),
    ]


# --- What a release was judged by -------------------------------------------------------


@dataclass
class Judgement:
    phase: str
    judged_at: object
    rows: list[GateJudgement]

    @property
    def by_gate(self) -> dict[int, GateJudgement]:
        return {row.gate_id: row for row in self.rows if row.gate_id}


def release_judgement(*, release, reports: bool = False) -> Judgement | None:
    """The gates `release` was last judged by, as recorded then (one query), for a
    release no longer in flight (released, cancelled, rolled back): its page shows them
    instead of the project's gates as they are now. None for a release in flight (its
    gates still decide its next move) or one never judged."""
    if release.status in RELEASE_IN_FLIGHT:
        return None
    latest = (
        GateJudgement.objects.filter(release_id=release.pk)
        .order_by("-judged_at")
        .values("judged_at")[:1]
    )
    rows = GateJudgement.objects.filter(release_id=release.pk, judged_at=Subquery(latest))
    # The evidence page shows the counted result's report too.
    rows = rows.select_related("gate", "result") if reports else rows.select_related("gate")
    rows = list(rows.order_by("order", "id"))
    if not rows:
        return None
    return Judgement(phase=rows[0].phase, judged_at=rows[0].judged_at, rows=rows)


# --- Project configuration --------------------------------------------------------------


def project_gates(*, project):
    """The project's gates (one query), each with `unfed`: an active automated gate that
    nothing measures, since no active validation command reports to it and no CI report
    ever arrived for it. It stays "not measured yet" and blocks every release."""
    gates = project.quality_gates.annotate(
        has_command=Exists(ValidationCommand.objects.filter(gate=OuterRef("pk"), active=True)),
        has_ci_report=Exists(
            GateResult.objects.filter(gate=OuterRef("pk"), source=GateResultSource.CI)
        ),
    )
    gates = list(gates)
    for gate in gates:
        gate.unfed = (
            gate.active and gate.is_automated and not (gate.has_command or gate.has_ci_report)
        )
    return gates


def project_allowed_licences(*, project) -> list[str]:
    """The SPDX ids the project's dependencies may be licensed under (one query): its own
    list once an admin saved one, else the default."""
    policy = LicencePolicy.objects.filter(project=project).values_list("allowed", flat=True)
    allowed = policy.first()
    return list(DEFAULT_ALLOWED if allowed is None else allowed)


def project_validation_commands(*, project):
    return list(project.validation_commands.select_related("gate"))


def release_page_rows(release) -> list:
    """Every row the release page's Gates section, blocker and Validate action read
    (releases.sections.register_page_rows): the project's gates and validation commands,
    and the release's results, sign-offs, waivers and recorded judgements."""
    project, this = (release.project_id,), (release.pk,)
    return [
        Rows(QualityGate, "project_id = %s", project),
        Rows(ValidationCommand, "project_id = %s", project),
        Rows(GateResult, "release_id = %s", this),
        Rows(Approval, "release_id = %s", this),
        Rows(Waiver, "release_id = %s", this),
        Rows(GateJudgement, "release_id = %s", this),
    ]


# --- Risk ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Risk:
    level: str  # "low", "medium", "high"
    label: str  # "🟢 LOW"
    reason: str


RISK_LABELS = {"low": "🟢 LOW", "medium": "🟡 MEDIUM", "high": "🔴 HIGH"}


def release_risk(*, release) -> Risk:
    """The release's risk as its gates say (the announcements' "Risk Level"): high when a
    gate failed, medium when one was waived or is not passed yet (or no gate judges the
    release at all), low when every gate passed. A release no longer in flight is read
    from the gates it was last judged by; one in flight from its gates now."""
    judgement = release_judgement(release=release)
    if judgement is not None:
        statuses = [row.status for row in judgement.rows]
    else:
        statuses = [view.status for view in release_gates(release=release)]
    if GateStatus.FAILED in statuses:
        level, reason = "high", "a quality gate failed"
    elif not statuses:
        level, reason = "medium", "no quality gate judges it"
    elif all(s == GateStatus.PASSED for s in statuses):
        level, reason = "low", "every quality gate passed"
    elif GateStatus.WAIVED in statuses:
        level, reason = "medium", "a quality gate was waived"
    else:
        level, reason = "medium", "some quality gates are not passed yet"
    return Risk(level=level, label=RISK_LABELS[level], reason=reason)
