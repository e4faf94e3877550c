"""Every write of incidents: open, move (acknowledge, mitigate, resolve), notes, the
deployment it is about, the postmortem, the hotfix release, the SLA clock and escalation,
and the severity matrix a new project gets.

Each service writes its timeline entry and its audit record and emits its event in the
same transaction as the change, so an incident never has a change without its trail.
"""

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from deployments.models import Deployment, DeploymentStatus, Environment, EnvironmentPhase
from incidents.defaults import DEFAULT_MATRIX
from incidents.models import (
    FINAL_STATES,
    TRANSITIONS,
    EntryKind,
    EnvironmentIncidentSetting,
    Incident,
    IncidentEntry,
    IncidentSettings,
    IncidentStatus,
    Severity,
    SeverityPolicy,
    Source,
)
from incidents.selectors import (
    auto_open_wanted,
    deployment_at_open,
    escalation_due_step,
    incidents_sla_due,
    may_change,
    may_open,
    severity_audience,
    severity_policy,
)
from liftoff.audit import audit_record
from liftoff.errors import Conflict, NotAllowed, ValidationFailed
from liftoff.events import emit
from liftoff.roles import Role, require_role
from releases.models import ReleaseType
from releases.services import release_create

SUMMARY_MIN = 10
REASON_MIN = 10
TITLE_MAX = Incident._meta.get_field("title").max_length


def _user(actor):
    """The user to store on a row: None for Liftoff itself and for a project token."""
    return (
        actor if getattr(actor, "pk", None) and getattr(actor, "is_authenticated", False) else None
    )


def _entry(incident: Incident, kind: str, text: str, actor, at: datetime) -> IncidentEntry:
    user = _user(actor)
    label = user.get_username() if user else (str(actor) if actor else "Liftoff")
    return IncidentEntry.objects.create(
        incident=incident, kind=kind, text=text, actor=user, actor_label=label[:150], at=at
    )


def _require_change(actor, what: str) -> None:
    if actor is not None and not may_change(actor):
        raise NotAllowed(f"Only a release manager or an admin {what}.")


# --- The matrix ---------------------------------------------------------------------------


def project_severity_policies_install(*, project, actor=None) -> int:
    """Give a project the default matrix rows it lacks (by severity): running it again
    changes nothing. Returns how many it added."""
    have = set(project.severity_policies.values_list("severity", flat=True))
    rows = [
        SeverityPolicy(project=project, **spec)
        for spec in DEFAULT_MATRIX
        if spec["severity"] not in have
    ]
    SeverityPolicy.objects.bulk_create(rows)
    if rows:
        audit_record(
            actor=actor,
            action="project.incident_matrix_installed",
            obj=project,
            after={"severities": [r.severity for r in rows]},
        )
    return len(rows)


RESPOND_MAX_MINUTES = 7 * 24 * 60
ESCALATIONS_MAX = 10


def _policy_facts(policy: SeverityPolicy) -> dict:
    """A matrix row as the audit trail keeps it (before and after an edit)."""
    return {
        "respond_minutes": policy.respond_minutes,
        "action": policy.action,
        "audience_roles": list(policy.audience_roles),
        "audience_users": sorted(policy.audience_users.values_list("username", flat=True))
        if policy.pk
        else [],
        "escalate_after_minutes": policy.escalate_after_minutes,
        "max_escalations": policy.max_escalations,
    }


