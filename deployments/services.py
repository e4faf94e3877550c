"""Every write of deployments: environments and their configuration, deployments (start,
schedule, cancel, abort and roll back, emergency rollback), locks, freeze windows,
emergency change reviews, and what happens when a deployment's run ends.

A deployment's status moves only through `deployment_transition` (a conditional UPDATE on
the current status, as runs do). One deployment per environment at a time is a partial
unique index (`deployment_one_active_per_environment`): two clicks, two users, the API
and the command line racing each other get one deployment, the others a Conflict.
"""

import base64
import secrets
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from deployments.freezes import cron_problem, zone_problem
from deployments.models import (
    DEPLOYMENT_TRANSITIONS,
    Deployment,
    DeploymentKind,
    DeploymentStatus,
    EmergencyChange,
    Environment,
    EnvironmentPhase,
    FreezeKind,
    FreezeWindow,
    HealthCheck,
    HealthSample,
    SecretVariable,
    Strategy,
    Trigger,
    other_color,
)
from deployments.selectors import (
    deployment_blockers,
    environment_active,
    environment_current,
    freezes_in_force,
    rollback_target,
)
from liftoff.audit import audit_record
from liftoff.errors import Conflict, NotAllowed, ValidationFailed
from liftoff.events import emit
from liftoff.git import ref_name_problem
from liftoff.roles import Role, has_role, require_role
from releases.models import Release, ReleaseStatus, ReleaseType
from releases.services import release_transition
from runs.models import Run, RunStatus
from runs.services import run_cancel, run_create

RUN_KIND = "deployment.run"
# /deployments/<project>/<these>/ are pages of the project, not environments.
RESERVED_NAMES = frozenset({"freezes", "environments", "emergency-changes", "releases"})
HEALTH_SAMPLES_KEPT = 50


# --- Environments ------------------------------------------------------------------------

ENVIRONMENT_FIELDS = (
    "name",
    "order",
    "phase",
    "strategy",
    "url",
    "deploy_commands",
    "rollback_commands",
    "switch_commands",
    "blue_url",
    "green_url",
    "webhook_url",
    "command_timeout_seconds",
    "verify_seconds",
    "verify_interval_seconds",
    "auto_rollback",
    "lock_after_rollback",
)


def _argv_lists_problem(value) -> str | None:
    if not isinstance(value, list) or not all(
        isinstance(argv, list) and argv and all(isinstance(a, str) and a for a in argv)
        for argv in value
    ):
        return "A list of commands, each a non-empty list of arguments."
    return None


def _environment_errors(environment: Environment) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if problem := ref_name_problem(environment.name) if environment.name else "is empty":
        errors["name"] = [f"The name {problem}."]
    elif environment.name in RESERVED_NAMES:
        errors["name"] = [f"“{environment.name}” names a page of the project: choose another."]
    for field in ("deploy_commands", "rollback_commands", "switch_commands"):
        if problem := _argv_lists_problem(getattr(environment, field)):
            errors[field] = [problem]
    needs_commands = environment.strategy in {Strategy.COMMAND, Strategy.BLUE_GREEN}
    if needs_commands and not environment.deploy_commands and "deploy_commands" not in errors:
        errors["deploy_commands"] = ["Give at least one deploy command."]
    if environment.strategy == Strategy.WEBHOOK and not environment.webhook_url:
        errors["webhook_url"] = ["A webhook environment needs the deployer's URL."]
    if environment.strategy == Strategy.BLUE_GREEN:
        for field in ("blue_url", "green_url"):
            if not getattr(environment, field):
                errors[field] = ["Blue-green needs each colour's own URL to verify it on."]
        if not environment.switch_commands and "switch_commands" not in errors:
            errors["switch_commands"] = ["Blue-green needs the traffic-switch command."]
    if environment.verify_interval_seconds < 1:
        errors["verify_interval_seconds"] = ["At least 1 second."]
    return errors


def _webhook_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


