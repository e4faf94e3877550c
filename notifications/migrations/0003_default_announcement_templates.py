"""Data: the seed's three announcement templates for every project that exists already
(new projects get them from the notifications' project hook). A frozen copy: a migration
never imports app code that may change after it."""

from django.db import migrations

TEMPLATES = {
    "oracle": '🔮 The Digital Oracle has awakened to new wisdom...\n\nIn this sacred release, v{{ version }} "{{ codename }}", deeper contemplation flows through our mystical algorithms, bringing enhanced insight to the seekers of cybersecurity truth. The Oracle now perceives patterns with greater clarity, offering layered wisdom to guide your digital spiritual journey.\n\n{{ highlights }}\n\n*"Ask, and the universe of knowledge shall unfold before you."*\n',
    "compliance": '📊 RELEASE COMPLIANCE REPORT\n\n- **Version:** v{{ version }} "{{ codename }}"\n- **Classification:** {{ classification }}\n- **Risk Level:** {{ risk }} ({{ risk_reason }})\n\n## Executive Summary\n{{ summary }}\n\n## Key Improvements\n{{ highlights }}\n\n## Security Changes\n{{ security }}\n',
    "cosmic": '🌌 ✨ THE COSMOS CELEBRATES NEW MANIFESTATION ✨ 🌌\n\nBehold! A new star rises in the {{ project }} galaxy!\n\nv{{ version }} "{{ codename }}" flows forth with expanded consciousness,\nbringing beauty, wisdom, and cosmic inspiration to your\ncybersecurity practice. Let this release inspire your journey\nthrough the infinite possibilities of secure digital realms.\n\n{{ highlights }}\n\n*May your code be elegant and your security eternal...* 🌟\n',
}


def install(apps, schema_editor):
    Project = apps.get_model("releases", "Project")
    AnnouncementTemplate = apps.get_model("notifications", "AnnouncementTemplate")
    have = set(AnnouncementTemplate.objects.values_list("project_id", "tone"))
    AnnouncementTemplate.objects.bulk_create(
        AnnouncementTemplate(project=project, tone=tone, markdown=markdown)
        for project in Project.objects.all()
        for tone, markdown in TEMPLATES.items()
        if (project.pk, tone) not in have
    )


class Migration(migrations.Migration):
    dependencies = [("notifications", "0002_announcements")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
