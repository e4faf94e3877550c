"""Every write of checklist templates, a release's checklists and their items.

Each service validates, writes and records its audit event in one transaction. Item
changes are applied field by field to the row as it is now (a conditional UPDATE of just
what the user changed), so two people ticking the same checklist never undo each other.
"""

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from checklists.defaults import DEFAULT_TEMPLATES
from checklists.models import (
    Checklist,
    ChecklistItem,
    ChecklistTemplate,
    ChecklistTemplateItem,
    ItemKind,
    ItemResult,
    Phase,
)
from liftoff.audit import audit_record
from liftoff.errors import ValidationFailed
from liftoff.roles import Role, require_role
from releases.models import Release
from releases.selectors import release_require_open

# --- Templates ------------------------------------------------------------------------


def parse_items(text: str) -> list[dict]:
    """The template editor's format, one item a line:

        [test] [optional] Title | description

    `[test]` makes a manual test scenario (given a result, not a tick), `[optional]` an
    item that does not block the release. Blank lines are skipped."""
    items, errors = [], []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip().removeprefix("- ").strip()
        if not line:
            continue
        kind, required = ItemKind.CHECK, True
        while line.startswith("["):
            marker, _, rest = line.partition("]")
            flag = marker[1:].strip().lower()
            if flag in {"test", "scenario"}:
                kind = ItemKind.SCENARIO
            elif flag == "optional":
                required = False
            else:
                errors.append(f"Line {number}: unknown marker [{flag}] (use [test] or [optional]).")
            line = rest.strip()
        title, _, description = line.partition(" | ")
        title = title.strip()
        if not title:
            errors.append(f"Line {number}: the item has no title.")
            continue
        if len(title) > 200:
            errors.append(f"Line {number}: the title is longer than 200 characters.")
            continue
        items.append(
            {"title": title, "description": description.strip(), "kind": kind, "required": required}
        )
    if errors:
        raise ValidationFailed("The items could not be read.", errors={"items": errors})
    if not items:
        raise ValidationFailed(
            "A checklist needs at least one item.", errors={"items": ["List at least one item."]}
        )
    return items


def items_as_text(items) -> str:
    """The inverse of parse_items, for the editor."""
    lines = []
    for item in items:
        flags = ("[test] " if item.kind == ItemKind.SCENARIO else "") + (
            "" if item.required else "[optional] "
        )
        lines.append(
            f"{flags}{item.title}" + (f" | {item.description}" if item.description else "")
        )
    return "\n".join(lines)


@transaction.atomic
def checklist_template_save(
    *,
    actor,
    project,
    name: str,
    phase: str,
    items_text: str,
    description: str = "",
    order: int | None = None,
    active: bool = True,
    template: ChecklistTemplate | None = None,
) -> ChecklistTemplate:
    """Create or replace a template and its items. Releases already planned keep the
    checklists they were given."""
    require_role(actor, {Role.ADMIN}, "Only admins edit checklist templates.")
    name = (name or "").strip()
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = ["This field is required."]
    if phase not in Phase.values:
        errors["phase"] = [f"Choose one of {', '.join(Phase.values)}."]
    try:
        items = parse_items(items_text or "")
    except ValidationFailed as exc:
        errors.update(exc.errors)
        items = []
    clash = ChecklistTemplate.objects.filter(project=project, name__iexact=name)
    if template is not None:
        clash = clash.exclude(pk=template.pk)
    if name and clash.exists():
        errors["name"] = [f"{project.name} has a template called “{name}” already."]
    if errors:
        raise ValidationFailed("The template could not be saved.", errors=errors)
    if order is None:
        order = (
            template.order
            if template
            else (project.checklist_templates.aggregate(m=Max("order"))["m"] or 0) + 1
        )
    before = None
    if template is None:
        template = ChecklistTemplate(project=project)
    else:
        before = {"name": template.name, "phase": template.phase, "items": template.items.count()}
        template.items.all().delete()
    template.name, template.phase, template.description = name, phase, description.strip()
    template.order, template.active = order, active
    template.save()
    ChecklistTemplateItem.objects.bulk_create(
        ChecklistTemplateItem(template=template, order=i, **item) for i, item in enumerate(items)
    )
    audit_record(
        actor=actor,
        action="checklist_template.saved",
        obj=template,
        before=before,
        after={"project": project.slug, "name": name, "phase": phase, "items": len(items)},
    )
    return template