@transaction.atomic
def environment_create(*, project, actor, **fields) -> tuple[Environment, str]:
    """Add an environment to a project. Returns it and, for a webhook environment, its
    signing secret: shown once, never again."""
    require_role(actor, {Role.ADMIN}, "Only an admin configures environments.")
    environment = Environment(project=project, **fields)
    if errors := _environment_errors(environment):
        raise ValidationFailed("The environment is not valid.", errors=errors)
    if Environment.objects.filter(project=project, name=environment.name).exists():
        raise ValidationFailed(
            "The environment is not valid.",
            errors={"name": [f"{project.name} has an environment “{environment.name}” already."]},
        )
    secret = ""
    if environment.strategy == Strategy.WEBHOOK:
        secret = environment.webhook_secret = _webhook_secret()
    environment.save()
    audit_record(
        actor=actor,
        action="environment.created",
        obj=environment,
        after={f: getattr(environment, f) for f in ENVIRONMENT_FIELDS},
    )
    return environment, secret


@transaction.atomic
def environment_update(*, environment: Environment, actor, **fields) -> Environment:
    require_role(actor, {Role.ADMIN}, "Only an admin configures environments.")
    environment = Environment.objects.select_for_update().get(pk=environment.pk)
    before = {f: getattr(environment, f) for f in fields if f in ENVIRONMENT_FIELDS}
    for name, value in fields.items():
        if name not in ENVIRONMENT_FIELDS:
            raise ValidationFailed(f"“{name}” is not a setting of an environment.")
        setattr(environment, name, value)
    if errors := _environment_errors(environment):
        raise ValidationFailed("The environment is not valid.", errors=errors)
    if environment.strategy == Strategy.WEBHOOK and not environment.webhook_secret:
        environment.webhook_secret = _webhook_secret()
    environment.save()
    audit_record(
        actor=actor,
        action="environment.updated",
        obj=environment,
        before=before,
        after={f: getattr(environment, f) for f in before},
    )
    return environment


@transaction.atomic
def environment_webhook_secret_rotate(*, environment: Environment, actor) -> str:
    require_role(actor, {Role.ADMIN}, "Only an admin configures environments.")
    secret = _webhook_secret()
    Environment.objects.filter(pk=environment.pk).update(webhook_secret=secret)
    audit_record(actor=actor, action="environment.secret_rotated", obj=environment)
    return secret


@transaction.atomic
def health_check_set(*, environment: Environment, actor, checks: list[dict]) -> list[HealthCheck]:
    """Replace an environment's health checks with `checks` (url, expected_status,
    json_field, json_value, timeout_seconds, retries)."""
    require_role(actor, {Role.ADMIN}, "Only an admin configures environments.")
    made = []
    for order, check in enumerate(checks):
        url = str(check.get("url", "")).strip()
        if not url.startswith(("http://", "https://")):
            raise ValidationFailed(
                "A health check needs an http(s) URL.", errors={"url": [f"“{url}” is not one."]}
            )
        made.append(
            HealthCheck(
                environment=environment,
                order=order,
                url=url,
                expected_status=int(check.get("expected_status") or 200),
                json_field=str(check.get("json_field") or ""),
                json_value=str(check.get("json_value") or ""),
                timeout_seconds=float(check.get("timeout_seconds") or 5),
                retries=int(check.get("retries") if check.get("retries") is not None else 3),
            )
        )
    HealthCheck.objects.filter(environment=environment).delete()
    HealthCheck.objects.bulk_create(made)
    audit_record(
        actor=actor,
        action="environment.health_checks",
        obj=environment,
        after={"checks": [c.url for c in made]},
    )
    return made


@transaction.atomic
def secret_variable_set(*, environment: Environment, actor, name: str, value: str) -> None:
    """Set a secret variable. The audit trail names it, never its value."""
    require_role(actor, {Role.ADMIN}, "Only an admin configures environments.")
    name = name.strip()
    if not name.replace("_", "").isalnum() or not name[:1].isalpha() or not name.isupper():
        raise ValidationFailed(
            "A variable name is upper case letters, digits and _ (DATABASE_PASSWORD).",
            errors={"name": ["Upper case letters, digits and _, starting with a letter."]},
        )
    if name.startswith("LIFTOFF_"):
        raise ValidationFailed(
            "LIFTOFF_ names are Liftoff's own.", errors={"name": ["Choose another name."]}
        )
    if not value:
        raise ValidationFailed("Give the secret's value.", errors={"value": ["Required."]})
    SecretVariable.objects.update_or_create(
        environment=environment, name=name, defaults={"value": value}
    )
    audit_record(
        actor=actor, action="environment.secret_set", obj=environment, after={"name": name}
    )


