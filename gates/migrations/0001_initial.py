"""The quality gates, their results, approvals, waivers and validation commands move
from checklists/ to gates/: in Django's state only. Their tables, constraints and indexes
stay as they are (`checklists_*`, named in each model's `Meta.db_table`), so an existing
database upgrades without a change, and the foreign keys to them keep working.

checklists 0003 then drops the models from the checklists app's state (no SQL either).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("checklists", "0002_default_templates_for_existing_projects"),
        ("releases", "0004_project_keep_approvals_on_new_commits"),
        ("runs", "0002_run_command_pgid"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name='QualityGate',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('key', models.SlugField()),
                        ('name', models.CharField(max_length=120)),
                        ('description', models.TextField(blank=True)),
                        ('kind', models.CharField(choices=[('automated', 'Automated'), ('manual', 'Manual')], max_length=10)),
                        ('unit', models.CharField(blank=True, max_length=20)),
                        ('comparator', models.CharField(blank=True, choices=[('gte', '≥'), ('lte', '≤'), ('eq', '=')], max_length=3)),
                        ('threshold', models.FloatField(blank=True, null=True)),
                        ('required_approvals', models.PositiveSmallIntegerField(default=1)),
                        ('approver_role', models.CharField(default='approver', max_length=20)),
                        ('order', models.PositiveIntegerField(default=0)),
                        ('active', models.BooleanField(default=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('project', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='quality_gates', to='releases.project')),
                    ],
                    options={
                        'db_table': 'checklists_qualitygate',
                        'ordering': ['order', 'id'],
                    },
                ),
                migrations.CreateModel(
                    name='GateResult',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('status', models.CharField(choices=[('pending', 'Pending'), ('passed', 'Passed'), ('failed', 'Failed'), ('waived', 'Waived'), ('not_measured', 'Not measured')], max_length=20)),
                        ('value', models.FloatField(blank=True, null=True)),
                        ('threshold', models.CharField(blank=True, max_length=60)),
                        ('source', models.CharField(choices=[('validation', 'Validation run'), ('ci', 'CI report')], max_length=20)),
                        ('ci_run_id', models.CharField(blank=True, max_length=200)),
                        ('commit', models.CharField(blank=True, max_length=64)),
                        ('reason', models.TextField(blank=True)),
                        ('report', models.TextField(blank=True)),
                        ('report_name', models.CharField(blank=True, max_length=200)),
                        ('measured_at', models.DateTimeField()),
                        ('release', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='gate_results', to='releases.release')),
                        ('run', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='runs.run')),
                        ('gate', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='results', to='gates.qualitygate')),
                    ],
                    options={
                        'db_table': 'checklists_gateresult',
                        'ordering': ['-measured_at', '-id'],
                    },
                ),
                migrations.CreateModel(
                    name='Approval',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('decision', models.CharField(choices=[('approve', 'Approved'), ('reject', 'Rejected')], max_length=10)),
                        ('comment', models.TextField(blank=True)),
                        ('commit', models.CharField(blank=True, max_length=64)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('superseded_at', models.DateTimeField(blank=True, null=True)),
                        ('approver', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('release', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='releases.release')),
                        ('gate', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='approvals', to='gates.qualitygate')),
                    ],
                    options={
                        'db_table': 'checklists_approval',
                        'ordering': ['created_at', 'id'],
                    },
                ),
                migrations.CreateModel(
                    name='ValidationCommand',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('order', models.PositiveIntegerField(default=0)),
                        ('name', models.CharField(max_length=120)),
                        ('argv', models.JSONField()),
                        ('timeout_seconds', models.PositiveIntegerField(default=600)),
                        ('report_path', models.CharField(blank=True, max_length=300)),
                        ('report_format', models.CharField(choices=[('none', 'None (exit code only)'), ('cobertura', 'Cobertura XML (coverage.py): line coverage %'), ('bandit', 'bandit JSON: high and critical findings'), ('pip_audit', 'pip-audit JSON: known vulnerabilities'), ('performance', 'Performance JSON (metric, value, baseline): regression %'), ('axe', 'axe-core JSON: accessibility violations')], default='none', max_length=20)),
                        ('active', models.BooleanField(default=True)),
                        ('gate', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='commands', to='gates.qualitygate')),
                        ('project', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='validation_commands', to='releases.project')),
                    ],
                    options={
                        'db_table': 'checklists_validationcommand',
                        'ordering': ['order', 'id'],
                    },
                ),
                migrations.CreateModel(
                    name='Waiver',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('reason', models.TextField()),
                        ('commit', models.CharField(blank=True, max_length=64)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('revoked_at', models.DateTimeField(blank=True, null=True)),
                        ('approver', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('gate', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='waivers', to='gates.qualitygate')),
                        ('release', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='releases.release')),
                        ('revoked_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'checklists_waiver',
                        'ordering': ['-created_at', '-id'],
                    },
                ),
                migrations.AddConstraint(
                    model_name='qualitygate',
                    constraint=models.UniqueConstraint(fields=('project', 'key'), name='qualitygate_unique_key'),
                ),
                migrations.AddIndex(
                    model_name='gateresult',
                    index=models.Index(fields=['release', 'gate', '-measured_at'], name='gateresult_latest_idx'),
                ),
                migrations.AddConstraint(
                    model_name='gateresult',
                    constraint=models.UniqueConstraint(condition=models.Q(('ci_run_id', ''), _negated=True), fields=('release', 'gate', 'ci_run_id'), name='gateresult_unique_ci_run'),
                ),
                migrations.AddIndex(
                    model_name='approval',
                    index=models.Index(fields=['release', 'gate'], name='approval_release_gate_idx'),
                ),
                migrations.AddConstraint(
                    model_name='approval',
                    constraint=models.UniqueConstraint(condition=models.Q(('superseded_at__isnull', True)), fields=('release', 'gate', 'approver'), name='approval_one_live_per_person'),
                ),
                migrations.AddConstraint(
                    model_name='waiver',
                    constraint=models.UniqueConstraint(condition=models.Q(('revoked_at__isnull', True)), fields=('release', 'gate'), name='waiver_one_live_per_gate'),
                ),
            ],
        ),
    ]