@transaction.atomic
def checklist_template_delete(*, actor, template: ChecklistTemplate) -> None:
    require_role(actor, {Role.ADMIN}, "Only admins edit checklist templates.")
    audit_record(
        actor=actor,
        action="checklist_template.deleted",
        obj=template,
        before={"name": template.name, "phase": template.phase},
    )
    template.delete()


@transaction.atomic
def project_templates_install(*, project, actor=None) -> int:
    """Give a project the default templates it does not have yet (by name), so that
    running it again changes nothing. Returns how many it added."""
    made = 0
    names = set(project.checklist_templates.values_list("name", flat=True))
    for order, spec in enumerate(DEFAULT_TEMPLATES, start=1):
        if spec["name"] in names:
            continue
        template = ChecklistTemplate.objects.create(
            project=project,
            phase=spec["phase"],
            name=spec["name"],
            description=spec["description"],
            order=order,
        )
        ChecklistTemplateItem.objects.bulk_create(
            ChecklistTemplateItem(template=template, order=i, **item)
            for i, item in enumerate(parse_items(spec["items"]))
        )
        made += 1
    if made:
        audit_record(
            actor=actor, action="project.defaults_installed", obj=project, after={"templates": made}
        )
    return made


# --- A release's checklists -------------------------------------------------------------


def release_checklists_create(*, release) -> int:
    """Copy the project's active templates into the release (in the caller's
    transaction: a release never exists without its checklists)."""
    templates = list(
        ChecklistTemplate.objects.filter(
            project_id=release.project_id, active=True
        ).prefetch_related("items")
    )
    checklists = Checklist.objects.bulk_create(
        Checklist(
            release=release,
            template=t,
            phase=t.phase,
            name=t.name,
            description=t.description,
            order=t.order,
        )
        for t in templates
    )
    items = [
        ChecklistItem(
            checklist=checklist,
            release=release,
            order=item.order,
            title=item.title,
            description=item.description,
            kind=item.kind,
            required=item.required,
        )
        for checklist, template in zip(checklists, templates, strict=True)
        for item in template.items.all()
    ]
    ChecklistItem.objects.bulk_create(items)
    return len(items)


def checklist_item_update(
    *,
    item: ChecklistItem,
    actor,
    done: bool | None = None,
    result: str | None = None,
    note: str | None = None,
) -> ChecklistItem:
    """Tick, untick, give a scenario its result, or write a note. Only the fields given
    change, on the row as it is now: a colleague's change to another item, or to another
    field of this one, is kept."""
    require_role(actor, {Role.RELEASE_MANAGER}, "Only release managers tick checklists.")
    if done is None and result is None and note is None:
        raise ValidationFailed("Nothing to change: send done, result or note.")
    fields: dict = {}
    errors: dict[str, list[str]] = {}
    if item.kind == ItemKind.SCENARIO:
        if done is not None:
            errors["done"] = ["A test scenario is given a result, not a tick."]
        if result is not None:
            if result not in ItemResult.values and result != "":
                errors["result"] = ["Choose pass, fail, blocked or na (or empty to clear)."]
            fields["result"] = result
            fields["done"] = result in {ItemResult.PASS, ItemResult.NOT_APPLICABLE}
    else:
        if result not in (None, ""):
            errors["result"] = ["Only a test scenario has a result; tick this item instead."]
        if done is not None:
            fields["done"] = bool(done)
    if note is not None:
        if len(note) > 2000:
            errors["note"] = ["Keep the note under 2,000 characters."]
        fields["note"] = note.strip()
    if errors:
        raise ValidationFailed("The item could not be changed.", errors=errors)
    with transaction.atomic():
        release = Release.objects.select_for_update().get(pk=item.release_id)
        release_require_open(release=release)
        current = ChecklistItem.objects.select_for_update().get(pk=item.pk)
        before = {f: getattr(current, f) for f in fields}
        if before == fields:
            return current  # Already so (a double click, or a colleague did it): no event.
        fields.update(updated_by=actor, updated_at=timezone.now())
        ChecklistItem.objects.filter(pk=item.pk).update(**fields)
        after = {k: v for k, v in fields.items() if k not in {"updated_by", "updated_at"}}
        if "done" in after and after["done"] is False and before.get("done"):
            action = "checklist_item.unticked"
        elif "result" in after:
            action = "checklist_item.result"
        elif "done" in after:
            action = "checklist_item.ticked"
        else:
            action = "checklist_item.noted"
        audit_record(
            actor=actor,
            action=action,
            obj=current,
            before=before,
            after={**after, "release": release.pk, "title": current.title},
        )
    current.refresh_from_db()
    return current
