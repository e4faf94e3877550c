"""How the gates app's actions read in a release's audit trail (they are recorded against
the release, with the gate's key). Registered at start-up by liftoff.apps via
autodiscovery; see liftoff.audit."""

from gates.models import GateStatus, QualityGate
from liftoff.audit import quoted, register_audit_context, register_audit_kind, register_describer
from releases.models import Release

RELEASE = Release._meta.label_lower
STATUSES = dict(GateStatus.choices)

register_audit_kind("gates", "Gates and approvals", order=30)


def _gate_names(events, subject) -> dict:
    """Each release's gate names by key, for the gate events among `events` (one query)."""
    ids = {
        e.object_id
        for e in events
        if e.object_type == RELEASE and e.action.startswith("gate.") and isinstance(e.after, dict)
    }
    if not ids:
        return {}
    rows = QualityGate.objects.filter(project__releases__pk__in=ids).values_list(
        "project__releases__pk", "key", "name"
    )
    return {"gate_names": {(str(release), key): name for release, key, name in rows}}


def _gate(event, ctx) -> str:
    key = event.after["gate"]
    return ctx.get("gate_names", {}).get((event.object_id, key), key)


def _decided(verb):
    def describe(event, ctx):
        text = f"{verb} {_gate(event, ctx)}"
        comment = event.after.get("comment")
        return f"{text}: {quoted(comment)}" if comment else text

    return describe


def _waived(event, ctx):
    # A gate waived while pending had no measurement on the head: the sentence says so
    # (events recorded before the status was kept have none, and read as before).
    pending = event.after.get("status") == GateStatus.PENDING
    unmeasured = " before anything measured it" if pending else ""
    return f"waived {_gate(event, ctx)}{unmeasured}: {quoted(event.after['reason'])}"


def _result(event, ctx):
    after = event.after
    status = STATUSES.get(after["status"], after["status"]).lower()
    if after.get("value") is None:
        return f"could not measure {_gate(event, ctx)} ({status})"
    return f"measured {_gate(event, ctx)} at {after['value']:g} ({after['threshold']}): {status}"


def _rule_change(event, ctx):
    """A gate's rules changed while the release was in flight: the service wrote the
    sentence ("admin added gate “Coverage” (≥ 90 %)"); the actor is shown apart."""
    after = event.after or {}
    summary = after.get("summary")
    if not summary:
        name = after.get("name") or (event.before or {}).get("name") or "a gate"
        return f"{event.action.removeprefix('gate.').replace('_', ' ')} gate “{name}”"
    who = event.actor_label if event.actor_id else "Liftoff"
    return summary.removeprefix(f"{who} ")


register_audit_context(_gate_names)
register_describer("gate.approved", _decided("approved"), kind="gates")
register_describer("gate.rejected", _decided("rejected"), kind="gates")
register_describer("gate.waived", _waived, kind="gates")
register_describer(
    "gate.waiver_revoked",
    lambda e, ctx: f"revoked the waiver of {_gate(e, ctx)} (given by {e.after['waived_by']})",
    kind="gates",
)
register_describer("gate.result", _result, kind="gates")
for action in ("gate.added", "gate.made_active", "gate.made_inactive", "gate.rule_changed"):
    register_describer(action, _rule_change, kind="gates")
register_describer("gate.deleted", _rule_change, kind="gates")