def _policy_problems(
    *, respond_minutes, action, audience_roles, escalate_after_minutes, max_escalations
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if respond_minutes is not None and not 1 <= respond_minutes <= RESPOND_MAX_MINUTES:
        errors["respond_minutes"] = [f"Between 1 and {RESPOND_MAX_MINUTES} minutes, or empty."]
    if not action:
        errors["action"] = ["Say what the team does at this severity."]
    elif len(action) > SeverityPolicy._meta.get_field("action").max_length:
        errors["action"] = ["At most 200 characters."]
    if unknown := [r for r in audience_roles if r not in {role.value for role in Role}]:
        errors["audience_roles"] = [f"No role “{unknown[0]}”."]
    if not 0 <= escalate_after_minutes <= RESPOND_MAX_MINUTES:
        errors["escalate_after_minutes"] = [f"Between 0 and {RESPOND_MAX_MINUTES} minutes."]
    if not 0 <= max_escalations <= ESCALATIONS_MAX:
        errors["max_escalations"] = [f"Between 0 and {ESCALATIONS_MAX}."]
    elif respond_minutes is None and max_escalations:
        errors["max_escalations"] = [
            "Without a response time nothing is late, so nothing escalates: set 0 steps."
        ]
    return errors


@transaction.atomic
def severity_policy_update(
    *,
    project,
    severity: str,
    actor,
    respond_minutes: int | None,
    action: str,
    audience_roles: list[str],
    audience_users: list,
    escalate_after_minutes: int,
    max_escalations: int,
) -> SeverityPolicy:
    """Admins edit one row of a project's incident response matrix.

    1. Check every field (ValidationFailed naming them; nothing written).
    2. Lock the row (a project made without its matrix gets it now, from the defaults).
    3. Write it and its audience, and audit it with the row before and after.
    Incidents already open keep the response deadline they were given; their escalation
    follows the edited steps from the next SLA check on."""
    require_role(actor, {Role.ADMIN}, "Only an admin changes the incident response matrix.")
    if severity not in Severity.values:
        raise ValidationFailed("Unknown severity.", errors={"severity": ["No such severity."]})
    action = " ".join((action or "").split())
    audience_roles = list(dict.fromkeys(audience_roles))
    errors = _policy_problems(
        respond_minutes=respond_minutes,
        action=action,
        audience_roles=audience_roles,
        escalate_after_minutes=escalate_after_minutes,
        max_escalations=max_escalations,
    )
    if inactive := [u for u in audience_users if not u.is_active]:
        errors["audience_users"] = [f"{inactive[0].get_username()} is no longer active."]
    if errors:
        raise ValidationFailed("The severity's row is not valid.", errors=errors)
    project_severity_policies_install(project=project, actor=actor)
    policy = SeverityPolicy.objects.select_for_update().get(project=project, severity=severity)
    before = _policy_facts(policy)
    policy.respond_minutes = respond_minutes
    policy.action = action
    policy.audience_roles = [r for r in Role if r in audience_roles]
    policy.escalate_after_minutes = escalate_after_minutes
    policy.max_escalations = max_escalations
    policy.save()
    policy.audience_users.set(audience_users)
    audit_record(
        actor=actor,
        action="project.severity_policy_changed",
        obj=project,
        before=before,
        after={"severity": severity, **_policy_facts(policy)},
    )
    return policy


# --- Opening ------------------------------------------------------------------------------


@transaction.atomic
def incident_open(
    *,
    project,
    environment: Environment | None,
    severity: str,
    title: str,
    description: str = "",
    started_at: datetime | None = None,
    actor,
    source: str = Source.UI,
    deployment: Deployment | None = None,
    security: bool = False,
) -> Incident:
    """Open an incident.

    1. Who: release managers and admins; stakeholders where the project allows it; a
       project token for its own project; None is Liftoff itself (a failed verification).
    2. The deployment it is about, recorded now: the one given, else the last deployment
       to the environment that began before `started_at`.
    3. The response clock from the project's severity row (none for low).
    4. The row, its first timeline entry, the audit record, `incident.opened`."""
    if actor is not None and not may_open(actor, project=project):
        raise NotAllowed("You may not open incidents on this project.")
    title = " ".join((title or "").split())
    errors: dict[str, list[str]] = {}
    if not title:
        errors["title"] = ["Say in a few words what is wrong."]
    elif len(title) > TITLE_MAX:
        errors["title"] = [f"At most {TITLE_MAX} characters."]
    if severity not in Severity.values:
        errors["severity"] = [f"One of {', '.join(Severity.values)}."]
    if environment is not None and environment.project_id != project.pk:
        errors["environment"] = ["That environment belongs to another project."]
    now = timezone.now()
    started_at = started_at or now
    if started_at > now + timedelta(minutes=1):
        errors["started_at"] = ["An incident cannot start in the future."]
    if errors:
        raise ValidationFailed("The incident is not valid.", errors=errors)
    if deployment is None:
        deployment = deployment_at_open(environment=environment, started_at=started_at)
    policy = severity_policy(project=project, severity=severity)
    respond_by = (
        now + timedelta(minutes=policy.respond_minutes)
        if policy.respond_minutes is not None
        else None
    )
    incident = Incident.objects.create(
        project=project,
        environment=environment,
        severity=severity,
        security=bool(security),
        title=title,
        description=description or "",
        deployment=deployment,
        source=source,
        opened_by=_user(actor),
        opened_at=now,
        started_at=started_at,
        respond_by=respond_by,
    )
    where = f" on {environment.name}" if environment else ""
    about = f", about deployment #{deployment.pk} (v{deployment.version})" if deployment else ""
    kind = f"{severity} security incident" if security else severity
    _entry(incident, EntryKind.OPENED, f"Opened as {kind}{where}{about}.", actor, now)
    payload = {
        "incident": incident.pk,
        "project": project.slug,
        "environment": environment.name if environment else None,
        "severity": severity,
        "security": bool(security),
        "title": title,
        "deployment": deployment.pk if deployment else None,
        "respond_by": respond_by.isoformat() if respond_by else None,
        "audience": severity_audience(policy=policy),
    }
    audit_record(actor=actor, action="incident.opened", obj=incident, after=payload)
    emit("incident.opened", subject=incident, actor=actor, payload=payload)
    return incident


# --- Moving -------------------------------------------------------------------------------


@transaction.atomic
def incident_transition(*, incident: Incident, to: str, actor, summary: str = "") -> Incident:
    """Move `incident` to `to` (the TRANSITIONS table), with a conditional UPDATE on its
    current status: zero rows changed means someone moved it first (Conflict). Resolving
    needs a summary; skipping acknowledgement still records who acknowledged."""
    _require_change(actor, "changes incidents")
    current = incident.status
    if to not in IncidentStatus.values:
        raise ValidationFailed("Unknown status.", errors={"to": [f"No status “{to}”."]})
    if to not in TRANSITIONS[current]:
        raise Conflict(f"A {current} incident cannot become {to}.")
    summary = (summary or "").strip()
    if to == IncidentStatus.RESOLVED and len(summary) < SUMMARY_MIN:
        raise ValidationFailed(
            "Say how it was resolved.",
            errors={"summary": [f"Write a summary of at least {SUMMARY_MIN} characters."]},
        )
    now, user = timezone.now(), _user(actor)
    fields: dict = {"status": to}
    for step in (IncidentStatus.ACKNOWLEDGED, IncidentStatus.MITIGATED, IncidentStatus.RESOLVED):
        if getattr(incident, f"{step}_at") is None:
            fields[f"{step}_at"] = now
            fields[f"{step}_by"] = user
        if step == to:
            break
    if to == IncidentStatus.RESOLVED:
        fields["summary"] = summary
    changed = Incident.objects.filter(pk=incident.pk, status=current).update(**fields)
    if not changed:
        raise Conflict("Someone changed this incident meanwhile: reload it and try again.")
    for name, value in fields.items():
        setattr(incident, name, value)
    _entry(incident, to, summary, actor, now)
    audit_record(
        actor=actor,
        action=f"incident.{to}",
        obj=incident,
        before={"status": current},
        after={"status": to, "title": incident.title, "summary": summary or None},
    )
    payload = {"incident": incident.pk, "by": user.get_username() if user else None}
    if to == IncidentStatus.RESOLVED:
        payload["summary"] = summary
    emit(f"incident.{to}", subject=incident, actor=actor, payload=payload)
    return incident


@transaction.atomic
def incident_note_add(*, incident: Incident, actor, text: str) -> IncidentEntry:
    _require_change(actor, "adds notes")
    text = (text or "").strip()
    if not text:
        raise ValidationFailed("Write the note.", errors={"text": ["The note is empty."]})
    entry = _entry(incident, EntryKind.NOTE, text, actor, timezone.now())
    audit_record(
        actor=actor, action="incident.note_added", obj=incident, after={"note": text[:500]}
    )
    return entry


@transaction.atomic
def incident_deployment_set(
    *, incident: Incident, deployment: Deployment | None, actor, reason: str
) -> Incident:
    """Change the deployment an incident is about (it was recorded when it was opened):
    only with a reason, kept on the timeline and in the audit trail."""
    _require_change(actor, "changes the deployment of an incident")
    reason = (reason or "").strip()
    if len(reason) < REASON_MIN:
        raise ValidationFailed(
            "Say why it is about another deployment.",
            errors={"reason": [f"Give a reason of at least {REASON_MIN} characters."]},
        )
    if deployment is not None and deployment.environment.project_id != incident.project_id:
        raise ValidationFailed(
            "That deployment is of another project.",
            errors={"deployment": ["Pick a deployment of this project."]},
        )
    before = incident.deployment_id
    Incident.objects.filter(pk=incident.pk).update(deployment=deployment)
    incident.deployment = deployment
    what = f"deployment #{deployment.pk} (v{deployment.version})" if deployment else "none"
    _entry(incident, EntryKind.DEPLOYMENT, f"About {what}: {reason}", actor, timezone.now())
    audit_record(
        actor=actor,
        action="incident.deployment_changed",
        obj=incident,
        before={"deployment": before},
        after={"deployment": deployment.pk if deployment else None, "reason": reason},
    )
    _emit_changed(
        incident,
        actor,
        field="deployment",
        before=before,
        after=deployment.pk if deployment else None,
        reason=reason,
    )
    return incident


def _emit_changed(incident: Incident, actor, *, field: str, before, after, reason: str = ""):
    """`incident.changed`: a fact the figures read (metrics) changed by hand."""
    emit(
        "incident.changed",
        subject=incident,
        actor=actor,
        payload={
            "incident": incident.pk,
            "field": field,
            "before": before,
            "after": after,
            "reason": reason,
        },
    )


@transaction.atomic
def incident_security_set(*, incident: Incident, security: bool, actor, reason: str) -> Incident:
    """Mark an incident as a security incident, or take the mark off: only with a reason,
    kept on the timeline and in the audit trail. Security incidents count in the security
    issues KPI (metrics). Setting what is already set changes nothing and says so."""
    _require_change(actor, "classifies incidents")
    reason = (reason or "").strip()
    if len(reason) < REASON_MIN:
        raise ValidationFailed(
            "Say why.",
            errors={"reason": [f"Give a reason of at least {REASON_MIN} characters."]},
        )
    # Conditional: two people marking at once record one change, not two.
    changed = (
        Incident.objects.filter(pk=incident.pk).exclude(security=security).update(security=security)
    )
    if not changed:
        state = "a security incident" if security else "not a security incident"
        raise ValidationFailed(
            f"It is {state} already.", errors={"security": [f"It is {state} already."]}
        )
    incident.security = security
    text = "Marked as a security incident" if security else "No longer a security incident"
    _entry(incident, EntryKind.SECURITY, f"{text}: {reason}", actor, timezone.now())
    audit_record(
        actor=actor,
        action="incident.security_changed",
        obj=incident,
        before={"security": not security},
        after={"security": security, "reason": reason},
    )
    _emit_changed(
        incident, actor, field="security", before=not security, after=security, reason=reason
    )
    return incident


@transaction.atomic
def incident_postmortem_update(*, incident: Incident, actor, postmortem: str) -> Incident:
    _require_change(actor, "edits postmortems")
    postmortem = (postmortem or "").strip()
    Incident.objects.filter(pk=incident.pk).update(postmortem=postmortem)
    incident.postmortem = postmortem
    _entry(incident, EntryKind.POSTMORTEM, "", actor, timezone.now())
    audit_record(
        actor=actor,
        action="incident.postmortem_updated",
        obj=incident,
        after={"characters": len(postmortem)},
    )
    return incident


@transaction.atomic
def incident_hotfix_set(*, incident: Incident, release, actor) -> Incident:
    """Link the hotfix release that may go to production while this incident is open."""
    _require_change(actor, "links a hotfix")
    if release.project_id != incident.project_id or release.type != ReleaseType.HOTFIX:
        raise ValidationFailed(
            "Only a hotfix release of the same project fixes an incident.",
            errors={"release": ["Pick a hotfix release of this project."]},
        )
    before = incident.hotfix_release_id
    Incident.objects.filter(pk=incident.pk).update(hotfix_release=release)
    incident.hotfix_release = release
    _entry(incident, EntryKind.HOTFIX, f"Hotfix v{release.version}.", actor, timezone.now())
    audit_record(
        actor=actor, action="incident.hotfix_linked", obj=incident, after={"release": release.pk}
    )
    _emit_changed(incident, actor, field="hotfix_release", before=before, after=release.pk)
    return incident


@transaction.atomic
def incident_hotfix_start(*, incident: Incident, actor):
    """ "Start a hotfix release" (the banner and the incident page).

    1. Lock the incident and check it is unresolved and has no hotfix yet: two managers
       clicking at once make one release, and the second is told which.
    2. Plan a hotfix release (releases' own service: the next patch of the version in
       production, branched from its tag).
    3. Link it as the incident's hotfix: the one release that may go to production while
       the incident is open."""
    _require_change(actor, "starts a hotfix release")
    locked = Incident.objects.select_for_update().get(pk=incident.pk)
    if locked.status in FINAL_STATES:
        raise Conflict("This incident is resolved: no hotfix is needed for it.")
    if locked.hotfix_release_id is not None:
        raise Conflict(
            f"Incident #{incident.pk} has its hotfix release already "
            f"(v{locked.hotfix_release.version})."
        )
    release = release_create(
        actor=actor,
        project=incident.project,
        release_type=ReleaseType.HOTFIX,
        summary=f"Hotfix for incident #{incident.pk}: {incident.title}",
    )
    incident_hotfix_set(incident=incident, release=release, actor=actor)
    return release


# --- The SLA clock ------------------------------------------------------------------------


def incident_escalate(*, incident: Incident, now: datetime | None = None) -> list[int]:
    """Mark an open incident past its response time as breached and take the escalation
    steps that are due, each claimed with a conditional UPDATE on the step before it, so
    two beat processes, or a task retried, never take one step twice (the loser changes
    zero rows and stops). Returns the steps this call took."""
    now = now or timezone.now()
    policy = severity_policy(project=incident.project, severity=incident.severity)
    target = escalation_due_step(incident, policy, now)
    taken: list[int] = []
    with transaction.atomic():
        past = incident.respond_by is not None and now >= incident.respond_by
        if past and Incident.objects.filter(
            pk=incident.pk, status=IncidentStatus.OPEN, breached=False
        ).update(breached=True):
            incident.breached = True
            _entry(incident, EntryKind.BREACHED, "Nobody acknowledged it in time.", None, now)
            audit_record(actor=None, action="incident.breached", obj=incident)
        for step in range(incident.escalation_step + 1, target + 1):
            claimed = Incident.objects.filter(
                pk=incident.pk, status=IncidentStatus.OPEN, escalation_step=step - 1
            ).update(escalation_step=step)
            if not claimed:
                break  # another process took this step (or someone acknowledged it)
            incident.escalation_step = step
            audience = (
                severity_audience(policy=policy)
                if step == 1
                else {"roles": [Role.ADMIN.value], "users": []}
            )
            who = ", ".join(audience["roles"] + audience["users"]) or "nobody configured"
            _entry(incident, EntryKind.ESCALATED, f"Step {step}: told {who}.", None, now)
            audit_record(
                actor=None,
                action="incident.escalated",
                obj=incident,
                after={"step": step, "audience": audience},
            )
            emit(
                "incident.escalated",
                subject=incident,
                payload={"incident": incident.pk, "step": step, "audience": audience},
            )
            taken.append(step)
    return taken


def incidents_sla_check(*, now: datetime | None = None) -> dict[int, list[int]]:
    """Beat's SLA clock: every open incident past its response time, one transaction
    each (one that fails does not hold up the others)."""
    now = now or timezone.now()
    due = incidents_sla_due(now=now)
    return {i.pk: steps for i in due if (steps := incident_escalate(incident=i, now=now))}


# --- Failed verification ------------------------------------------------------------------


def incident_on_failed_verification(event) -> None:
    """Handler of "deployment.finished" (in its transaction): a production deployment that
    failed its verification opens a high incident about it, where the environment asks
    for it (EnvironmentIncidentSetting)."""
    payload = event.payload
    if payload.get("status") != DeploymentStatus.FAILED or payload.get("kind") != "deploy":
        return
    deployment = event.subject
    environment = deployment.environment
    if not deployment.verification_failed or environment.phase != EnvironmentPhase.PRODUCTION:
        return
    if not auto_open_wanted(environment=environment):
        return
    incident_open(
        project=environment.project,
        environment=environment,
        severity=Severity.HIGH,
        title=f"v{deployment.version} failed verification on {environment.name}",
        description=(deployment.error or "")[:2000],
        actor=None,
        source=Source.VERIFICATION,
        deployment=deployment,
    )


# --- A project's incident settings --------------------------------------------------------


@transaction.atomic
def incident_settings_update(
    *, project, actor, stakeholders_may_open: bool, auto_open_environments: list[Environment]
) -> None:
    """Admins: whether stakeholders may open incidents on the project, and which of its
    environments open a high incident when a deployment fails verification there."""
    require_role(actor, {Role.ADMIN}, "Only an admin changes a project's incident settings.")
    if any(e.project_id != project.pk for e in auto_open_environments):
        raise ValidationFailed(
            "That environment belongs to another project.",
            errors={"auto_open": ["Pick environments of this project."]},
        )
    IncidentSettings.objects.update_or_create(
        project=project, defaults={"stakeholders_may_open": stakeholders_may_open}
    )
    chosen = {e.pk for e in auto_open_environments}
    for environment in Environment.objects.filter(project=project):
        EnvironmentIncidentSetting.objects.update_or_create(
            environment=environment,
            defaults={"open_on_failed_verification": environment.pk in chosen},
        )
    audit_record(
        actor=actor,
        action="project.incident_settings_changed",
        obj=project,
        after={
            "stakeholders_may_open": stakeholders_may_open,
            "auto_open": sorted(e.name for e in auto_open_environments),
        },
    )
