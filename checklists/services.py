"""Every write of checklist templates, a release's checklists and their items.

Each service validates, writes and records its audit event in one transaction. Item
changes are applied field by field to the row as it is now (a conditional UPDATE of just
what the user changed), so two people ticking the same checklist never undo each other.
"""

from collections.abc import Callable

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from checklists.defaults import DEFAULT_TEMPLATES
from checklists.models import (
    AutoKey,
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
from liftoff.events import Event
from liftoff.roles import Role, require_role
from releases.models import Release
from releases.run_kinds import PREPARE, SHIP
from releases.selectors import release_closed_reason, release_of_run, release_require_open
from runs.models import RunStatus

# --- Templates ------------------------------------------------------------------------


def parse_items(text: str) -> list[dict]:
    """The template editor's format, one item a line:

        [test] [optional] [auto:tag] Title | description

    `[test]` makes a manual test scenario (given a result, not a tick), `[optional]` an
    item that does not block the release, `[auto:<key>]` an item Liftoff ticks itself
    when its run has done the thing (`AutoKey`: branch, version, notes, tag). Blank lines
    are skipped."""
    items, errors = [], []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip().removeprefix("- ").strip()
        if not line:
            continue
        kind, required, auto_key = ItemKind.CHECK, True, ""
        while line.startswith("["):
            marker, _, rest = line.partition("]")
            flag = marker[1:].strip().lower()
            if flag in {"test", "scenario"}:
                kind = ItemKind.SCENARIO
            elif flag == "optional":
                required = False
            elif flag.startswith("auto:") and flag.removeprefix("auto:") in AutoKey.values:
                auto_key = flag.removeprefix("auto:")
            elif flag.startswith("auto:"):
                keys = ", ".join(f"[auto:{key}]" for key in AutoKey.values)
                errors.append(f"Line {number}: unknown marker [{flag}] (use {keys}).")
            else:
                errors.append(
                    f"Line {number}: unknown marker [{flag}] (use [test], [optional] or [auto:…])."
                )
            line = rest.strip()
        title, _, description = line.partition(" | ")
        title = title.strip()
        if not title:
            errors.append(f"Line {number}: the item has no title.")
            continue
        if len(title) > 200:
            errors.append(f"Line {number}: the title is longer than 200 characters.")
            continue
        if auto_key and kind == ItemKind.SCENARIO:
            errors.append(f"Line {number}: a test scenario is run by a person, not by Liftoff.")
            continue
        items.append(
            {
                "title": title,
                "description": description.strip(),
                "kind": kind,
                "required": required,
                "auto_key": auto_key,
            }
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
        flags = (
            ("[test] " if item.kind == ItemKind.SCENARIO else "")
            + ("" if item.required else "[optional] ")
            + (f"[auto:{item.auto_key}] " if item.auto_key else "")
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
            auto_key=item.auto_key,
        )
        for checklist, template in zip(checklists, templates, strict=True)
        for item in template.items.all()
    ]
    ChecklistItem.objects.bulk_create(items)
    return len(items)


NOTE_MAX_LENGTH = 2000


def _note_problem(note: str) -> str | None:
    if len(note) > NOTE_MAX_LENGTH:
        return f"Keep the note under {NOTE_MAX_LENGTH:,} characters."
    return None


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
        if problem := _note_problem(note):
            errors["note"] = [problem]
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
        after = dict(fields)
        fields.update(updated_by=actor, updated_at=timezone.now())
        if "done" in fields:
            fields["ticked_by_liftoff"] = False  # a person's tick or untick is theirs now
        ChecklistItem.objects.filter(pk=item.pk).update(**fields)
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


def checklist_complete_all(*, checklist: Checklist, actor, note: str = "") -> list[ChecklistItem]:
    """Tick every open check item of `checklist` at once ("Mark all done"), refused like
    one tick (a release manager, an open release). Test scenarios are left alone: a test
    is run and given a result, never ticked in bulk. Returns the items it ticked.

    1. Lock the release row: item changes of a release are serialised on it, so the
       checklist's version (the latest change) only grows.
    2. Read the open check items as they are now (a colleague may have ticked some), lock
       them, tick them in one UPDATE. `note`, if given, goes on those without a note of
       their own (a colleague's note is never overwritten).
    3. One audit event per item, like a single tick: an item's own history (and the
       compliance report built from the trail) says who ticked it, when, and that it was
       "mark all done", whichever way it was ticked."""
    require_role(actor, {Role.RELEASE_MANAGER}, "Only release managers tick checklists.")
    note = (note or "").strip()
    if problem := _note_problem(note):
        raise ValidationFailed("The items could not be ticked.", errors={"note": [problem]})
    with transaction.atomic():
        release = Release.objects.select_for_update().get(pk=checklist.release_id)
        release_require_open(release=release)
        items = list(
            ChecklistItem.objects.select_for_update().filter(
                checklist=checklist, kind=ItemKind.CHECK, done=False
            )
        )
        if not items:
            return []
        pks = [item.pk for item in items]
        ChecklistItem.objects.filter(pk__in=pks).update(
            done=True, ticked_by_liftoff=False, updated_by=actor, updated_at=timezone.now()
        )
        if note:
            ChecklistItem.objects.filter(pk__in=pks, note="").update(note=note)
        for item in items:
            after = {"done": True, "release": release.pk, "title": item.title}
            if note and not item.note:
                after["note"] = note
            audit_record(
                actor=actor,
                action="checklist_item.ticked",
                obj=item,
                before={"done": False},
                after={**after, "via": "mark all done"},
            )
    return items


# --- What Liftoff did itself ----------------------------------------------------------

# The items each of Liftoff's own runs ticks when it succeeds, and the note it leaves. A
# succeeded run has done every step: Prepare pushed the branch with the bumped version
# and drafted the notes (or kept a person's), Ship pushed the tag.
LIFTOFF_DOES: dict[str, dict[str, Callable]] = {
    PREPARE.name: {
        AutoKey.BRANCH: lambda release, run: f"Branch {release.branch} pushed by run #{run.pk}",
        AutoKey.VERSION: lambda release, run: (
            f"Version {release.version} committed by run #{run.pk}"
        ),
        AutoKey.NOTES: lambda release, run: (
            f"Release notes {'kept as edited' if release.notes_edited else 'drafted'} "
            f"by run #{run.pk}"
        ),
    },
    SHIP.name: {
        AutoKey.TAG: lambda release, run: f"Tag {release.tag} pushed by run #{run.pk}",
    },
}


def checklist_items_tick_by_liftoff(*, release: Release, notes: dict[str, str]) -> int:
    """Tick the release's open items whose machine key is in `notes` ({key: note}) as done
    by Liftoff (no user), each with its note unless a person wrote one, and audited with
    no actor. Items already done, scenarios and closed releases are left alone. Runs in
    the caller's transaction (an event handler's). Returns how many it ticked."""
    locked = Release.objects.select_for_update().get(pk=release.pk)
    if release_closed_reason(locked):
        return 0
    items = list(
        ChecklistItem.objects.select_for_update().filter(
            release=release, kind=ItemKind.CHECK, done=False, auto_key__in=list(notes)
        )
    )
    now = timezone.now()
    for item in items:
        note = item.note or notes[item.auto_key]
        ChecklistItem.objects.filter(pk=item.pk).update(
            done=True, ticked_by_liftoff=True, updated_by=None, updated_at=now, note=note
        )
        audit_record(
            actor=None,
            action="checklist_item.ticked",
            obj=item,
            before={"done": False},
            after={"done": True, "release": release.pk, "title": item.title, "note": note},
        )
    return len(items)


def on_run_finished(event: Event) -> None:
    """`run.finished` handler: a succeeded Prepare or Ship run ticks what it did."""
    does = LIFTOFF_DOES.get(event.payload.get("kind"))
    if not does or event.payload.get("status") != RunStatus.SUCCEEDED:
        return
    run = event.subject
    release = release_of_run(run)
    checklist_items_tick_by_liftoff(
        release=release, notes={key: note(release, run) for key, note in does.items()}
    )
