# Data, step 2 of 3: each run's scope is its project's slug (every kind so far belongs to a
# project). Kept apart from the schema migrations around it, and reversible: going back
# finds the project again by its slug.

from django.db import migrations
from django.db.models import OuterRef, Subquery


def fill_scope(apps, schema_editor):
    Run = apps.get_model('runs', 'Run')
    Project = apps.get_model('releases', 'Project')
    slug = Project.objects.filter(pk=OuterRef('project_id')).values('slug')[:1]
    Run.objects.filter(project__isnull=False).update(scope=Subquery(slug))


def fill_project(apps, schema_editor):
    Run = apps.get_model('runs', 'Run')
    Project = apps.get_model('releases', 'Project')
    pk = Project.objects.filter(slug=OuterRef('scope')).values('pk')[:1]
    Run.objects.exclude(scope='').update(project_id=Subquery(pk))


class Migration(migrations.Migration):

    dependencies = [
        ('releases', '0002_project_last_synced_at_projectref'),
        ('runs', '0003_run_scope'),
    ]

    operations = [
        migrations.RunPython(fill_scope, fill_project, elidable=True),
    ]
