"""Data migration: projects made before the licence gate get it, inactive.

A new project gets it active (gates/defaults.py), with the rest of its default gates,
before it has any release. An existing project may have releases on their way: an active
gate that nothing measures yet would block each of them ("not measured yet") until an
admin configures the command that feeds it. So it arrives inactive; the gates page lists
it, and an admin activates it once a validation command reports to it (docs/validation.md).

The gate is frozen here as it was when this migration was written. No audit event: the
migration adds configuration, no one changed a release."""

from django.db import migrations
from django.db.models import Max

GATE = {
    "key": "dependency-licences",
    "name": "Dependency licences",
    "kind": "automated",
    "comparator": "eq",
    "threshold": 0.0,
    "unit": "packages",
    "description": (
        "Packages whose licence the project's allow-list does not allow, read from a "
        "CycloneDX SBOM of the installed environment (cyclonedx-py environment). A "
        "licence that cannot be read is not measured, never a pass."
    ),
}


def install(apps, schema_editor):
    Project = apps.get_model("releases", "Project")
    Gate = apps.get_model("gates", "QualityGate")
    for project in Project.objects.exclude(quality_gates__key=GATE["key"]):
        order = Gate.objects.filter(project=project).aggregate(m=Max("order"))["m"] or 0
        Gate.objects.create(project=project, order=order + 1, active=False, **GATE)


def uninstall(apps, schema_editor):
    # Only the gates this migration made: inactive, and never measured.
    Gate = apps.get_model("gates", "QualityGate")
    Gate.objects.filter(key=GATE["key"], active=False, results__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("gates", "0004_licence_policy")]

    operations = [migrations.RunPython(install, uninstall)]