@transaction.atomic
def secret_variable_delete(*, environment: Environment, actor, name: str) -> None:
    require_role(actor, {Role.ADMIN}, "Only an admin configures environments.")
    deleted, _ = SecretVariable.objects.filter(environment=environment, name=name).delete()
    if not deleted:
        raise Conflict(f"{environment.name} has no secret {name}.")
    audit_record(
        actor=actor, action="environment.secret_deleted", obj=environment, after={"name": name}
    )


# --- Locks and freezes -------------------------------------------------------------------


@transaction.atomic
def environment_lock(*, environment: Environment, actor, reason: str) -> Environment:
    """Lock (or change the reason of a lock): deployments are refused until unlocked.
    Rollbacks still go through: a lock is no reason to keep a broken version running."""
    require_role(actor, {Role.RELEASE_MANAGER}, "Only a release manager locks an environment.")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(
            "Say why it is locked.", errors={"reason": ["A lock needs a reason."]}
        )
    environment = Environment.objects.select_for_update().get(pk=environment.pk)
    before = {"locked_reason": environment.locked_reason or None}
    environment.locked_reason = reason[:500]
    environment.locked_by = actor if getattr(actor, "pk", None) else None
    environment.locked_at = environment.locked_at or timezone.now()
    environment.save(update_fields=["locked_reason", "locked_by", "locked_at", "updated_at"])
    audit_record(
        actor=actor,
        action="environment.locked",
        obj=environment,
        before=before,
        after={"locked_reason": environment.locked_reason},
    )
    return environment


def _lock_for(environment: Environment, reason: str) -> None:
    """Liftoff's own lock after an automatic rollback (no role check: the system acts)."""
    Environment.objects.filter(pk=environment.pk).update(
        locked_reason=reason[:500], locked_at=timezone.now(), locked_by=None
    )
    audit_record(
        actor=None,
        action="environment.locked",
        obj=environment,
        after={"locked_reason": reason[:500]},
    )


@transaction.atomic
def environment_unlock(*, environment: Environment, actor) -> Environment:
    require_role(actor, {Role.RELEASE_MANAGER}, "Only a release manager unlocks an environment.")
    environment = Environment.objects.select_for_update().get(pk=environment.pk)
    if not environment.locked:
        raise Conflict(f"{environment.name} is not locked.")
    before = {"locked_reason": environment.locked_reason}
    environment.locked_reason, environment.locked_by, environment.locked_at = "", None, None
    environment.save(update_fields=["locked_reason", "locked_by", "locked_at", "updated_at"])
    audit_record(actor=actor, action="environment.unlocked", obj=environment, before=before)
    return environment


@transaction.atomic
def freeze_window_create(*, project, actor, **fields) -> FreezeWindow:
    require_role(actor, {Role.ADMIN}, "Only an admin sets freeze windows.")
    window = FreezeWindow(project=project, created_by=actor if getattr(actor, "pk", None) else None)
    for name, value in fields.items():
        setattr(window, name, value)
    errors: dict[str, list[str]] = {}
    if not (window.reason or "").strip():
        errors["reason"] = ["Say why deployments are frozen."]
    if problem := zone_problem(window.time_zone):
        errors["time_zone"] = [problem]
    if window.environment_id and window.environment.project_id != project.pk:
        errors["environment"] = ["That environment belongs to another project."]
    if window.kind == FreezeKind.ONE_OFF:
        if not (window.starts_at and window.ends_at) or window.ends_at <= window.starts_at:
            errors["ends_at"] = ["A one-off window ends after it starts."]
    elif window.kind == FreezeKind.WEEKLY:
        days = window.weekdays or []
        if not days or not all(isinstance(d, int) and 0 <= d <= 6 for d in days):
            errors["weekdays"] = ["Choose at least one day."]
        if window.start_time is None or window.end_time is None:
            errors["start_time"] = ["Give the hours the freeze holds."]
        elif window.start_time == window.end_time:
            errors["end_time"] = ["The freeze ends at another time than it starts."]
    elif window.kind == FreezeKind.CRON:
        if problem := cron_problem(window.cron or ""):
            errors["cron"] = [problem]
        if not window.duration_minutes:
            errors["duration_minutes"] = ["At least a minute."]
    else:
        errors["kind"] = ["One-off, weekly or cron."]
    if errors:
        raise ValidationFailed("The freeze window is not valid.", errors=errors)
    window.save()
    audit_record(
        actor=actor,
        action="freeze.created",
        obj=window,
        after={"project": project.slug, "kind": window.kind, "reason": window.reason},
    )
    return window


