"""Name and link the runs made before runs recorded what they are about (runs 0006):
a release's as "<project slug> v<version>", a project's by its name, as the models'
`__str__` and `get_absolute_url` do today. Paths are written as they are in this version."""

from django.db import migrations


def fill(apps, schema_editor):
    Run = apps.get_model("runs", "Run")
    ContentType = apps.get_model("contenttypes", "ContentType")
    Release = apps.get_model("releases", "Release")
    Project = apps.get_model("releases", "Project")
    types = {
        (ct.app_label, ct.model): ct.pk
        for ct in ContentType.objects.filter(app_label="releases", model__in=["release", "project"])
    }
    if release_type := types.get(("releases", "release")):
        ids = Run.objects.filter(subject_type_id=release_type, subject_label="").values_list(
            "subject_id", flat=True
        )
        releases = Release.objects.filter(pk__in={int(i) for i in ids if i.isdigit()})
        for release in releases.select_related("project"):
            Run.objects.filter(subject_type_id=release_type, subject_id=str(release.pk)).update(
                subject_label=f"{release.project.slug} v{release.version}",
                subject_url=f"/releases/{release.pk}/",
            )
    if project_type := types.get(("releases", "project")):
        ids = Run.objects.filter(subject_type_id=project_type, subject_label="").values_list(
            "subject_id", flat=True
        )
        for project in Project.objects.filter(pk__in={int(i) for i in ids if i.isdigit()}):
            Run.objects.filter(subject_type_id=project_type, subject_id=str(project.pk)).update(
                subject_label=project.name[:200], subject_url=f"/projects/{project.slug}/"
            )


class Migration(migrations.Migration):
    dependencies = [
        ("releases", "0005_release_suggestion"),
        ("runs", "0006_run_subject_label_outcome"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
