"""Sections of the approvals page that apps above gates fill (deployments: emergency
changes to review), so that gates/ shows them without importing those apps.

An app registers in its `AppConfig.ready`:

    register(ApprovalsSection(
        name="emergency-changes", order=10,
        template="deployments/config/approvals_emergency.html",
        context=lambda *, user: {"changes": [...]} or None,
        count=lambda *, user: 2,      # what waits for this user: in the navigation's count
        rows=lambda: [Rows(...)],     # the rows `count` reads (liftoff.kept)
    ))

`context` returns None when the section has nothing to show: the page then leaves it
out (and says "nothing waits" when no section and no gate has anything).
"""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ApprovalsSection:
    name: str
    template: str
    # context(*, user) -> dict for the section's template, or None to leave it out.
    context: Callable[..., dict | None]
    order: int = 100
    # count(*, user) -> how many of the section's items wait for this user: added to the
    # navigation's Approvals count. None: the section adds nothing to it.
    count: Callable[..., int] | None = None
    # rows() -> the liftoff.kept.Rows `count` reads, so a kept count changes with them.
    rows: Callable[[], list] | None = None


_SECTIONS: dict[str, ApprovalsSection] = {}


def register(section: ApprovalsSection) -> None:
    _SECTIONS[section.name] = section


def approvals_sections(*, user) -> list[dict]:
    """[{"template", "context"}] of the sections with something to show, in order."""
    shown = []
    for section in sorted(_SECTIONS.values(), key=lambda s: (s.order, s.name)):
        context = section.context(user=user)
        if context is not None:
            shown.append({"name": section.name, "template": section.template, "context": context})
    return shown


def approvals_sections_count(*, user) -> int:
    """What the sections have waiting for `user` (the navigation's count adds it)."""
    return sum(s.count(user=user) for s in _SECTIONS.values() if s.count is not None)


def approvals_sections_rows() -> list:
    """The rows every section's count reads."""
    return [row for s in _SECTIONS.values() if s.rows is not None for row in s.rows()]
