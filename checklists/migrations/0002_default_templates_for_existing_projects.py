"""Data migration: projects made before checklists existed get the default templates and
gates (the same as `checklists.services.project_defaults_install` gives a new project).
No audit event: the migration adds configuration, no one changed a release.

The default gates are frozen here as they were when this migration was written: they now
live in gates/defaults.py, which checklists/ does not import."""

from django.db import migrations


def install(apps, schema_editor):
    from checklists.defaults import DEFAULT_TEMPLATES
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
            # Only the fields this migration's model has (later ones add auto_key).
            TemplateItem.objects.bulk_create(
                TemplateItem(
                    template=template,
                    order=i,
                    **{k: item[k] for k in ("title", "description", "kind", "required")},
                )
                for i, item in enumerate(parse_items(spec["items"]))
            )
        if not Gate.objects.filter(project=project).exists():
            for order, spec in enumerate(DEFAULT_GATES, start=1):
                Gate.objects.create(project=project, order=order, **spec)


DEFAULT_GATES = [
    {
        "key": "coverage",
        "name": "Test coverage",
        "kind": "automated",
        "comparator": "gte",
        "threshold": 90.0,
        "unit": "%",
        "description": "Line coverage of the test suite (Cobertura XML from coverage.py).",
    },
    {
        "key": "security-scan",
        "name": "Security scan: high and critical findings",
        "kind": "automated",
        "comparator": "eq",
        "threshold": 0.0,
        "unit": "findings",
        "description": "High and critical findings of the static security scan (bandit).",
    },
    {
        "key": "dependency-vulnerabilities",
        "name": "Dependency vulnerabilities",
        "kind": "automated",
        "comparator": "eq",
        "threshold": 0.0,
        "unit": "vulnerabilities",
        "description": (
            "Known vulnerabilities in the dependencies (pip-audit --strict). A scan that "
            "could not reach its vulnerability service is not measured, never a pass."
        ),
    },
    {
        "key": "performance-regression",
        "name": "Performance regression",
        "kind": "automated",
        "comparator": "lte",
        "threshold": 5.0,
        "unit": "%",
        "description": "(value − baseline) / baseline of the performance report.",
    },
    {
        "key": "accessibility",
        "name": "Accessibility violations (WCAG 2.1 AA)",
        "kind": "automated",
        "comparator": "eq",
        "threshold": 0.0,
        "unit": "violations",
        "description": "axe-core violations, posted by CI or measured by a validation command.",
    },
    {
        "key": "security-review",
        "name": "Security review",
        "kind": "manual",
        "required_approvals": 1,
        "description": "An approver has reviewed the security assessment.",
    },
    {
        "key": "documentation",
        "name": "Documentation complete",
        "kind": "manual",
        "required_approvals": 1,
        "description": "All features documented.",
    },
    {
        "key": "personality-modes",
        "name": "All personality modes functional",
        "kind": "manual",
        "required_approvals": 1,
        "description": "Oracle, compliance and cosmic modes checked by hand.",
    },
]


class Migration(migrations.Migration):
    dependencies = [("checklists", "0001_initial"), ("releases", "0004_project_keep_approvals_on_new_commits")]
    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
