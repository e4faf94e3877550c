"""Data: the seed's retrospective questions for every project that exists already (new
projects get them from the releases' project hook). A frozen copy: a migration never
imports app code that may change after it."""

from django.db import migrations

GROUPS = [
    {
        "heading": "🔮 Oracle Reflection",
        "questions": [
            "What wisdom did this release bring to our cosmic journey?",
            "How did the development process serve our spiritual growth?",
            "What deeper insights emerged through the challenges faced?",
        ],
    },
    {
        "heading": "📊 Compliance Review",
        "questions": [
            "Were all process gates followed correctly?",
            "What documentation gaps need addressing?",
            "How can we improve our audit trails?",
        ],
    },
    {
        "heading": "🌠 Cosmic Celebration",
        "questions": [
            "How do we honor the team's creative contributions?",
            "What beauty emerged through our collaborative efforts?",
            "How can we share our cosmic joy with the community?",
        ],
    },
]


def install(apps, schema_editor):
    Project = apps.get_model("releases", "Project")
    RetroTemplate = apps.get_model("releases", "RetroTemplate")
    have = set(RetroTemplate.objects.values_list("project_id", flat=True))
    RetroTemplate.objects.bulk_create(
        RetroTemplate(project=project, groups=GROUPS) for project in Project.objects.exclude(pk__in=have)
    )


class Migration(migrations.Migration):
    dependencies = [("releases", "0010_retrospectives")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
