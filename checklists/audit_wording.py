"""How the checklists app's actions read in a release's audit trail, and which events are
a release's: its items' (recorded against the item). Registered at start-up by
liftoff.apps via autodiscovery; see liftoff.audit."""

from django.db.models import CharField, Q
from django.db.models.functions import Cast

from checklists.models import ChecklistItem, ItemResult
from liftoff.audit import quoted, register_audit_kind, register_audit_scope, register_describer
from releases.models import Release

ITEM = ChecklistItem._meta.label_lower
RESULTS = dict(ItemResult.choices)

register_audit_kind("checklists", "Checklists", order=20)


def _release_items(object_type: str, object_id: str) -> Q | None:
    if object_type != Release._meta.label_lower:
        return None
    items = (
        ChecklistItem.objects.filter(release_id=object_id)
        .annotate(key=Cast("pk", CharField()))
        .values("key")
    )
    return Q(object_type=ITEM, object_id__in=items)


def _with_note(text: str, event) -> str:
    note = event.after.get("note")
    return f"{text}: {quoted(note)}" if note else text


def _result(event, ctx):
    result = event.after["result"]
    if not result:
        return f"cleared the result of {event.after['title']}"
    return _with_note(f"marked {event.after['title']} {RESULTS.get(result, result).lower()}", event)


register_audit_scope(_release_items)
register_describer(
    "checklist_item.ticked",
    lambda e, ctx: _with_note(f"ticked {e.after['title']}", e),
    kind="checklists",
)
register_describer(
    "checklist_item.unticked",
    lambda e, ctx: _with_note(f"unticked {e.after['title']}", e),
    kind="checklists",
)
register_describer("checklist_item.result", _result, kind="checklists")
register_describer(
    "checklist_item.noted",
    lambda e, ctx: (
        f"noted on {e.after['title']}: {quoted(e.after['note'])}"
        if e.after.get("note")
        else f"cleared the note of {e.after['title']}"
    ),
    kind="checklists",
)
