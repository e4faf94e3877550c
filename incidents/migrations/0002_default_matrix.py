"""Data: the default incident response matrix for every project that exists already (new
projects get it from the release policy's project hook). A frozen copy of the matrix:
a migration never imports app code that may change after it."""

from django.db import migrations

MATRIX = [
    ("critical", 15, "Immediate rollback", ["admin", "release_manager", "approver", "stakeholder"], 15, 2),
    ("high", 60, "Hotfix deployment", ["admin", "release_manager"], 30, 2),
    ("medium", 240, "Scheduled fix", ["release_manager"], 120, 1),
    ("low", None, "Next release", [], 0, 0),
]


def install(apps, schema_editor):
    Project = apps.get_model("releases", "Project")
    SeverityPolicy = apps.get_model("incidents", "SeverityPolicy")
    for project in Project.objects.all():
        have = set(
            SeverityPolicy.objects.filter(project=project).values_list("severity", flat=True)
        )
        SeverityPolicy.objects.bulk_create(
            SeverityPolicy(
                project=project,
                severity=severity,
                respond_minutes=minutes,
                action=action,
                audience_roles=roles,
                escalate_after_minutes=every,
                max_escalations=steps,
            )
            for severity, minutes, action, roles, every, steps in MATRIX
            if severity not in have
        )


class Migration(migrations.Migration):
    dependencies = [("incidents", "0001_initial")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
