"""How announcements read in the audit trail (recorded against the release, or the project
for its templates). Registered at start-up by liftoff.apps via autodiscovery; see
liftoff.audit. The words come from each event's own `after` (no query)."""

from liftoff.audit import register_audit_kind, register_describer

register_audit_kind("announcements", "Announcements", order=55)


def _after(event) -> dict:
    return event.after if isinstance(event.after, dict) else {}


def _published(event, ctx) -> str:
    after = _after(event)
    channels = ", ".join(after.get("channels") or []) or "no channel"
    return f"published the {after.get('tone', '')} announcement to {channels}"


register_describer(
    "announcement.edited",
    lambda event, ctx: f"edited the {_after(event).get('tone', '')} announcement’s draft",
    kind="announcements",
)
register_describer("announcement.published", _published, kind="announcements")
register_describer(
    "project.announcement_templates_changed",
    lambda event, ctx: "changed the announcement templates",
    kind="announcements",
)
