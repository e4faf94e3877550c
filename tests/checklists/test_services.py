"""The rules of checklists (and what blocks a release with the gates), through the
services every page, API endpoint and command uses."""

import threading
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from checklists.models import ChecklistItem, ItemKind
from checklists.selectors import release_checklists
from checklists.services import checklist_item_update, checklist_template_save, parse_items
from gates.models import GateResultSource, QualityGate
from gates.services import approval_record, gate_result_record, gate_save
from liftoff.errors import Conflict, NotAllowed, ValidationFailed
from liftoff.models import AuditEvent
from liftoff.roles import Role
from releases.models import Release, ReleaseStatus
from releases.policy import release_blockers
from releases.services import (
    release_transition,
)
from tests.factories import ReleaseFactory, synced_project

HEAD = "a" * 40


@pytest.fixture
def project(db):
    return synced_project(
        actor=None, slug="orbit", name="Orbit", repo_url="https://git.example.test/orbit.git"
    )


def _release(project, manager, *, status=ReleaseStatus.VALIDATING, version="1.0.0"):
    return ReleaseFactory(
        project=project,
        release_manager=manager,
        version=version,
        status=status,
        head_commit=HEAD,
        prepared_at=timezone.now(),
    )


def _complete_everything(release, actor, approvers):
    for item in ChecklistItem.objects.filter(release=release):
        if item.kind == ItemKind.SCENARIO:
            checklist_item_update(item=item, actor=actor, result="pass")
        else:
            checklist_item_update(item=item, actor=actor, done=True)
    for gate in QualityGate.objects.filter(project=release.project, active=True):
        if gate.is_automated:
            value = gate.threshold
            gate_result_record(
                release=release, gate=gate, source=GateResultSource.CI, value=value, commit=HEAD
            )
        else:
            approval_record(release=release, gate=gate, actor=approvers[0], decision="approve")


def test_a_new_project_gets_the_seed_checklists_and_gates(project):
    names = set(project.checklist_templates.values_list("name", flat=True))
    assert {
        "Pre-release checklist",
        "Oracle mode validation",
        "Compliance mode validation",
        "Cosmic mode validation",
        "Staging validation checklist",
        "Production deployment",
        "Release security checklist",
    } <= names
    gates = {g.key: g for g in project.quality_gates.all()}
    assert gates["coverage"].threshold == 90 and gates["coverage"].comparator == "gte"
    assert gates["performance-regression"].threshold == 5
    assert gates["security-review"].kind == "manual"


def test_a_new_release_gets_its_own_copy_of_the_checklists(project, manager, admin_user):
    release = _release(project, manager)
    phases = {p.phase.value: p for p in release_checklists(release=release)}
    oracle = next(
        c for c in phases["validation"].checklists if c.checklist.name == "Oracle mode validation"
    )
    assert [i.kind for i in oracle.items] == ["scenario"] * 4
    assert phases["preparation"].total == 7 and phases["preparation"].done == 0
    # Editing the template later changes the next release, never this one.
    template = project.checklist_templates.get(name="Pre-release checklist")
    checklist_template_save(
        actor=admin_user,
        project=project,
        template=template,
        name=template.name,
        phase="preparation",
        items_text="Only one item",
    )
    assert (
        ChecklistItem.objects.filter(release=release, checklist__phase="preparation").count() == 7
    )
    later = _release(project, manager, version="1.1.0")
    titles = ChecklistItem.objects.filter(release=later, checklist__phase="preparation")
    assert list(titles.values_list("title", flat=True)) == ["Only one item"]


def test_item_lines_parse_with_markers_and_refuse_unknown_ones():
    items = parse_items("[test] Scenario | criteria\n\n[optional] Later\nPlain")
    assert [(i["kind"], i["required"], i["description"]) for i in items] == [
        ("scenario", True, "criteria"),
        ("check", False, ""),
        ("check", True, ""),
    ]
    with pytest.raises(ValidationFailed) as caught:
        parse_items("[urgent] Something")
    assert "unknown marker [urgent]" in caught.value.errors["items"][0]


def test_only_admins_edit_templates_and_gates(project, manager):
    with pytest.raises(NotAllowed):
        checklist_template_save(
            actor=manager, project=project, name="Mine", phase="staging", items_text="x"
        )
    with pytest.raises(NotAllowed):
        gate_save(actor=manager, project=project, key="x", name="X", kind="manual")


def test_ticking_and_unticking_are_audited_with_who_and_when(project, manager):
    release = _release(project, manager)
    item = ChecklistItem.objects.filter(release=release, kind="check").first()
    ticked = checklist_item_update(item=item, actor=manager, done=True, note="checked on staging")
    assert ticked.done and ticked.updated_by == manager and ticked.updated_at
    assert ticked.note == "checked on staging"
    checklist_item_update(item=item, actor=manager, done=False)
    actions = list(
        AuditEvent.objects.filter(
            object_type="checklists.checklistitem", object_id=str(item.pk)
        ).values_list("action", flat=True)
    )
    assert actions == ["checklist_item.ticked", "checklist_item.unticked"]


