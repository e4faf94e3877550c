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
from dataclasses import dataclass


@dataclass(frozen=True)
class ReleaseSection:
    name: str
    template: str
    # context(*, user, release) -> dict, merged into the page's context.
    context: Callable[..., dict]
    order: int = 100


_SECTIONS: dict[str, ReleaseSection] = {}


def register_section(section: ReleaseSection) -> None:
    _SECTIONS[section.name] = section


def release_sections(*, user, release) -> tuple[list[str], dict]:
    """(templates in order, their merged context) for the release page."""
    templates, context = [], {}
    for section in sorted(_SECTIONS.values(), key=lambda s: (s.order, s.name)):
        templates.append(section.template)
        context.update(section.context(user=user, release=release))
    return templates, context
