"""Reads: a release's checklists with their progress and what they block.

Each reads a constant number of queries whatever the number of items: rows are fetched
per release in one query each and grouped in Python.
"""

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property

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
from liftoff.kept import Rows
from releases.models import RELEASE_PHASES, ReleaseStatus
from releases.policy import Blocker, memoized_many

# What must be complete before a release moves to a phase: the required items of the
# checklists of these phases.
PHASES_REQUIRED_BEFORE = {
    ReleaseStatus.READY: [Phase.PREPARATION, Phase.VALIDATION, Phase.SECURITY],
    ReleaseStatus.PRODUCTION: [Phase.PREPARATION, Phase.VALIDATION, Phase.SECURITY, Phase.STAGING],
}

# The release phases during which a checklist phase is worked on: the release page opens
# those (the "current" checklists) and folds the others.
PHASE_WORKED_IN = {
    Phase.PREPARATION: {ReleaseStatus.PLANNED, ReleaseStatus.PREPARING},
    Phase.VALIDATION: {ReleaseStatus.VALIDATING},
    Phase.SECURITY: {ReleaseStatus.VALIDATING},  # it blocks `ready`, like validation
    Phase.STAGING: {ReleaseStatus.READY, ReleaseStatus.STAGING},
    Phase.PRODUCTION: {ReleaseStatus.PRODUCTION},
    Phase.POST_RELEASE: {ReleaseStatus.RELEASED},
}


def _phase_position(phase: Phase) -> tuple:
    """Checklist phases in the order they block the release's moves (then in the order
    they are worked on): the security checklist blocks `ready`, so it comes with
    validation, not after post-release as the Phase choices list it."""
    blocks = [RELEASE_PHASES.index(to) for to, ps in PHASES_REQUIRED_BEFORE.items() if phase in ps]
    worked = min(RELEASE_PHASES.index(s) for s in PHASE_WORKED_IN[phase])
    return (min(blocks, default=len(RELEASE_PHASES)), worked, Phase.values.index(phase))


PHASE_ORDER = sorted(Phase, key=_phase_position)


# --- Checklists -------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    """Required and optional items counted apart: optional ones never block, so a single
    "30 of 48 done" would hide what still does."""

    required_done: int = 0
    required_total: int = 0
    optional_done: int = 0
    optional_total: int = 0

    @classmethod
    def of(cls, items) -> "Progress":
        counts = [0, 0, 0, 0]
        for item in items:
            base = 0 if item.required else 2
            counts[base + 1] += 1
            counts[base] += item.is_complete
        return cls(*counts)

    def __add__(self, other: "Progress") -> "Progress":
        return Progress(
            self.required_done + other.required_done,
            self.required_total + other.required_total,
            self.optional_done + other.optional_done,
            self.optional_total + other.optional_total,
        )

    @property
    def required_open(self) -> int:
        return self.required_total - self.required_done

    @property
    def label(self) -> str:
        """ "12 of 30 required done · 4 of 18 optional" (each part only if it has items)."""
        parts = []
        if self.required_total or not self.optional_total:
            parts.append(f"{self.required_done} of {self.required_total} required done")
        if self.optional_total:
            done = "" if parts else " done"
            parts.append(f"{self.optional_done} of {self.optional_total} optional{done}")
        return " · ".join(parts)

    @property
    def bar(self) -> tuple[int, int]:
        """(value, max) of the progress bar: the required items, or the optional ones of a
        list that has only those."""
        if self.required_total or not self.optional_total:
            return self.required_done, self.required_total
        return self.optional_done, self.optional_total


@dataclass
class ChecklistView:
    checklist: Checklist
    items: list = field(default_factory=list)

    @cached_property
    def progress(self) -> Progress:
        return Progress.of(self.items)

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
    def open_checks(self) -> int:
        """Check items "Mark all done" would tick."""
        return sum(1 for i in self.items if i.kind == ItemKind.CHECK and not i.done)

    @cached_property
    def digest(self) -> str:
        """A digest of every field of every item (and who last changed it), from the rows
        already read: the release page keeps each checklist's rendered items under it, so
        any change, through a service or not, renders them anew."""
        rows = [
            (
                *(getattr(item, f.attname) for f in item._meta.concrete_fields),
                item.updated_by.get_username() if item.updated_by_id else "",
            )
            for item in self.items
        ]
        return hashlib.blake2b(repr(rows).encode(), digest_size=12).hexdigest()

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
    # Worked on in the release's phase now: the page shows it first, unfolded.
    current: bool = False
    # A phase worked on earlier whose required items are still open (they block).
    overdue: bool = False

    @property
    def progress(self) -> Progress:
        return sum((c.progress for c in self.checklists), Progress())

    @property
    def unfolded(self) -> bool:
        return self.current or self.overdue

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
    """The release's checklists grouped by phase, in the order the phases block the
    release (`PHASE_ORDER`), each saying whether it is worked on now. Two queries, once
    per page inside a policy snapshot."""
    return releases_checklists(releases=[release])[release.pk]


def releases_checklists(*, releases) -> dict[int, list[PhaseView]]:
    """`release_checklists` of each release, read together: two queries for all of them
    (once per page inside a policy snapshot, shared with `release_checklists`)."""
    by_pk = {release.pk: release for release in releases}
    return memoized_many(
        "checklists", by_pk, lambda ids: _releases_checklists([by_pk[pk] for pk in ids])
    )


def _releases_checklists(releases) -> dict[int, list[PhaseView]]:
    ids = [release.pk for release in releases]
    checklists = Checklist.objects.filter(release_id__in=ids)
    items = ChecklistItem.objects.filter(release_id__in=ids).select_related("updated_by")
    by_checklist = defaultdict(list)
    for item in items:
        by_checklist[item.checklist_id].append(item)
    by_release = defaultdict(list)
    for checklist in checklists:
        by_release[checklist.release_id].append(checklist)
    return {
        release.pk: _phase_views(release, by_release[release.pk], by_checklist)
        for release in releases
    }


def _phase_views(release, checklists, by_checklist) -> list[PhaseView]:
    phases = {p: PhaseView(phase=p) for p in PHASE_ORDER}
    for checklist in checklists:
        phases[checklist.phase].checklists.append(
            ChecklistView(checklist=checklist, items=by_checklist[checklist.pk])
        )
    now = RELEASE_PHASES.index(release.status) if release.status in RELEASE_PHASES else None
    for view in phases.values():
        view.current = release.status in PHASE_WORKED_IN[view.phase]
        last_worked = max(RELEASE_PHASES.index(s) for s in PHASE_WORKED_IN[view.phase])
        view.overdue = now is not None and last_worked < now and view.progress.required_open > 0
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
    """The release policy's checklist blocker for one release: the batch of one."""
    return checklists_blockers([release], {release.pk: to})[release.pk]