def test_a_scenario_gets_a_result_not_a_tick(project, manager):
    release = _release(project, manager)
    scenario = ChecklistItem.objects.filter(release=release, kind="scenario").first()
    with pytest.raises(ValidationFailed):
        checklist_item_update(item=scenario, actor=manager, done=True)
    failed = checklist_item_update(item=scenario, actor=manager, result="fail", note="tone off")
    assert failed.result == "fail" and not failed.is_complete
    assert checklist_item_update(item=scenario, actor=manager, result="na").is_complete


def test_stakeholders_and_approvers_cannot_tick(project, manager, approver, stakeholder):
    release = _release(project, manager)
    item = ChecklistItem.objects.filter(release=release).first()
    for user in (approver, stakeholder):
        with pytest.raises(NotAllowed):
            checklist_item_update(item=item, actor=user, done=True)


def test_a_cancelled_release_keeps_its_checklists_as_they_were(project, manager):
    release = _release(project, manager, status=ReleaseStatus.CANCELLED)
    item = ChecklistItem.objects.filter(release=release).first()
    with pytest.raises(Conflict):
        checklist_item_update(item=item, actor=manager, done=True)


@pytest.mark.django_db(transaction=True)
def test_two_people_ticking_one_checklist_at_once_lose_nothing(make_user):
    project = synced_project(
        actor=None, slug="race", name="Race", repo_url="https://git.example.test/race.git"
    )
    first, second = make_user(Role.RELEASE_MANAGER), make_user(Role.RELEASE_MANAGER)
    release = _release(project, first)
    items = list(
        ChecklistItem.objects.filter(release=release, checklist__phase="preparation", kind="check")
    )
    barrier = threading.Barrier(2)
    errors = []

    def tick(user, mine):
        try:
            barrier.wait()
            for item in mine:
                checklist_item_update(item=item, actor=user, done=True)
            # The same item from both sides, note and tick: both fields are kept.
            if user == first:
                checklist_item_update(item=items[0], actor=user, note="by the first")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=tick, args=(first, items[0::2])),
        threading.Thread(target=tick, args=(second, items[1::2])),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    fresh = ChecklistItem.objects.filter(pk__in=[i.pk for i in items])
    assert all(i.done for i in fresh)
    assert fresh.get(pk=items[0].pk).note == "by the first"
    assert {i.updated_by_id for i in fresh} == {first.pk, second.pk}


def test_ready_is_refused_with_exactly_what_is_missing(project, manager, approver):
    release = _release(project, manager)
    missing = release_blockers(release=release, to=ReleaseStatus.READY)
    assert "Pre-release checklist: “Vision alignment” is not ticked." in missing
    assert "Oracle mode validation: “Contemplative pace maintenance” has no test result." in missing
    assert (
        "Gate “Test coverage” is not measured yet: run the validation, or an approver may waive it."
    ) in missing
    assert "Gate “Security review” needs approval (0 of 1)." in missing
    # Staging items are not asked for before ready.
    assert not any(m.startswith("Staging validation checklist") for m in missing)
    with pytest.raises(Conflict) as caught:
        release_transition(release=release, to=ReleaseStatus.READY, actor=manager)
    assert caught.value.extra["missing"] == missing

    _complete_everything(release, manager, [approver])
    release_transition(release=release, to=ReleaseStatus.READY, actor=manager)
    assert Release.objects.get(pk=release.pk).status == ReleaseStatus.READY


def test_a_failed_scenario_blocks_production(project, manager, approver):
    release = _release(project, manager)
    _complete_everything(release, manager, [approver])
    release_transition(release=release, to=ReleaseStatus.READY, actor=manager)
    release_transition(release=release, to=ReleaseStatus.STAGING, actor=manager)
    scenario = ChecklistItem.objects.filter(release=release, kind="scenario").first()
    checklist_item_update(item=scenario, actor=manager, result="blocked")
    with pytest.raises(Conflict) as caught:
        release_transition(release=release, to=ReleaseStatus.PRODUCTION, actor=manager)
    assert f"“{scenario.title}” is blocked." in " ".join(caught.value.extra["missing"])


def test_the_command_line_is_refused_the_same_way(project, manager, approver):
    release = _release(project, manager)
    with pytest.raises(CommandError) as caught:
        call_command("release", "move", "--project", project.slug, release.version, "ready")
    assert "Gate “Test coverage” is not measured yet" in str(caught.value)
    _complete_everything(release, manager, [approver])
    out = StringIO()
    call_command("release", "move", "--project", project.slug, release.version, "ready", stdout=out)
    assert Release.objects.get(pk=release.pk).status == ReleaseStatus.READY
