"""How the incidents app's actions read in the audit trail (recorded against the incident
or, for the matrix, the project). Registered at start-up by liftoff.apps via
autodiscovery; see liftoff.audit. The words come from each event's own `before`/`after`
(no query): the services record the title and what changed."""

from liftoff.audit import quoted, register_audit_kind, register_describer

register_audit_kind("incidents", "Incidents", order=50)


def _after(event) -> dict:
    return event.after if isinstance(event.after, dict) else {}


def _incident(event) -> str:
    title = _after(event).get("title")
    return (
        f"incident #{event.object_id} {quoted(title)}" if title else f"incident #{event.object_id}"
    )


def _opened(event, ctx) -> str:
    after = _after(event)
    where = f" on {after['environment']}" if after.get("environment") else ""
    security = " security" if after.get("security") else ""
    return f"opened {after.get('severity', '')}{security} {_incident(event)}{where}"


def _moved(verb):
    def describe(event, ctx):
        summary = _after(event).get("summary")
        text = f"{verb} {_incident(event)}"
        return f"{text}: {quoted(summary)}" if summary else text

    return describe


def _note(event, ctx) -> str:
    return f"added a note to incident #{event.object_id}: {quoted(_after(event).get('note'))}"


def _deployment(event, ctx) -> str:
    after = _after(event)
    what = f"deployment #{after['deployment']}" if after.get("deployment") else "no deployment"
    return f"set incident #{event.object_id} to be about {what}: {quoted(after.get('reason'))}"


def _escalated(event, ctx) -> str:
    after = _after(event)
    who = ", ".join(after.get("audience", {}).get("roles", [])) or "nobody"
    return f"escalated incident #{event.object_id} (step {after.get('step')}) to {who}"


register_describer("incident.opened", _opened, kind="incidents")
register_describer("incident.acknowledged", _moved("acknowledged"), kind="incidents")
register_describer("incident.mitigated", _moved("mitigated"), kind="incidents")
register_describer("incident.resolved", _moved("resolved"), kind="incidents")
register_describer("incident.note_added", _note, kind="incidents")
register_describer("incident.deployment_changed", _deployment, kind="incidents")


def _security(event, ctx) -> str:
    after = _after(event)
    what = "a security incident" if after.get("security") else "not a security incident"
    return f"marked incident #{event.object_id} as {what}: {quoted(after.get('reason'))}"


register_describer("incident.security_changed", _security, kind="incidents")
register_describer(
    "incident.postmortem_updated",
    lambda event, ctx: f"edited the postmortem of incident #{event.object_id}",
    kind="incidents",
)
register_describer(
    "incident.hotfix_linked",
    lambda event, ctx: (
        f"linked release #{_after(event).get('release')} as the hotfix of "
        f"incident #{event.object_id}"
    ),
    kind="incidents",
)
register_describer(
    "incident.breached",
    lambda event, ctx: f"marked incident #{event.object_id} as past its response time",
    kind="incidents",
)
register_describer("incident.escalated", _escalated, kind="incidents")
register_describer(
    "project.incident_matrix_installed",
    lambda event, ctx: "installed the default incident response matrix",
    kind="incidents",
)
register_describer(
    "project.incident_settings_changed",
    lambda event, ctx: (
        "changed the incident settings"
        + (
            " (stakeholders may open incidents)"
            if _after(event).get("stakeholders_may_open")
            else ""
        )
    ),
    kind="incidents",
)


def _policy_changed(event, ctx) -> str:
    after = _after(event)
    minutes = after.get("respond_minutes")
    clock = f"respond within {minutes} min" if minutes else "no response clock"
    return (
        f"changed the {after.get('severity', '')} row of the incident response matrix: "
        f"{clock}, {quoted(after.get('action'))}"
    )


register_describer("project.severity_policy_changed", _policy_changed, kind="incidents")