@transaction.atomic
def freeze_window_delete(*, window: FreezeWindow, actor) -> None:
    require_role(actor, {Role.ADMIN}, "Only an admin sets freeze windows.")
    audit_record(
        actor=actor,
        action="freeze.deleted",
        obj=window,
        before={"kind": window.kind, "reason": window.reason},
    )
    window.delete()


# --- Deployments -------------------------------------------------------------------------


def deployment_transition(*, deployment: Deployment, to: str, **fields) -> bool:
    """Move `deployment` from its current status to `to`; False if it had moved."""
    current = deployment.status
    if to not in DEPLOYMENT_TRANSITIONS[current]:
        raise Conflict(f"A {current} deployment cannot become {to}.")
    if to in {DeploymentStatus.SUCCEEDED, DeploymentStatus.FAILED, DeploymentStatus.CANCELLED}:
        fields.setdefault("finished_at", timezone.now())
    changed = Deployment.objects.filter(pk=deployment.pk, status=current).update(
        status=to, **fields
    )
    if changed:
        deployment.status = to
        for name, value in fields.items():
            setattr(deployment, name, value)
    return bool(changed)


def _insert(deployment: Deployment) -> Deployment:
    """Save a new queued deployment; the partial unique index refuses a second one."""
    try:
        with transaction.atomic():
            deployment.save()
    except IntegrityError:
        holder = environment_active(environment=deployment.environment)
        raise Conflict(
            f"{deployment.environment.name} has a deployment in progress"
            + (f" (#{holder.pk}, v{holder.version})." if holder else ".")
            + " One deployment at a time: wait for it to end, or cancel it.",
            missing=[f"A deployment to {deployment.environment.name} is in progress."],
            deployment_id=holder.pk if holder else None,
        ) from None
    return deployment


def _dispatch(deployment: Deployment, actor) -> Deployment:
    """Create the deployment's run (dispatched on commit by the run engine)."""
    run = run_create(
        kind=RUN_KIND,
        subject=deployment,
        requested_by=actor,
        scope=deployment.environment.project.slug,
    )
    Deployment.objects.filter(pk=deployment.pk).update(run=run)
    deployment.run = run
    return deployment


def _check_override(*, release, actor, override_reason: str) -> None:
    if release.type != ReleaseType.HOTFIX:
        raise NotAllowed(
            "Only a hotfix may be deployed inside a freeze window.",
            errors={"override_reason": ["Only a hotfix overrides a freeze."]},
        )
    if not has_role(actor, {Role.APPROVER}):
        raise NotAllowed(
            "Only an approver overrides a freeze window.",
            errors={"override_reason": ["An approver overrides a freeze."]},
        )
    if len(override_reason.strip()) < 10:
        raise ValidationFailed(
            "Write why this hotfix cannot wait for the freeze to end.",
            errors={"override_reason": ["Give a reason of at least 10 characters."]},
        )


