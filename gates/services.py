"""Every write of quality gates, validation commands, gate results, approvals and
waivers, and the start of a validation run.

Each service validates, writes and records its audit event in one transaction. Who may
sign, approve or waive a gate is decided once, by `gates.selectors.gate_signer_problem`,
which the pages and the approvals inbox ask too.
"""

import re

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from gates.defaults import DEFAULT_GATES
from gates.licences import allow_list_normalise, allow_list_problems
from gates.models import (
    Approval,
    Comparator,
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
from gates.selectors import (
    JUDGED_ON,
    SIGNER_ROLES,
    approval_is_current,
    gate_signer_problem,
    project_allowed_licences,
    release_gates,
    waiver_problem,
)
from liftoff.audit import audit_record
from liftoff.errors import Conflict, NotAllowed, ValidationFailed
from liftoff.events import emit
from liftoff.git import SLUG, SLUG_RULE, repo_path_problem
from liftoff.roles import Role, require_role
from releases.models import RELEASE_IN_FLIGHT, Release, ReleaseStatus
from releases.selectors import release_closed_reason, release_require_open
from releases.services import release_transition
from runs.services import run_create

REPORT_KEEP_CHARS = 200_000
# A gate's key: CI reports and the API name the gate by it.
_SHA = re.compile(r"[0-9a-f]{7,64}")
# Releases that a validation run may measure: prepared, and not yet in production.
VALIDATABLE = {
    ReleaseStatus.PREPARING,
    ReleaseStatus.VALIDATING,
    ReleaseStatus.READY,
    ReleaseStatus.STAGING,
}


def _require_signer(*, release, gate: QualityGate, actor, what: str) -> None:
    """Refuse in the words of the one rule (`gate_signer_problem`): a closed release is a
    Conflict (409: the release's state, not the person), anything else NotAllowed (403)."""
    if problem := gate_signer_problem(user=actor, release=release, gate=gate, what=what):
        raise (Conflict if problem == release_closed_reason(release) else NotAllowed)(problem)


# --- Configuration ---


def _gate_errors(data: dict) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not SLUG.match(data["key"]):
        errors["key"] = [SLUG_RULE]
    if not data["name"]:
        errors["name"] = ["This field is required."]
    if data["kind"] not in GateKind.values:
        errors["kind"] = ["Choose automated or manual."]
    elif data["kind"] == GateKind.AUTOMATED:
        if data["comparator"] not in Comparator.values:
            errors["comparator"] = ["Choose how the value compares with the threshold."]
        if data["threshold"] is None:
            errors["threshold"] = ["An automated gate needs a threshold."]
    else:
        if not 1 <= (data["required_approvals"] or 0) <= 20:
            errors["required_approvals"] = ["Between 1 and 20 approvals."]
        if data["approver_role"] not in SIGNER_ROLES:
            errors["approver_role"] = ["Choose approver, release_manager or admin."]
    return errors


@transaction.atomic
def gate_save(
    *,
    actor,
    project,
    key: str,
    name: str,
    kind: str,
    description: str = "",
    comparator: str = "",
    threshold: float | None = None,
    unit: str = "",
    required_approvals: int = 1,
    approver_role: str = Role.APPROVER,
    order: int | None = None,
    active: bool = True,
    gate: QualityGate | None = None,
) -> QualityGate:
    require_role(actor, {Role.ADMIN}, "Only admins define quality gates.")
    data = {
        "key": (key or "").strip(),
        "name": (name or "").strip(),
        "kind": kind,
        "description": (description or "").strip(),
        "comparator": comparator or "",
        "threshold": threshold,
        "unit": (unit or "").strip()[:20],
        "required_approvals": required_approvals,
        "approver_role": approver_role or Role.APPROVER,
        "active": active,
    }
    errors = _gate_errors(data)
    clash = QualityGate.objects.filter(project=project, key=data["key"])
    if gate is not None:
        clash = clash.exclude(pk=gate.pk)
    if "key" not in errors and clash.exists():
        errors["key"] = [f"{project.name} has a gate “{data['key']}” already."]
    if errors:
        raise ValidationFailed("The gate could not be saved.", errors=errors)
    # The other kind's fields are ignored, whatever was sent.
    if data["kind"] == GateKind.MANUAL:
        data.update(comparator="", threshold=None, unit="")
    else:
        data.update(required_approvals=1, approver_role=Role.APPROVER)
    before = None
    if gate is None:
        gate = QualityGate(project=project)
        data["order"] = (
            order
            if order is not None
            else (project.quality_gates.aggregate(m=Max("order"))["m"] or 0) + 1
        )
    else:
        before = {f: getattr(gate, f) for f in data}
        if order is not None:
            data["order"] = order
    for field, value in data.items():
        setattr(gate, field, value)
    gate.save()
    audit_record(actor=actor, action="gate.saved", obj=gate, before=before, after=data)
    _gate_change_tell_releases(actor=actor, gate=gate, before=before)
    return gate


# What of a gate decides whether it blocks a release (and how), by kind: a change of any
# of these is recorded on each release in flight; order and description are not.
_GATE_RULE_FIELDS = {
    GateKind.AUTOMATED: ("kind", "name", "comparator", "threshold", "unit"),
    GateKind.MANUAL: ("kind", "name", "required_approvals", "approver_role"),
}


def _gate_requirement_label(values: dict) -> str:
    if values["kind"] == GateKind.AUTOMATED:
        fields = ("kind", "comparator", "threshold", "unit")
        return QualityGate(**{f: values[f] for f in fields}).threshold_label
    return f"{values['required_approvals']} approval(s) from {values['approver_role']}"


def _gate_change_tell_releases(*, actor, gate: QualityGate, before: dict | None) -> None:
    """Record a change of a gate's rules on each release of its project still in flight
    (an audit event on the release, so its audit trail says why its gates changed):
    added, made inactive or active, its requirement changed. A change to an inactive gate
    that stays inactive, or of its order or description, affects no release."""
    rule_fields = _GATE_RULE_FIELDS[gate.kind]
    after = {f: getattr(gate, f) for f in {*rule_fields, *_GATE_RULE_FIELDS[GateKind.MANUAL]}}
    after.update(threshold=gate.threshold, comparator=gate.comparator, unit=gate.unit)
    who = actor.get_username() if getattr(actor, "pk", None) else "Liftoff"
    name = f"“{gate.name}”"
    if before is None:
        if not gate.active:
            return
        requirement = _gate_requirement_label(after)
        action, summary = "gate.added", f"{who} added gate {name} ({requirement})"
    elif before["active"] != gate.active:
        state = "active" if gate.active else "inactive"
        action, summary = f"gate.made_{state}", f"{who} made gate {name} {state}"
    elif gate.active and any(before[f] != after[f] for f in rule_fields):
        old, new = _gate_requirement_label(before), _gate_requirement_label(after)
        change = f": {old} → {new}" if old != new else ""
        action, summary = "gate.rule_changed", f"{who} changed gate {name}{change}"
    else:
        return
    _record_on_releases_in_flight(
        actor=actor, project_id=gate.project_id, action=action, gate=gate, summary=summary
    )


def _record_on_releases_in_flight(*, actor, project_id, action, gate, summary) -> None:
    for release in Release.objects.filter(project_id=project_id, status__in=RELEASE_IN_FLIGHT):
        audit_record(
            actor=actor,
            action=action,
            obj=release,
            after={"gate": gate.key, "summary": summary},
        )


@transaction.atomic
def gate_delete(*, actor, gate: QualityGate) -> None:
    """Delete a gate nothing was recorded against yet (a mistake, a gate never used). A
    gate with results, approvals or waivers keeps them for the releases they belong to:
    it is made inactive instead (deleting it would delete its evidence with it)."""
    require_role(actor, {Role.ADMIN}, "Only admins define quality gates.")
    gate = QualityGate.objects.select_for_update().get(pk=gate.pk)
    used = (
        GateResult.objects.filter(gate=gate).exists()
        or Approval.objects.filter(gate=gate).exists()
        or Waiver.objects.filter(gate=gate).exists()
    )
    if used:
        raise Conflict(
            f"“{gate.name}” has results or sign-offs on releases: make it inactive instead, "
            "so that their evidence stays.",
            missing=["A gate with results, approvals or waivers is made inactive, not deleted."],
        )
    audit_record(
        actor=actor,
        action="gate.deleted",
        obj=gate,
        before={"key": gate.key, "name": gate.name, "kind": gate.kind, "active": gate.active},
    )
    if gate.active:
        who = actor.get_username() if getattr(actor, "pk", None) else "Liftoff"
        _record_on_releases_in_flight(
            actor=actor,
            project_id=gate.project_id,
            action="gate.deleted",
            gate=gate,
            summary=f"{who} deleted gate “{gate.name}”",
        )
    gate.delete()


def _argv_problem(argv) -> str | None:
    if not isinstance(argv, list) or not argv:
        return "Give the command as a list of arguments."
    if not all(isinstance(a, str) and a for a in argv):
        return "Every argument must be a non-empty string."
    if len(argv) > 100 or sum(len(a) for a in argv) > 4000:
        return "The command is too long."
    return None


def _report_path_problem(path: str) -> str | None:
    if path and repo_path_problem(path):
        return "Use a relative path inside the checkout, without '..'."
    return None


@transaction.atomic
def licence_policy_save(*, actor, project, allowed: list[str]) -> LicencePolicy:
    """Set the licences (SPDX ids) the project's dependencies may have. Every entry must be
    an SPDX id (or a LicenseRef-…); they are stored in SPDX's spelling, each once. An
    empty list is allowed: then every licence is refused (nothing passes by accident)."""
    require_role(actor, {Role.ADMIN}, "Only admins set the allowed licences.")
    entries = [e.strip() for e in allowed if e and e.strip()]
    if problems := allow_list_problems(entries):
        raise ValidationFailed("The allowed licences were not saved.", errors={"allowed": problems})
    before = project_allowed_licences(project=project)
    policy, _ = LicencePolicy.objects.update_or_create(
        project=project, defaults={"allowed": allow_list_normalise(entries)}
    )
    audit_record(
        actor=actor,
        action="licence_policy.saved",
        obj=project,
        before={"allowed": before},
        after={"allowed": policy.allowed},
    )
    return policy


@transaction.atomic
def validation_command_save(
    *,
    actor,
    project,
    name: str,
    argv: list[str],
    report_format: str = ValidationCommand.ReportFormat.NONE,
    report_path: str = "",
    gate: QualityGate | None = None,
    timeout_seconds: int = 600,
    order: int | None = None,
    active: bool = True,
    command: ValidationCommand | None = None,
) -> ValidationCommand:
    """A command of the project's validation run. It runs as an argument list, never
    through a shell; `{python}` is the only placeholder."""
    require_role(actor, {Role.ADMIN}, "Only admins configure validation commands.")
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = ["This field is required."]
    if problem := _argv_problem(argv):
        errors["argv"] = [problem]
    if report_format not in ValidationCommand.ReportFormat.values:
        errors["report_format"] = ["Choose a report format."]
    if problem := _report_path_problem(report_path):
        errors["report_path"] = [problem]
    if report_format != ValidationCommand.ReportFormat.NONE and not report_path:
        errors["report_path"] = ["Name the report file this command writes."]
    if gate is not None and (gate.project_id != project.pk or gate.kind != GateKind.AUTOMATED):
        errors["gate"] = ["Choose an automated gate of this project."]
    if report_format != ValidationCommand.ReportFormat.NONE and gate is None:
        errors["gate"] = ["Choose the gate this report measures."]
    if not 1 <= (timeout_seconds or 0) <= 6 * 3600:
        errors["timeout_seconds"] = ["Between 1 second and 6 hours."]
    if errors:
        raise ValidationFailed("The command could not be saved.", errors=errors)
    before = None
    if command is None:
        command = ValidationCommand(project=project)
        if order is None:
            order = (project.validation_commands.aggregate(m=Max("order"))["m"] or 0) + 1
    else:
        before = {"name": command.name, "argv": command.argv}
    command.name, command.argv, command.report_format = name, argv, report_format
    command.report_path, command.gate, command.timeout_seconds = report_path, gate, timeout_seconds
    command.active = active
    if order is not None:
        command.order = order
    command.save()
    audit_record(
        actor=actor,
        action="validation_command.saved",
        obj=command,
        before=before,
        after={"name": name, "argv": argv, "report": report_format, "gate": gate and gate.key},
    )
    return command


@transaction.atomic
def validation_command_delete(*, actor, command: ValidationCommand) -> None:
    require_role(actor, {Role.ADMIN}, "Only admins configure validation commands.")
    audit_record(
        actor=actor, action="validation_command.deleted", obj=command, before={"name": command.name}
    )
    command.delete()


# --- Gate results -----------------------------------------------------------------------


def gate_result_record(
    *,
    release,
    gate: QualityGate,
    source: str,
    value: float | None,
    commit: str,
    reason: str = "",
    report: str = "",
    report_name: str = "",
    run=None,
    ci_run_id: str = "",
    failed: bool = False,
    actor=None,
) -> GateResult:
    """Record one measurement. `failed=True` fails the gate whatever the value (the
    command failed, its report is missing or malformed). `value=None` without `failed`
    means the scan could not check (e.g. its vulnerability service was out of reach): not
    measured. Neither is ever a pass."""
    if not gate.is_automated:
        raise ValidationFailed(
            f"“{gate.name}” is a manual gate: it is approved, not measured.",
            errors={"gate": ["Only automated gates take results."]},
        )
    if failed:
        status = GateStatus.FAILED
        reason = reason or "The measurement failed."
    elif value is None:
        status = GateStatus.NOT_MEASURED
        reason = reason or "No value was measured."
    else:
        status = GateStatus.PASSED if gate.passes(value) else GateStatus.FAILED
        if status == GateStatus.FAILED and not reason:
            reason = f"{value:g} is not {gate.threshold_label}."
    with transaction.atomic():
        result = GateResult.objects.create(
            release=release,
            gate=gate,
            status=status,
            value=value,
            threshold=gate.threshold_label,
            source=source,
            run=run,
            ci_run_id=ci_run_id,
            commit=commit,
            reason=reason[:2000],
            report=report[:REPORT_KEEP_CHARS],
            report_name=report_name[:200],
            measured_at=timezone.now(),
        )
        audit_record(
            actor=actor,
            action="gate.result",
            obj=release,
            after={
                "gate": gate.key,
                "status": status,
                "value": value,
                "threshold": gate.threshold_label,
                "source": source,
                "commit": commit,
                "run": run.pk if run else None,
                "ci_run_id": ci_run_id or None,
            },
        )
        payload = {
            "gate": gate.key,
            "status": status,
            "value": value,
            "threshold": gate.threshold_label,
        }
        if status == GateStatus.PASSED:
            emit("gate.passed", subject=release, actor=actor, payload=payload)
        else:  # failed or not measured
            payload["reason"] = result.reason
            emit("gate.failed", subject=release, actor=actor, payload=payload)
    return result


def gate_results_post(
    *, release, principal, ci_run_id: str, commit: str, results: list[dict]
) -> tuple[list[GateResult], bool]:
    """A CI system's report: [{gate, value, report}] for one CI run. A repeated post with
    the same run id changes nothing and answers what was recorded then.

    Returns (results, created)."""
    project = getattr(principal, "project", None)
    if project is not None and project.pk != release.project_id:
        raise NotAllowed("This project token belongs to another project.")
    ci_run_id, commit = (ci_run_id or "").strip(), (commit or "").strip()
    errors: dict[str, list[str]] = {}
    if not ci_run_id:
        errors["run_id"] = ["This field is required."]
    if not _SHA.fullmatch(commit):
        errors["commit"] = ["Give the commit as a hexadecimal SHA."]
    if not results:
        errors["results"] = ["Send at least one result."]
    gates = {g.key: g for g in QualityGate.objects.filter(project_id=release.project_id)}
    for i, entry in enumerate(results or []):
        gate = gates.get(entry.get("gate"))
        if gate is None:
            errors.setdefault(f"results[{i}].gate", []).append(
                f"No gate “{entry.get('gate')}” in this project."
            )
        elif not gate.is_automated:
            errors.setdefault(f"results[{i}].gate", []).append(
                f"“{gate.key}” is a manual gate: approvers sign it off."
            )
    if errors:
        raise ValidationFailed("The report was not recorded.", errors=errors)
    existing = list(GateResult.objects.filter(release=release, ci_run_id=ci_run_id))
    if existing:
        return existing, False
    release_require_open(release=release)
    recorded = []
    try:
        with transaction.atomic():
            for entry in results:
                value = entry.get("value")
                recorded.append(
                    gate_result_record(
                        release=release,
                        gate=gates[entry["gate"]],
                        source=GateResultSource.CI,
                        value=None if value is None else float(value),
                        commit=commit,
                        reason=entry.get("reason", "")
                        or ("" if value is not None else "CI reported no value."),
                        report=entry.get("report", "") or "",
                        report_name=f"CI run {ci_run_id}",
                        ci_run_id=ci_run_id,
                        actor=principal,
                    )
                )
    except IntegrityError:
        # The same CI run posted twice at once: the other post recorded it.
        return list(GateResult.objects.filter(release=release, ci_run_id=ci_run_id)), False
    return recorded, True


# --- Approvals and waivers --------------------------------------------------------------


def approval_record(*, release, gate: QualityGate, actor, decision: str, comment: str = ""):
    """Approve or reject a manual gate. One live decision per person: the same decision
    twice is refused; a changed mind replaces the earlier decision."""
    if gate.project_id != release.project_id:
        raise ValidationFailed(
            "That gate is not one of this release's.", errors={"gate": ["Unknown gate."]}
        )
    if gate.kind != GateKind.MANUAL:
        raise ValidationFailed(
            f"“{gate.name}” is automated: it passes on its measured value (or a waiver).",
            errors={"gate": ["Only manual gates are approved."]},
        )
    if decision not in Decision.values:
        raise ValidationFailed(
            "Approve or reject.", errors={"decision": ["Choose approve or reject."]}
        )
    comment = (comment or "").strip()
    if decision == Decision.REJECT and not comment:
        raise ValidationFailed(
            "Say why you reject it.", errors={"comment": ["A rejection needs a comment."]}
        )
    _require_signer(release=release, gate=gate, actor=actor, what="approve")
    with transaction.atomic():
        live = (
            Approval.objects.select_for_update()
            .filter(release=release, gate=gate, approver=actor, superseded_at__isnull=True)
            .first()
        )
        if live is not None:
            if live.decision == decision and approval_is_current(live, release):
                verb = "approved" if decision == Decision.APPROVE else "rejected"
                raise Conflict(
                    f"You have {verb} “{gate.name}” already: one person counts once.",
                    missing=[],
                )
            Approval.objects.filter(pk=live.pk).update(superseded_at=timezone.now())
        try:
            with transaction.atomic():
                approval = Approval.objects.create(
                    release=release,
                    gate=gate,
                    approver=actor,
                    decision=decision,
                    comment=comment[:4000],
                    commit=release.head_commit,
                )
        except IntegrityError:
            raise Conflict(f"You have decided on “{gate.name}” already.") from None
        audit_record(
            actor=actor,
            action=f"gate.{'approved' if decision == Decision.APPROVE else 'rejected'}",
            obj=release,
            after={"gate": gate.key, "comment": comment[:500], "commit": release.head_commit},
        )
        emit(
            "approval.given",
            subject=release,
            actor=actor,
            payload={"gate": gate.key, "decision": decision, "comment": comment[:500]},
        )
    return approval


def gate_judgement_record(event) -> None:
    """On `release.moved` to ready and every later phase (`JUDGED_ON`): record each active
    gate as it stands (status, value, threshold, who approved, rejected or waived), so
    that the release keeps what it was judged by whatever later happens to the gates'
    configuration. Runs inside the move's transaction: the rows go with the move."""
    to = event.payload.get("to")
    if to not in JUDGED_ON:
        return
    release, now = event.subject, timezone.now()
    rows = []
    for order, view in enumerate(release_gates(release=release)):
        gate, waiver = view.gate, view.waiver
        rows.append(
            GateJudgement(
                release=release,
                gate=gate,
                result=view.result,
                phase=to,
                judged_at=now,
                order=order,
                gate_key=gate.key,
                gate_name=gate.name,
                kind=gate.kind,
                threshold_label=gate.threshold_label,
                unit=gate.unit,
                status=view.status,
                value=view.value,
                approvals_label="" if gate.is_automated else view.approvals_label,
                approved_by=", ".join(a.approver.get_username() for a in view.approvals)[:500],
                rejected_by=", ".join(a.approver.get_username() for a in view.rejections)[:500],
                waived_by=waiver.approver.get_username() if waiver else "",
                waiver_reason=waiver.reason if waiver else "",
                commit=view.result.commit if view.result else release.head_commit,
            )
        )
    GateJudgement.objects.bulk_create(rows)


def approvals_request(event) -> None:
    """On `release.moved` into validation: the release's manual gates that wait for
    sign-off are requested from their approvers (`approval.requested`), for the
    notifications to come. Runs inside the move's transaction."""
    release = event.subject
    if event.payload.get("to") != ReleaseStatus.VALIDATING:
        return
    waiting = [
        view.gate.key
        for view in release_gates(release=release)
        if view.gate.kind == GateKind.MANUAL and view.status == GateStatus.PENDING
    ]
    if waiting:
        emit(
            "approval.requested",
            subject=release,
            actor=event.actor,
            payload={"gates": waiting, "phase": ReleaseStatus.VALIDATING},
        )


def waiver_grant(*, release, gate: QualityGate, actor, reason: str) -> Waiver:
    """Let an automated gate pass for the release head, with a written reason: one that
    failed, could not be measured, or that nothing measured yet (pending: a check that
    never reports). Which gate may be waived is `waiver_problem`; who, `_require_signer`."""
    if gate.project_id != release.project_id:
        raise ValidationFailed(
            "That gate is not one of this release's.", errors={"gate": ["Unknown gate."]}
        )
    if gate.kind != GateKind.AUTOMATED:
        raise ValidationFailed(
            "Manual gates are approved, not waived.", errors={"gate": ["Not an automated gate."]}
        )
    reason = (reason or "").strip()
    if len(reason) < 10:
        raise ValidationFailed(
            "Write why the gate may be waived.",
            errors={"reason": ["Give a reason of at least 10 characters."]},
        )
    _require_signer(release=release, gate=gate, actor=actor, what="waive")
    with transaction.atomic():
        # One waiver at a time per release: a second click (or a second approver) at the
        # same moment waits here, then finds the gate waived and is refused, instead of
        # tripping the one-live-waiver constraint (a 500).
        Release.objects.select_for_update().filter(pk=release.pk).first()
        view = next(v for v in release_gates(release=release) if v.gate.pk == gate.pk)
        if problem := waiver_problem(release=release, view=view):
            raise Conflict(problem)
        Waiver.objects.filter(release=release, gate=gate, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        waiver = Waiver.objects.create(
            release=release,
            gate=gate,
            approver=actor,
            reason=reason[:4000],
            commit=release.head_commit,
        )
        audit_record(
            actor=actor,
            action="gate.waived",
            obj=release,
            # What was waived: a failed or unmeasured result, or nothing measured (pending).
            after={
                "gate": gate.key,
                "reason": reason[:500],
                "commit": release.head_commit,
                "status": view.status,
            },
        )
        emit(
            "gate.waived",
            subject=release,
            actor=actor,
            payload={
                "gate": gate.key,
                "reason": reason[:500],
                "commit": release.head_commit,
                "status": view.status,
            },
        )
    return waiver


def waiver_revoke(*, release, gate: QualityGate, actor) -> Waiver:
    """Withdraw the live waiver of a gate: it counts as failed, unmeasured or pending
    again."""
    _require_signer(release=release, gate=gate, actor=actor, what="revoke the waiver of")
    with transaction.atomic():
        waiver = (
            Waiver.objects.select_for_update()
            .filter(release=release, gate=gate, revoked_at__isnull=True)
            .first()
        )
        if waiver is None:
            raise Conflict(f"“{gate.name}” has no waiver to revoke.")
        Waiver.objects.filter(pk=waiver.pk).update(revoked_at=timezone.now(), revoked_by=actor)
        audit_record(
            actor=actor,
            action="gate.waiver_revoked",
            obj=release,
            after={"gate": gate.key, "waived_by": waiver.approver.get_username()},
        )
    waiver.refresh_from_db()
    return waiver


# --- Validation -------------------------------------------------------------------------


def release_validate(*, release, actor):
    """Start a validation run of the release head. A prepared release still `preparing`
    moves to `validating` with it."""
    require_role(actor, {Role.RELEASE_MANAGER}, "Only release managers start validation runs.")
    if release.status not in VALIDATABLE:
        raise Conflict(
            f"A {release.status} release is not validated.",
            missing=["Validation runs on a prepared release before it reaches production."],
        )
    if not release.head_commit or not release.prepared_at:
        raise Conflict(
            "The release has no pushed head to validate yet.",
            missing=["Prepare the release first (branch, version bump, push)."],
        )
    if not ValidationCommand.objects.filter(project_id=release.project_id, active=True).exists():
        raise Conflict(
            f"{release.project.name} has no validation commands.",
            missing=["An admin configures the project's validation commands."],
        )
    with transaction.atomic():
        if release.status == ReleaseStatus.PREPARING:
            release_transition(
                release=release,
                to=ReleaseStatus.VALIDATING,
                actor=actor,
                system_reason="A validation run of the prepared head started.",
            )
        return run_create(
            kind="release.validate",
            subject=release,
            scope=release.project.slug,
            requested_by=actor,
            params={"commit": release.head_commit},
        )


@transaction.atomic
def project_gates_install(*, project, actor=None) -> int:
    """Give a project the default gates it does not have yet (by key), so that running it
    again changes nothing. Returns how many it added."""
    made = 0
    keys = set(project.quality_gates.values_list("key", flat=True))
    for order, spec in enumerate(DEFAULT_GATES, start=1):
        if spec["key"] in keys:
            continue
        QualityGate.objects.create(project=project, order=order, **spec)
        made += 1
    if made:
        audit_record(
            actor=actor, action="project.defaults_installed", obj=project, after={"gates": made}
        )
    return made