def checklists_blockers(releases, to) -> dict[int, list[Blocker]]:
    """The release policy's checklist blocker (its batch form: `to` maps each release to
    its move): open required items of the phases before the move, and failed or blocked
    scenarios. Two queries for every release that has a move checklists gate."""
    asked = [r for r in releases if PHASES_REQUIRED_BEFORE.get(to[r.pk])]
    views = releases_checklists(releases=asked) if asked else {}
    return {
        release.pk: _checklist_missing(views.get(release.pk, []), to[release.pk])
        for release in releases
    }


def checklists_blocker_rows(releases) -> list[Rows]:
    """What the checklist blocker reads for `releases` (the policy's `rows`): their
    checklists and items."""
    ids = [release.pk for release in releases]
    return [
        Rows(Checklist, "release_id = ANY(%s)", (ids,)),
        Rows(ChecklistItem, "release_id = ANY(%s)", (ids,)),
    ]


def _checklist_missing(phase_views, to: str) -> list[Blocker]:
    phases = PHASES_REQUIRED_BEFORE.get(to)
    if not phases:
        return []
    missing = []
    for phase in phase_views:
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


def releases_checklist_progress(*, release_ids) -> dict[int, Progress]:
    """The checklist `Progress` (required and optional apart) of every listed release, in
    one query (the approvals page and the dashboard show it beside each release)."""
    complete = Q(kind=ItemKind.CHECK, done=True) | Q(
        kind=ItemKind.SCENARIO, result__in=list(RESULTS_DONE)
    )
    required, optional = Q(required=True), Q(required=False)
    rows = (
        ChecklistItem.objects.filter(release_id__in=list(release_ids))
        .values("release_id")
        .annotate(
            required_done=Count("id", filter=required & complete),
            required_total=Count("id", filter=required),
            optional_done=Count("id", filter=optional & complete),
            optional_total=Count("id", filter=optional),
        )
        .order_by()
    )
    counts = ("required_done", "required_total", "optional_done", "optional_total")
    return {row["release_id"]: Progress(**{c: row[c] for c in counts}) for row in rows}


def releases_checklist_progress_rows(*, release_ids_sql: str, params: tuple) -> list[Rows]:
    """The rows `releases_checklist_progress` reads for the releases whose ids
    `release_ids_sql` selects (SQL with `%s` placeholders for `params`): their items."""
    return [Rows(ChecklistItem, f"release_id IN ({release_ids_sql})", params)]


# --- Project configuration --------------------------------------------------------------


def project_templates(*, project):
    return list(project.checklist_templates.prefetch_related("items"))


def release_page_rows(release) -> list:
    """Every row the release page's Checklists section and blocker read
    (releases.sections.register_page_rows): the release's checklists and their items."""
    return [
        Rows(Checklist, "release_id = %s", (release.pk,)),
        Rows(ChecklistItem, "release_id = %s", (release.pk,)),
    ]
