"""Data migration: the default item that Liftoff does itself gets its machine key, in the
projects' templates and in the open releases' checklists, found by its default title
("Release tag created" in a production checklist), so that the ship run ticks it.

Only that item: the other keys (branch, version, notes) have no default item, and an
item a team renamed is theirs to mark (`[auto:tag]` in the template editor). Released,
cancelled and rolled back releases keep their items as they were. No audit event: this
adds configuration, nobody ticked anything."""

from django.db import migrations

TITLE, PHASE, KEY = "Release tag created", "production", "tag"
CLOSED = ("released", "cancelled", "rolled_back")


def set_keys(apps, schema_editor):
    TemplateItem = apps.get_model("checklists", "ChecklistTemplateItem")
    Item = apps.get_model("checklists", "ChecklistItem")
    TemplateItem.objects.filter(title=TITLE, template__phase=PHASE, auto_key="").update(
        auto_key=KEY
    )
    Item.objects.filter(title=TITLE, checklist__phase=PHASE, auto_key="").exclude(
        release__status__in=CLOSED
    ).update(auto_key=KEY)


def clear_keys(apps, schema_editor):
    for model in ("ChecklistTemplateItem", "ChecklistItem"):
        apps.get_model("checklists", model).objects.filter(auto_key=KEY, title=TITLE).update(
            auto_key=""
        )


class Migration(migrations.Migration):
    dependencies = [("checklists", "0004_auto_key"), ("releases", "0001_initial")]

    operations = [migrations.RunPython(set_keys, clear_keys)]