@transaction.atomic
def deployment_start(
    *,
    release: Release,
    environment: Environment,
    actor,
    at: datetime | None = None,
    override_reason: str = "",
    trigger: str = Trigger.PERSON,
) -> Deployment:
    """Deploy `release` to `environment`, now or at `at`.

    1. Who: a release manager. 2. What blocks it (`deployment_blockers`: lock, freeze at
    the time it will start, the environment's phase, promotion from the environment
    before), a freeze overridden only for a hotfix by an approver with a reason (recorded
    as an emergency change to review). 3. Production: the release moves to production
    through the release policy (gates, checklists, staging first). 4. The deployment row
    (the database refuses a second active one) and its run, dispatched on commit.
    5. Audit and event."""
    override = bool(override_reason.strip())
    if not override:
        # An approver's override of a freeze is the act that lets a hotfix through, so an
        # approver may start that one deployment (_check_override); the rest is a release
        # manager's.
        require_role(actor, {Role.RELEASE_MANAGER}, "Only a release manager deploys.")
    release = Release.objects.select_related("project").get(pk=release.pk)
    environment = Environment.objects.select_related("project").get(pk=environment.pk)
    now = timezone.now()
    if at is not None and at < now - timedelta(minutes=1):
        raise ValidationFailed(
            "That time has passed: leave it empty to deploy now.",
            errors={"at": [f"{at:%Y-%m-%d %H:%M} UTC is in the past."]},
        )
    if at is not None and at <= now + timedelta(seconds=5):
        at = None  # "now" from a form that took a moment
    if override:
        _check_override(release=release, actor=actor, override_reason=override_reason)
        if not freezes_in_force(environment=environment, at=at):
            raise ValidationFailed(
                f"{environment.name} is not frozen then: no override needed.",
                errors={"override_reason": ["Leave it empty: nothing to override."]},
            )
    if missing := deployment_blockers(
        release=release, environment=environment, at=at, override=override
    ):
        raise Conflict(
            f"v{release.version} cannot be deployed to {environment.name} yet.", missing=missing
        )
    to_production = environment.phase == EnvironmentPhase.PRODUCTION
    if at is None and to_production and release.status == ReleaseStatus.STAGING:
        release_transition(release=release, to=ReleaseStatus.PRODUCTION, actor=actor)
    current = environment_current(environment=environment)
    deployment = Deployment(
        environment=environment,
        release=release,
        kind=DeploymentKind.DEPLOY,
        status=DeploymentStatus.SCHEDULED if at else DeploymentStatus.QUEUED,
        trigger=Trigger.SCHEDULE if at else trigger,
        strategy=environment.strategy,
        requested_by=actor if getattr(actor, "pk", None) else None,
        version=release.version,
        commit=release.head_commit,
        color=_next_color(environment),
        replaced=current,
        replaced_version=current.version if current else "",
        scheduled_for=at,
        freeze_override_reason=override_reason.strip() if override else "",
        freeze_override_by=actor if override and getattr(actor, "pk", None) else None,
    )
    _insert(deployment)
    if override:
        EmergencyChange.objects.create(
            deployment=deployment,
            reason=override_reason.strip(),
            approved_by=actor,
            review_due=now + timedelta(hours=EmergencyChange.REVIEW_HOURS),
        )
    if at is None:
        _dispatch(deployment, actor)
    audit_record(
        actor=actor,
        action="deployment.scheduled" if at else "deployment.started",
        obj=deployment,
        after={
            "release": release.pk,
            "version": release.version,
            "environment": environment.name,
            "at": at.isoformat() if at else None,
            "freeze_override": deployment.freeze_override_reason or None,
        },
    )
    emit(
        "deployment.started" if at is None else "deployment.scheduled",
        subject=deployment,
        actor=actor,
        payload=_payload(deployment),
    )
    return deployment


def _next_color(environment: Environment) -> str:
    if environment.strategy != Strategy.BLUE_GREEN:
        return ""
    return other_color(environment.active_color) if environment.active_color else "blue"


def _payload(deployment: Deployment) -> dict:
    return {
        "deployment": deployment.pk,
        "project": deployment.environment.project.slug,
        "environment": deployment.environment.name,
        "release": deployment.release_id,
        "version": deployment.version,
        "kind": deployment.kind,
        "status": deployment.status,
        "trigger": deployment.trigger,
    }


def deployments_start_due(*, now: datetime | None = None) -> list[int]:
    """Beat: start the scheduled deployments whose time has come. Each is checked again
    (a lock or a freeze may have come since it was scheduled): one that may not start
    fails with the reason, visibly, and is not tried again."""
    now = now or timezone.now()
    started = []
    due = Deployment.objects.filter(
        status=DeploymentStatus.SCHEDULED, scheduled_for__lte=now
    ).values_list("pk", flat=True)
    for pk in list(due[:50]):
        with transaction.atomic():
            deployment = (
                # of=self: requested_by is a nullable (outer) join, not lockable.
                Deployment.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("environment__project", "release__project", "requested_by")
                .filter(pk=pk, status=DeploymentStatus.SCHEDULED)
                .first()
            )
            if deployment is None:
                continue  # another beat took it, or it was cancelled
            try:
                _start_scheduled(deployment)
                started.append(pk)
            except (Conflict, NotAllowed, ValidationFailed) as exc:
                deployment_transition(
                    deployment=deployment,
                    to=DeploymentStatus.FAILED,
                    error=f"Not started at its time: {exc.summary()}"[:5000],
                )
                audit_record(
                    actor=None,
                    action="deployment.failed",
                    obj=deployment,
                    after={"error": deployment.error},
                )
                emit("deployment.finished", subject=deployment, payload=_payload(deployment))
    return started


