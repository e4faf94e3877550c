"""How the deployments app's actions read in the audit trail (recorded against the
deployment, the environment or the freeze window). Registered at start-up by
liftoff.apps via autodiscovery; see liftoff.audit. The words come from each event's own
`before`/`after` (no query): the services record the version and environment names."""

from liftoff.audit import quoted, register_audit_kind, register_describer

register_audit_kind("deployments", "Deployments and environments", order=45)


def _after(event) -> dict:
    return event.after if isinstance(event.after, dict) else {}


def _before(event) -> dict:
    return event.before if isinstance(event.before, dict) else {}


def _deployment(event) -> str:
    after = _after(event)
    version, environment = after.get("version"), after.get("environment")
    if version and environment:
        return f"v{version} to {environment}"
    return f"deployment #{event.object_id}"


def _started(event, ctx) -> str:
    after = _after(event)
    if after.get("scheduled"):
        return f"started scheduled deployment #{event.object_id}"
    text = f"started deploying {_deployment(event)}"
    if after.get("freeze_override"):
        text += f", overriding a freeze: {quoted(after['freeze_override'])}"
    return text


def _scheduled(event, ctx) -> str:
    at = _after(event).get("at") or "later"
    return f"scheduled {_deployment(event)} for {at}"


def _finished(verb):
    return lambda event, ctx: f"{verb} deploying {_deployment(event)}"


def _rollback(event, ctx) -> str:
    after = _after(event)
    where = after.get("environment", "the environment")
    trigger = {"emergency": "emergency", "auto_rollback": "automatic", "abort": "abort"}.get(
        after.get("trigger"), ""
    )
    words = f"started an {trigger} rollback" if trigger else "started a rollback"
    if trigger == "abort":
        words = "started the rollback of an aborted deployment"
    return f"{words} of {where} to v{after.get('to_version', '?')}"


def _reviewed(event, ctx) -> str:
    note = _after(event).get("note")
    text = f"reviewed the emergency change of deployment #{event.object_id}"
    return f"{text}: {quoted(note)}" if note else text


def _locked(event, ctx) -> str:
    reason = _after(event).get("locked_reason")
    verb = "changed the lock reason of" if _before(event).get("locked_reason") else "locked"
    text = f"{verb} environment #{event.object_id}"
    return f"{text}: {quoted(reason)}" if reason else text


def _unlocked(event, ctx) -> str:
    reason = _before(event).get("locked_reason")
    text = f"unlocked environment #{event.object_id}"
    return f"{text} (was: {quoted(reason)})" if reason else text


def _environment(verb):
    def describe(event, ctx):
        name = _after(event).get("name") or _before(event).get("name")
        return f"{verb} environment {name}" if name else f"{verb} environment #{event.object_id}"

    return describe


def _secret(verb):
    def describe(event, ctx):
        name = _after(event).get("name", "?")
        return f"{verb} secret variable {name} of environment #{event.object_id}"

    return describe


def _switched(event, ctx) -> str:
    after = _after(event)
    return f"switched environment #{event.object_id}'s traffic to {after.get('active_color')}"


def _freeze(verb):
    def describe(event, ctx):
        facts = _after(event) or _before(event)
        reason = facts.get("reason")
        return f"{verb} a freeze window: {quoted(reason)}" if reason else f"{verb} a freeze window"

    return describe


for action, describe in {
    "deployment.started": _started,
    "deployment.scheduled": _scheduled,
    "deployment.succeeded": _finished("succeeded"),
    "deployment.failed": _finished("failed"),
    "deployment.cancelled": _finished("cancelled"),
    "deployment.rollback_started": _rollback,
    "deployment.abort_requested": lambda e, ctx: (
        f"asked to abort deployment #{e.object_id} and roll back"
    ),
    "deployment.cancel_requested": lambda e, ctx: f"asked to cancel deployment #{e.object_id}",
    "deployment.emergency_reviewed": _reviewed,
    "environment.created": _environment("created"),
    "environment.updated": _environment("changed"),
    "environment.locked": _locked,
    "environment.unlocked": _unlocked,
    "environment.switched": _switched,
    "environment.secret_set": _secret("set"),
    "environment.secret_deleted": _secret("deleted"),
    "environment.health_checks": lambda e, ctx: (
        f"changed the health checks of environment #{e.object_id}"
    ),
    "environment.secret_rotated": lambda e, ctx: (
        f"rotated the webhook secret of environment #{e.object_id}"
    ),
    "freeze.created": _freeze("created"),
    "freeze.deleted": _freeze("deleted"),
}.items():
    register_describer(action, describe, kind="deployments")
