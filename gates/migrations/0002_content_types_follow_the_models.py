"""Data migration: the content types (and so the permissions) of the moved models follow
them from the checklists app to gates, instead of being left stale beside new ones.

On a new database there are none yet (content types are made after the migrations run),
so this changes nothing there.
"""

from django.db import migrations

MOVED = ["qualitygate", "gateresult", "approval", "waiver", "validationcommand"]


def forward(apps, schema_editor):
    _relabel(apps, "checklists", "gates")


def backward(apps, schema_editor):
    _relabel(apps, "gates", "checklists")


def _relabel(apps, old: str, new: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    taken = set(ContentType.objects.filter(app_label=new).values_list("model", flat=True))
    ContentType.objects.filter(app_label=old, model__in=set(MOVED) - taken).update(app_label=new)


class Migration(migrations.Migration):
    dependencies = [
        ("gates", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(forward, backward)]