def _start_scheduled(deployment: Deployment) -> None:
    release, environment = deployment.release, deployment.environment
    override = bool(deployment.freeze_override_reason)
    if missing := deployment_blockers(release=release, environment=environment, override=override):
        raise Conflict("The deployment may not start now.", missing=missing)
    if environment.phase == EnvironmentPhase.PRODUCTION and release.status == ReleaseStatus.STAGING:
        release_transition(release=release, to=ReleaseStatus.PRODUCTION, actor=None)
    current = environment_current(environment=environment)
    # Queued now: the partial unique index decides against a deployment started meanwhile.
    try:
        with transaction.atomic():
            deployment_transition(
                deployment=deployment,
                to=DeploymentStatus.QUEUED,
                replaced=current,
                replaced_version=current.version if current else "",
                color=_next_color(environment),
                commit=release.head_commit,
            )
    except IntegrityError:
        raise Conflict(f"{environment.name} had a deployment in progress.") from None
    _dispatch(deployment, deployment.requested_by)
    audit_record(actor=None, action="deployment.started", obj=deployment, after={"scheduled": True})
    emit("deployment.started", subject=deployment, payload=_payload(deployment))


@transaction.atomic
def deployment_cancel(*, deployment: Deployment, actor) -> Deployment:
    """Cancel: a scheduled or queued one at once, a running one asks its run to stop
    (the run engine ends its command's process group)."""
    require_role(actor, {Role.RELEASE_MANAGER}, "Only a release manager cancels a deployment.")
    deployment = Deployment.objects.select_for_update().get(pk=deployment.pk)
    if deployment.is_final:
        raise Conflict(f"This deployment has already {deployment.status}.")
    if deployment.status == DeploymentStatus.SCHEDULED:
        deployment_transition(deployment=deployment, to=DeploymentStatus.CANCELLED)
        emit("deployment.finished", subject=deployment, actor=actor, payload=_payload(deployment))
    elif deployment.run_id:
        run_cancel(run=Run.objects.get(pk=deployment.run_id), actor=actor)
    audit_record(actor=actor, action="deployment.cancel_requested", obj=deployment)
    deployment.refresh_from_db()
    return deployment


@transaction.atomic
def deployment_abort(*, deployment: Deployment, actor) -> Deployment:
    """Abort and roll back: stop the deployment, then roll the environment back to what
    was verified there before (once the run has ended: see deployment_run_finished)."""
    require_role(actor, {Role.RELEASE_MANAGER}, "Only a release manager aborts a deployment.")
    deployment = Deployment.objects.select_for_update().get(pk=deployment.pk)
    if deployment.status not in {DeploymentStatus.QUEUED, DeploymentStatus.RUNNING}:
        raise Conflict("Only a queued or running deployment is aborted.")
    if deployment.is_rollback:
        raise Conflict("A rollback is not rolled back: cancel it instead.")
    Deployment.objects.filter(pk=deployment.pk).update(abort_requested_at=timezone.now())
    audit_record(actor=actor, action="deployment.abort_requested", obj=deployment)
    run_cancel(run=Run.objects.get(pk=deployment.run_id), actor=actor)
    deployment.refresh_from_db()
    return deployment


def _rollback_create(
    *, environment: Environment, undo: Deployment | None, actor, trigger: str
) -> Deployment:
    """A rollback deployment: redeploy the last stable version (blue-green: switch back to
    the colour that still runs it). Skips gates and freezes (a broken version is no thing
    to keep running), never verification."""
    current = environment_current(environment=environment)
    target = rollback_target(environment=environment, current=undo if undo is not None else current)
    if target is None:
        raise Conflict(
            f"{environment.name} has no earlier verified version to roll back to.",
            missing=["No version was ever verified there before this one."],
        )
    color = ""
    if environment.strategy == Strategy.BLUE_GREEN:
        # Instant rollback: the colour that served before still runs the last version.
        color = target.color or _next_color(environment)
    deployment = Deployment(
        environment=environment,
        release=target.release,
        kind=DeploymentKind.ROLLBACK,
        status=DeploymentStatus.QUEUED,
        trigger=trigger,
        strategy=environment.strategy,
        requested_by=actor if getattr(actor, "pk", None) else None,
        version=target.version,
        commit=target.commit,
        color=color,
        replaced=current,
        replaced_version=current.version if current else "",
        rollback_of=undo if undo is not None and undo.rollback_of_id is None else None,
    )
    if undo is not None and Deployment.objects.filter(rollback_of=undo).exists():
        deployment.rollback_of = None
    _insert(deployment)
    _dispatch(deployment, actor)
    audit_record(
        actor=actor,
        action="deployment.rollback_started",
        obj=deployment,
        after={
            "environment": environment.name,
            "to_version": target.version,
            "undoes": undo.pk if undo else None,
            "trigger": trigger,
            "checks_skipped": "A rollback skips gates and freezes, not verification.",
        },
    )
    emit("deployment.started", subject=deployment, actor=actor, payload=_payload(deployment))
    return deployment


