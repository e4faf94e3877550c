"""The move of the gate models from checklists/ to gates/ upgrades a database in place:
rows written before it are the rows the gates app reads after it."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from gates.models import Approval, GateResult, QualityGate
from liftoff.roles import Role
from releases.policy import project_created
from releases.services import release_create
from tests.factories import ProjectFactory

BEFORE = [
    ("checklists", "0002_default_templates_for_existing_projects"),
    ("gates", None),
]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor


def _latest():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


@pytest.mark.django_db(transaction=True)
def test_gates_written_before_the_move_are_read_by_the_gates_app(make_user):
    manager, approver = make_user(Role.RELEASE_MANAGER), make_user(Role.APPROVER)
    project = ProjectFactory(slug="legacy", name="Legacy")
    project_created(project=project, actor=None)
    release = release_create(
        actor=manager, project=project, release_type="minor", version="1.0.0", codename="Lyra"
    )
    gate_type = ContentType.objects.get_for_model(QualityGate).pk
    try:
        old = _migrate(BEFORE).loader.project_state(BEFORE[:1]).apps
        OldGate = old.get_model("checklists", "QualityGate")
        gate = OldGate.objects.create(
            project_id=project.pk,
            key="legacy-coverage",
            name="Legacy coverage",
            kind="automated",
            comparator="gte",
            threshold=80.0,
            unit="%",
        )
        result = old.get_model("checklists", "GateResult").objects.create(
            release_id=release.pk,
            gate=gate,
            status="passed",
            value=85.0,
            source="ci",
            ci_run_id="ci-7",
            commit="a" * 40,
            measured_at=timezone.now(),
        )
        approval = old.get_model("checklists", "Approval").objects.create(
            release_id=release.pk,
            gate=OldGate.objects.get(project_id=project.pk, key="security-review"),
            approver_id=approver.pk,
            decision="approve",
            commit="a" * 40,
        )
    finally:
        _migrate(_latest())
    assert QualityGate.objects.get(pk=gate.pk).key == "legacy-coverage"
    moved = GateResult.objects.select_related("gate").get(pk=result.pk)
    assert (moved.gate.key, moved.value, moved.ci_run_id) == ("legacy-coverage", 85.0, "ci-7")
    assert Approval.objects.get(pk=approval.pk).gate.key == "security-review"
    assert QualityGate.objects.filter(project=project).count() == 10  # 9 defaults + legacy
    # The content type followed the model (the same row, not a new one).
    ContentType.objects.clear_cache()
    assert ContentType.objects.get_for_model(QualityGate).pk == gate_type
    # And the database is left at the latest state.
    assert not MigrationExecutor(connection).migration_plan(_latest())


@pytest.mark.django_db(transaction=True)
def test_existing_projects_get_the_licence_gate_inactive_and_new_ones_keep_theirs():
    """gates/0005: a project from before the licence gate gets it, inactive (an unfed gate
    would block its releases on their way); one that has it already is left alone."""
    new = ProjectFactory(slug="new", name="New")
    project_created(project=new, actor=None)
    old = ProjectFactory(slug="old", name="Old")
    project_created(project=old, actor=None)
    QualityGate.objects.filter(project=old, key="dependency-licences").delete()
    try:
        _migrate([("gates", "0004_licence_policy")])
        _migrate(_latest())
    finally:
        _migrate(_latest())
    gates = QualityGate.objects.filter(key="dependency-licences")
    assert {(g.project.slug, g.active) for g in gates} == {("new", True), ("old", False)}
    added = gates.get(project=old)
    assert (added.kind, added.comparator, added.threshold, added.unit) == (
        "automated",
        "eq",
        0,
        "packages",
    )
    assert added.order > max(
        QualityGate.objects.filter(project=old).exclude(pk=added.pk).values_list("order", flat=True)
    )
