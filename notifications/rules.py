"""What each event says and to whom: one table, read by the handlers, the preferences
page and the tests."""

from dataclasses import dataclass

from liftoff.events import EVENTS
from liftoff.roles import Role

MANAGERS = frozenset({Role.RELEASE_MANAGER, Role.ADMIN})
EVERYONE = frozenset(Role)


@dataclass(frozen=True)
class Rule:
    label: str
    audience: frozenset[Role]
    # E-mail by default (no Preference row): only what needs someone to act.
    email_by_default: bool = False
    # The event's payload names its channels (`channels`): the publisher chose them.
    channels_chosen: bool = False


# The events that notify. Incidents' audience comes from the event's `audience` roles
# when it carries them (the severity policy decides), else MANAGERS.
RULES: dict[str, Rule] = {
    "approval.requested": Rule("Sign-off requested", frozenset({Role.APPROVER}), True),
    "gate.failed": Rule("Quality gate failed", MANAGERS),
    "validation.finished": Rule("Validation finished", MANAGERS),
    "deployment.started": Rule("Deployment started", MANAGERS),
    "deployment.finished": Rule("Deployment finished", MANAGERS),
    "emergency_change.recorded": Rule("Emergency change recorded", MANAGERS),
    "incident.opened": Rule("Incident opened", MANAGERS, True),
    "incident.acknowledged": Rule("Incident acknowledged", MANAGERS, True),
    "incident.escalated": Rule("Incident escalated", MANAGERS, True),
    "incident.resolved": Rule("Incident resolved", MANAGERS, True),
    "release.shipped": Rule("Release shipped", EVERYONE),
    # E-mailed by default when the publisher chooses e-mail; a user's preference still rules.
    "announcement.published": Rule("Announcement published", EVERYONE, True, True),
}
# Only events that exist: an event renamed in liftoff.events fails here, at start-up.
assert set(RULES) <= set(EVENTS), set(RULES) - set(EVENTS)


ALL_CHANNELS = frozenset({"in_app", "email", "webhook"})


def chosen_channels(event: str, payload: dict) -> frozenset[str]:
    """The channels `event` goes out on: those its payload names when its publisher
    chose them (an announcement), else every channel."""
    rule = RULES.get(event)
    if rule is not None and rule.channels_chosen:
        return frozenset(payload.get("channels") or ()) & ALL_CHANNELS
    return ALL_CHANNELS


def default_channels(event: str) -> dict[str, bool]:
    rule = RULES.get(event)
    return {"in_app": True, "email": bool(rule and rule.email_by_default)}


def audience(event: str, payload: dict) -> frozenset[Role]:
    """The roles that hear of `event`."""
    rule = RULES[event]
    if event.startswith("incident.") and payload.get("audience"):
        named = payload["audience"]
        named = [named] if isinstance(named, str) else named
        roles = frozenset(Role(r) for r in named if r in Role._value2member_map_)
        return roles or rule.audience
    return rule.audience


def _label(value) -> str:
    return str(value) if value not in (None, "") else "?"


def title(event: str, subject, payload: dict) -> str:
    """One line a person reads in the inbox, an e-mail subject, a Slack message."""
    p = payload
    if event == "approval.requested":
        return f"Sign-off requested for {subject}: {', '.join(p.get('gates') or [])}"
    if event == "gate.failed":
        return (
            f"Gate {p.get('gate')} {str(p.get('status', 'failed')).replace('_', ' ')} on {subject}"
        )
    if event == "validation.finished":
        return f"Validation of {subject} {_label(p.get('status'))}"
    if event == "deployment.started":
        verb = "Rolling back" if p.get("kind") == "rollback" else "Deploying"
        return f"{verb} {p.get('project')} {p.get('version')} to {p.get('environment')}"
    if event == "deployment.finished":
        return (
            f"{p.get('project')} {p.get('version')} on {p.get('environment')}: "
            f"{deployment_outcome(p)}"
        )
    if event == "emergency_change.recorded":
        return f"Emergency change to {p.get('environment')} waits for review"
    if event.startswith("incident."):
        what = event.split(".", 1)[1]
        severity = f" ({p['severity']})" if p.get("severity") else ""
        return f"Incident {what}{severity}: {p.get('title') or subject}"
    if event == "release.shipped":
        return f"{subject} shipped ({_label(p.get('tag'))})"
    if event == "announcement.published":
        return f"Announcement: {subject}" + (f" “{p['codename']}”" if p.get("codename") else "")
    return f"{event}: {subject}"


def deployment_outcome(payload: dict) -> str:
    """succeeded / failed / rolled back / cancelled, from deployment.finished's payload."""
    status = payload.get("status", "")
    if payload.get("kind") == "rollback" and status == "succeeded":
        return "rolled back"
    return str(status).replace("_", " ") or "finished"


def body(event: str, payload: dict, *, limit: int = 2000) -> str:
    """The details, one `key: value` a line (the payload minus what the title said); an
    announcement's is its text."""
    if event == "announcement.published":
        return str(payload.get("markdown", ""))[:limit]
    skip = {"project", "title"}
    lines = [
        f"{key.replace('_', ' ')}: {value}"
        for key, value in payload.items()
        if key not in skip and value not in (None, "", [], {})
    ]
    return "\n".join(lines)[:limit]
