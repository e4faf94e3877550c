"""Data migration: projects made before checklists existed get the default templates and
gates (the same as `checklists.services.project_defaults_install` gives a new project).
No audit event: the migration adds configuration, no one changed a release."""

from django.db import migrations


def install(apps, schema_editor):
    from checklists.defaults import DEFAULT_GATES, DEFAULT_TEMPLATES
    from checklists.services import parse_items

    Project = apps.get_model("releases", "Project")
    Template = apps.get_model("checklists", "ChecklistTemplate")
    TemplateItem = apps.get_model("checklists", "ChecklistTemplateItem")
    Gate = apps.get_model("checklists", "QualityGate")
    for project in Project.objects.all():
        if Template.objects.filter(project=project).exists():
            continue
        for order, spec in enumerate(DEFAULT_TEMPLATES, start=1):
            template = Template.objects.create(
                project=project, phase=spec["phase"], name=spec["name"],
                description=spec["description"], order=order,
            )
            TemplateItem.objects.bulk_create(
                TemplateItem(template=template, order=i, **item)
                for i, item in enumerate(parse_items(spec["items"]))
            )
        if not Gate.objects.filter(project=project).exists():
            for order, spec in enumerate(DEFAULT_GATES, start=1):
                Gate.objects.create(project=project, order=order, **spec)


class Migration(migrations.Migration):
    dependencies = [("checklists", "0001_initial"), ("releases", "0004_project_keep_approvals_on_new_commits")]
    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
