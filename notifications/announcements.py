"""Announcement templates: plain Markdown with `{{ name }}` placeholders, filled from a
fixed dict of a release's facts.

No template engine runs on this text: a regex finds `{{ … }}` and puts in the fact of
that name; nothing else in the text means anything. So a template cannot read a setting,
call a method, load a tag library or loop (`{{ settings.SECRET_KEY }}` and `{% load %}`
are refused when a template or draft is saved, and stay plain text if they ever reach the
renderer). A fact's value is put in once and never scanned again, so a codename or a
commit that reads `{{ version }}` stays as typed. The Markdown that results goes through
`liftoff.markdown.render_markdown` (sanitised) like every other user text.
"""

import re

from notifications.models import Tone

# The names a template may use, and what each holds (the settings page lists them).
PLACEHOLDERS: dict[str, str] = {
    "project": "The project's name",
    "version": "The version, e.g. 0.3.0",
    "codename": "The codename, e.g. Digital Oracle",
    "type": "major, minor, patch or hotfix",
    "classification": "ENHANCEMENT UPDATE, MAJOR RELEASE, MAINTENANCE UPDATE or HOTFIX",
    "summary": "The release's summary",
    "highlights": "The notes' highlights (features, and the sections by scope), a list",
    "security": "The notes' security changes, a list",
    "breaking": "The notes' breaking changes, a list",
    "risk": "The risk level from the quality gates, e.g. 🟢 LOW",
    "risk_reason": "Why: e.g. every quality gate passed",
    "date": "The release date (or today's, before it ships)",
    "url": "The link to the release in Liftoff",
}
TEMPLATE_MAX = 20_000

# Anything between {{ and }} (the name is checked against PLACEHOLDERS), and template tags.
_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_TAG = re.compile(r"\{%.*?%\}|\{#.*?#\}", re.DOTALL)

# The seed's three announcements (RELEASE_PROCESS.md, "Personality-Specific
# Communications"), with placeholders where the seed wrote v0.3.0 "Digital Oracle".
# notifications/migrations/0003 keeps a frozen copy.
DEFAULT_TEMPLATES: dict[str, str] = {
    Tone.ORACLE: """🔮 The Digital Oracle has awakened to new wisdom...

In this sacred release, v{{ version }} "{{ codename }}", deeper contemplation flows \
through our mystical algorithms, bringing enhanced insight to the seekers of \
cybersecurity truth. The Oracle now perceives patterns with greater clarity, offering \
layered wisdom to guide your digital spiritual journey.

{{ highlights }}

*"Ask, and the universe of knowledge shall unfold before you."*
""",
    Tone.COMPLIANCE: """📊 RELEASE COMPLIANCE REPORT

- **Version:** v{{ version }} "{{ codename }}"
- **Classification:** {{ classification }}
- **Risk Level:** {{ risk }} ({{ risk_reason }})

## Executive Summary
{{ summary }}

## Key Improvements
{{ highlights }}

## Security Changes
{{ security }}
""",
    Tone.COSMIC: """🌌 ✨ THE COSMOS CELEBRATES NEW MANIFESTATION ✨ 🌌

Behold! A new star rises in the {{ project }} galaxy!

v{{ version }} "{{ codename }}" flows forth with expanded consciousness,
bringing beauty, wisdom, and cosmic inspiration to your
cybersecurity practice. Let this release inspire your journey
through the infinite possibilities of secure digital realms.

{{ highlights }}

*May your code be elegant and your security eternal...* 🌟
""",
}


def placeholder_problems(text: str) -> list[str]:
    """What is wrong with a template's or a draft's placeholders: each unknown `{{ … }}`
    and each template tag, once. Empty when it is fine."""
    problems = []
    for found in _PLACEHOLDER.finditer(text):
        name = found[1].strip()
        if name not in PLACEHOLDERS:
            shown = found[0] if len(found[0]) <= 60 else found[0][:57] + "…"
            problem = f"Unknown placeholder {shown}: use one of {', '.join(PLACEHOLDERS)}."
            if problem not in problems:
                problems.append(problem)
    if _TAG.search(text):
        problems.append(
            "Template tags ({% … %}, {# … #}) are not supported: use {{ name }} placeholders."
        )
    return problems


def fill(text: str, facts: dict[str, str]) -> str:
    """`text` with each known placeholder replaced by its fact; anything else stays as it
    is (re.sub does not scan what it put in)."""
    return _PLACEHOLDER.sub(lambda m: facts.get(m[1].strip(), m[0]), text)
