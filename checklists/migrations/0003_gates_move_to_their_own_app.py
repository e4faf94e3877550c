"""The quality gates, their results, approvals, waivers and validation commands now
belong to the gates app (gates 0001 added them to its state over the same tables). Here
they leave the checklists app's state only: no SQL, the tables stay and gates uses them.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("checklists", "0002_default_templates_for_existing_projects"),
        ("gates", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                # What points at QualityGate first, then the gate itself.
                migrations.DeleteModel(name="GateResult"),
                migrations.DeleteModel(name="Approval"),
                migrations.DeleteModel(name="Waiver"),
                migrations.DeleteModel(name="ValidationCommand"),
                migrations.DeleteModel(name="QualityGate"),
            ],
        ),
    ]
