"""Data: the seed's notes template for every project that exists already (new projects get
it from the releases' project hook). A frozen copy: a migration never imports app code
that may change after it."""

from django.db import migrations

SECTIONS = [
    {"key": "breaking", "heading": "⚠️ Breaking changes", "match": ["!"], "level": 2},
    {
        "key": "features",
        "heading": "✨ Cosmic Highlights",
        "match": ["feat"],
        "level": 2,
        "empty": "_No new features in this release._",
    },
    {"key": "performance", "heading": "⚡ Performance", "match": ["perf"], "level": 2},
    {
        "key": "security",
        "heading": "🛡️ Security Fortifications",
        "match": ["security", "(security)"],
        "level": 2,
    },
    {"key": "fixes", "heading": "🐛 Bug Exorcisms", "match": ["fix"], "level": 2},
    {"key": "docs", "heading": "📚 Documentation", "match": ["docs"], "level": 2},
    {"key": "other", "heading": "🔧 Other changes", "match": ["*"], "level": 2},
]
QUOTE = (
    "In this cosmic milestone, new wisdom flows through digital channels, strengthening "
    "our sacred defenses and expanding consciousness through code."
)
FOOTER = '**"May this release serve the highest good of the digital realm."** ✨'


def install(apps, schema_editor):
    Project = apps.get_model("releases", "Project")
    NotesTemplate = apps.get_model("releases", "NotesTemplate")
    have = set(NotesTemplate.objects.values_list("project_id", flat=True))
    NotesTemplate.objects.bulk_create(
        NotesTemplate(
            project=project,
            sections=SECTIONS,
            quote=QUOTE,
            footer=FOOTER,
            contributors=True,
            contributors_heading="🙏 Gratitude & Recognition",
        )
        for project in Project.objects.exclude(pk__in=have)
    )


class Migration(migrations.Migration):
    dependencies = [("releases", "0008_notes_template")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