@transaction.atomic
def environment_rollback(*, environment: Environment, actor) -> Deployment:
    """Emergency rollback: redeploy the environment's last stable version, with one click
    (and a confirmation on the page)."""
    require_role(actor, {Role.RELEASE_MANAGER}, "Only a release manager rolls back.")
    environment = Environment.objects.select_related("project").get(pk=environment.pk)
    current = environment_current(environment=environment)
    return _rollback_create(
        environment=environment, undo=current, actor=actor, trigger=Trigger.EMERGENCY
    )


@transaction.atomic
def emergency_change_review(*, change: EmergencyChange, actor, note: str = "") -> EmergencyChange:
    """A second approver reviews a freeze override (not the one who made it)."""
    require_role(actor, {Role.APPROVER}, "Only an approver reviews an emergency change.")
    change = EmergencyChange.objects.select_for_update().get(pk=change.pk)
    if change.reviewed_at:
        raise Conflict("This emergency change is reviewed already.")
    if change.approved_by_id == getattr(actor, "pk", None):
        raise NotAllowed("A second approver reviews it: not the one who overrode the freeze.")
    change.reviewed_by, change.reviewed_at, change.review_note = actor, timezone.now(), note
    change.save(update_fields=["reviewed_by", "reviewed_at", "review_note"])
    audit_record(
        actor=actor,
        action="deployment.emergency_reviewed",
        obj=change.deployment,
        after={"note": note[:500]},
    )
    return change


# --- The run's life, told by the engine ---------------------------------------------------


def deployment_running(*, deployment: Deployment) -> None:
    """The run's first step: the deployment is running."""
    if deployment.status == DeploymentStatus.QUEUED:
        deployment_transition(
            deployment=deployment, to=DeploymentStatus.RUNNING, started_at=timezone.now()
        )


def deployment_record(*, deployment: Deployment, **fields) -> None:
    """Facts a step learns (the commits it brings, a failed verification)."""
    allowed = {"new_commits", "verification_failed", "commit"}
    if set(fields) - allowed:
        raise ValueError(f"Not a fact of a deployment: {set(fields) - allowed}")
    Deployment.objects.filter(pk=deployment.pk).update(**fields)
    for name, value in fields.items():
        setattr(deployment, name, value)


def environment_color_switch(*, environment: Environment, color: str, deployment) -> None:
    """The switch step switched the traffic: the public URL answers from `color` now."""
    with transaction.atomic():
        Environment.objects.filter(pk=environment.pk).update(active_color=color)
        audit_record(
            actor=None,
            action="environment.switched",
            obj=environment,
            before={"active_color": environment.active_color or None},
            after={"active_color": color, "deployment": deployment.pk},
        )
    environment.active_color = color


