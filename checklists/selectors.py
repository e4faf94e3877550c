"""Reads: a release's checklists with their progress and what they block.

Each reads a constant number of queries whatever the number of items: rows are fetched
per release in one query each and grouped in Python.
"""

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Q
from django.shortcuts import get_object_or_404

from checklists.models import (
    RESULTS_DONE,
    Checklist,
    ChecklistItem,
    ItemKind,
    ItemResult,
    Phase,
)
from releases.policy import Blocker, memoized

# What must be complete before a release moves to a phase: the required items of the
# checklists of these phases.
PHASES_REQUIRED_BEFORE = {
    "ready": [Phase.PREPARATION, Phase.VALIDATION, Phase.SECURITY],
    "production": [Phase.PREPARATION, Phase.VALIDATION, Phase.SECURITY, Phase.STAGING],
}


# --- Checklists -------------------------------------------------------------------------


@dataclass
class ChecklistView:
    checklist: Checklist
    items: list = field(default_factory=list)

    @property
    def done(self) -> int:
        return sum(1 for i in self.items if i.is_complete)

    @property
    def total(self) -> int:
        return len(self.items)

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 100

    @property
    def version(self) -> int:
        """When an item last changed (µs): item changes of a release are serialised on
        its row, so a later state always has a higher version. The page uses it to keep a
        late answer from replacing a newer one."""
        times = [i.updated_at for i in self.items if i.updated_at]
        return int(max(times).timestamp() * 1_000_000) if times else 0


@dataclass
class PhaseView:
    phase: Phase
    checklists: list = field(default_factory=list)

    @property
    def done(self) -> int:
        return sum(c.done for c in self.checklists)

    @property
    def total(self) -> int:
        return sum(c.total for c in self.checklists)

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 100


def release_checklists(*, release) -> list[PhaseView]:
    """The release's checklists grouped by phase, in phase order (two queries, once per
    page inside a policy snapshot)."""
    return memoized(("checklists", release.pk), lambda: _release_checklists(release))


def _release_checklists(release) -> list[PhaseView]:
    checklists = list(Checklist.objects.filter(release=release))
    items = ChecklistItem.objects.filter(release=release).select_related("updated_by")
    by_checklist = defaultdict(list)
    for item in items:
        by_checklist[item.checklist_id].append(item)
    phases = {p: PhaseView(phase=Phase(p)) for p in Phase.values}
    for checklist in checklists:
        phases[checklist.phase].checklists.append(
            ChecklistView(checklist=checklist, items=by_checklist[checklist.pk])
        )
    return [view for view in phases.values() if view.checklists]


def checklist_item_get(*, item_id: int) -> ChecklistItem:
    return get_object_or_404(
        ChecklistItem.objects.select_related("checklist", "release", "release__project"),
        pk=item_id,
    )


def checklist_get(*, checklist_id: int) -> Checklist:
    return get_object_or_404(Checklist.objects.select_related("release"), pk=checklist_id)


# --- Enforcement ------------------------------------------------------------------------


def checklist_blockers(release, to: str) -> list[Blocker]:
    """The release policy's checklist blocker: open required items of the phases before
    `to`, and failed or blocked scenarios."""
    phases = PHASES_REQUIRED_BEFORE.get(to)
    if not phases:
        return []
    missing = []
    for phase in release_checklists(release=release):
        if phase.phase not in phases:
            continue
        for view in phase.checklists:
            for item in view.items:
                if not item.required or item.is_complete:
                    continue
                where = f"{view.checklist.name}: “{item.title}”"
                if item.kind == ItemKind.SCENARIO and item.result in {
                    ItemResult.FAIL,
                    ItemResult.BLOCKED,
                }:
                    verdict = "failed" if item.result == ItemResult.FAIL else "is blocked"
                    text = f"{where} {verdict}."
                elif item.kind == ItemKind.SCENARIO:
                    text = f"{where} has no test result."
                else:
                    text = f"{where} is not ticked."
                missing.append(Blocker(text, anchor=f"item-{item.pk}"))
    return missing


def releases_checklist_progress(*, release_ids) -> dict[int, tuple[int, int]]:
    """(done, total) of every listed release's checklist items, in one query (the
    approvals page and the dashboard show it beside each release)."""
    complete = Q(kind=ItemKind.CHECK, done=True) | Q(
        kind=ItemKind.SCENARIO, result__in=list(RESULTS_DONE)
    )
    rows = (
        ChecklistItem.objects.filter(release_id__in=list(release_ids))
        .values("release_id")
        .annotate(total=Count("id"), done=Count("id", filter=complete))
    )
    return {row["release_id"]: (row["done"], row["total"]) for row in rows}


# --- Project configuration --------------------------------------------------------------


def project_templates(*, project):
    return list(project.checklist_templates.prefetch_related("items"))
