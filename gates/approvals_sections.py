"""Sections of the approvals page that apps above gates fill (deployments: emergency
changes to review), so that gates/ shows them without importing those apps.

An app registers in its `AppConfig.ready`:

    register(ApprovalsSection(
        name="emergency-changes", order=10,
        template="deployments/config/approvals_emergency.html",
        context=lambda *, user: {"changes": [...]} or None,
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