def deployment_run_finished(event) -> None:
    """Handler of "run.finished" (in run_finish's transaction): the deployment ends as its
    run did, and the release and the environment follow.

    - succeeded (the verify step passed): verified; a staging environment moves a ready
      release to staging, a production one makes it released; a rollback moves the
      release it undid to rolled back;
    - failed on verification: an automatic rollback (if the environment wants it and has
      a version to go back to) and a lock with the reason;
    - cancelled by Abort and roll back: the rollback.
    """
    payload = event.payload
    if payload.get("kind") != RUN_KIND:
        return
    # of=("self",): requested_by is nullable, and PostgreSQL refuses FOR UPDATE on the
    # nullable side of an outer join (a queued deployment cancelled or aborted ended here).
    deployment = (
        Deployment.objects.select_for_update(of=("self",))
        .select_related("environment__project", "release__project", "requested_by")
        .filter(run_id=payload["run"])
        .first()
    )
    if deployment is None or deployment.is_final:
        return
    status = payload["status"]
    now = timezone.now()
    if status == RunStatus.SUCCEEDED:
        deployment_transition(
            deployment=deployment,
            to=DeploymentStatus.SUCCEEDED,
            verified=True,
            verified_at=now,
            finished_at=now,
        )
        _release_follows(deployment)
    else:
        to = (
            DeploymentStatus.CANCELLED if status == RunStatus.CANCELLED else DeploymentStatus.FAILED
        )
        deployment_transition(deployment=deployment, to=to, error=payload.get("error", "")[:5000])
    audit_record(
        actor=None,
        action=f"deployment.{deployment.status}",
        obj=deployment,
        after={"version": deployment.version, "environment": deployment.environment.name},
    )
    emit("deployment.finished", subject=deployment, payload=_payload(deployment))
    if deployment.is_rollback or deployment.status == DeploymentStatus.SUCCEEDED:
        return
    environment = deployment.environment
    if deployment.abort_requested_at:
        _rollback_or_say(deployment, trigger=Trigger.ABORT)
    elif deployment.verification_failed and environment.auto_rollback:
        rolled = _rollback_or_say(deployment, trigger=Trigger.AUTO_ROLLBACK)
        if environment.lock_after_rollback:
            _lock_for(
                environment,
                f"v{deployment.version} failed verification (deployment #{deployment.pk})"
                + (f"; rolled back to v{rolled.version}" if rolled else "")
                + ". Unlock once it is understood.",
            )


def _rollback_or_say(deployment: Deployment, *, trigger: str) -> Deployment | None:
    try:
        return _rollback_create(
            environment=deployment.environment, undo=deployment, actor=None, trigger=trigger
        )
    except Conflict as exc:
        note = f"{deployment.error}\nNo rollback: {exc.message}".strip()
        Deployment.objects.filter(pk=deployment.pk).update(error=note[:5000])
        return None


def _release_follows(deployment: Deployment) -> None:
    """Move the release as the verified deployment says (system moves, audited as such:
    their checks were made when the deployment started)."""
    release, environment = deployment.release, deployment.environment
    reason = f"Deployment #{deployment.pk} verified v{deployment.version} on {environment.name}."
    if deployment.is_rollback:
        undone = deployment.rollback_of.release if deployment.rollback_of_id else None
        if (
            undone is not None
            and undone.pk != release.pk
            and undone.status
            in {
                ReleaseStatus.STAGING,
                ReleaseStatus.PRODUCTION,
                ReleaseStatus.RELEASED,
            }
        ):
            release_transition(
                release=undone,
                to=ReleaseStatus.ROLLED_BACK,
                actor=None,
                system_reason=f"Rollback #{deployment.pk} put v{release.version} back on "
                f"{environment.name}.",
            )
        return
    if environment.phase == EnvironmentPhase.STAGING and release.status == ReleaseStatus.READY:
        release_transition(
            release=release, to=ReleaseStatus.STAGING, actor=None, system_reason=reason
        )
    elif environment.phase == EnvironmentPhase.PRODUCTION:
        if release.status == ReleaseStatus.STAGING:
            release_transition(
                release=release, to=ReleaseStatus.PRODUCTION, actor=None, system_reason=reason
            )
        if release.status == ReleaseStatus.PRODUCTION and release.tagged_at:
            release_transition(
                release=release, to=ReleaseStatus.RELEASED, actor=None, system_reason=reason
            )


@transaction.atomic
def environment_health_record(
    *, environment: Environment, ok: bool, detail: str, milliseconds: int
) -> None:
    """The periodic health check's answer: the environment's health and a sample of its
    history (the newest HEALTH_SAMPLES_KEPT are kept)."""
    now = timezone.now()
    Environment.objects.filter(pk=environment.pk).update(
        health="ok" if ok else "failing", health_detail=detail[:500], health_checked_at=now
    )
    HealthSample.objects.create(
        environment=environment, at=now, ok=ok, detail=detail[:500], milliseconds=milliseconds
    )
    old = HealthSample.objects.filter(environment=environment).order_by("-at")[HEALTH_SAMPLES_KEPT:]
    HealthSample.objects.filter(pk__in=list(old.values_list("pk", flat=True))).delete()
