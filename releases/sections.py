"""Sections of the release page that other apps fill (gates, checklists, later
deployments and incidents), so that releases/ shows them without importing those apps.

An app registers in its `AppConfig.ready`:

    register_section(ReleaseSection(
        name="gates", order=10, template="gates/release_gates.html#gates",
        context=lambda *, user, release: {"gate_rows": ...},
    ))

The release page merges each section's context into its own (keys must not collide:
prefix them with the app's name when in doubt) and includes the templates in `order`.
The page reads inside `releases.policy.policy_snapshot()`, so a section and a blocker
that read the same rows read them once.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.urls import reverse

from releases.policy import blocker_names


@dataclass(frozen=True)
class ReleaseSection:
    name: str
    template: str
    # context(*, user, release) -> dict, merged into the page's context.
    context: Callable[..., dict]
    order: int = 100
    # The section's own page, as a tab of the release's pages: (label, URL name taking
    # the release's id), or None.
    tab: tuple[str, str] | None = None


_SECTIONS: dict[str, ReleaseSection] = {}


def register_section(section: ReleaseSection) -> None:
    _SECTIONS[section.name] = section


def release_sections(*, user, release) -> tuple[list[str], dict]:
    """(templates in order, their merged context) for the release page. A release recorded
    from an old tag went through none of the process the sections show: it has none."""
    templates, context = [], {}
    if release.recorded:
        return templates, context
    for section in sorted(_SECTIONS.values(), key=lambda s: (s.order, s.name)):
        templates.append(section.template)
        context.update(section.context(user=user, release=release))
    return templates, context


def release_tabs() -> list[tuple[str, str]]:
    """(label, URL name) of the sections that have a page of their own, in order."""
    ordered = sorted(_SECTIONS.values(), key=lambda s: (s.order, s.name))
    return [section.tab for section in ordered if section.tab]


def release_page_tabs(release) -> list[dict]:
    """The release's pages: the overview, its notes, the sections that have a page of their
    own (gates, …), its runs, its audit trail."""
    tabs = [
        ("overview", "Overview", reverse("releases:release-detail", args=[release.pk])),
        ("notes", "Notes", reverse("releases:release-notes", args=[release.pk])),
    ]
    if not release.recorded:  # it went through none of what the sections show
        tabs += [(name, label, reverse(name, args=[release.pk])) for label, name in release_tabs()]
    tabs.append(("runs", "Runs", reverse("releases:release-runs", args=[release.pk])))
    tabs.append(("audit", "Audit trail", reverse("releases:release-audit", args=[release.pk])))
    return [{"key": key, "label": label, "url": url} for key, label, url in tabs]


# --- Actions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PageAction:
    """A button of the release page's action bar that an app offers (gates: Validate).

    `next_step`: this is what the phase waits for now; the page makes the first such
    action its one primary button.
    """

    name: str
    label: str
    url: str  # POSTed to, with `fields`
    next_step: bool = False
    order: int = 100
    fields: dict = field(default_factory=dict)
    # `url` is a page that asks first (GET), not the step itself.
    ask_first: bool = False


_ACTIONS: dict[str, Callable[..., list[PageAction]]] = {}


def register_actions(name: str, fn: Callable[..., list[PageAction]]) -> None:
    """`fn(*, user, release) -> list[PageAction]`: the actions an app offers this user
    on this release now (none that would be refused)."""
    _ACTIONS[name] = fn


def release_actions(*, user, release) -> list[PageAction]:
    actions = []
    for fn in _ACTIONS.values():
        actions += fn(user=user, release=release)
    return sorted(actions, key=lambda a: a.order)


# --- What the page reads, for keeping it rendered --------------------------------------

_PAGE_ROWS: dict[str, Callable[..., list]] = {}


def register_page_rows(name: str, fn: Callable[..., list]) -> None:
    """`fn(release) -> list[QuerySet]`: every row the app's section, blockers and actions
    read for `release` (not evaluated: `liftoff.kept.rows_version` digests them in one
    query). The release page is kept rendered under that digest (`liftoff.kept`), so an
    app that shows or decides anything on the page must register its rows under the name
    of its section, blocker and actions; while one of them has none, the page is rendered
    on every view."""
    _PAGE_ROWS[name] = fn


def release_page_rows(release) -> list | None:
    """The rows of every part of the release page, or None if some part did not say
    which rows it reads (the page is then never kept)."""
    names = set(_SECTIONS) | set(_ACTIONS) | set(blocker_names())
    if not names <= set(_PAGE_ROWS):
        return None
    querysets = []
    for name in sorted(names):
        querysets += _PAGE_ROWS[name](release)
    return querysets
