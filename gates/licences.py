"""Licences of dependencies against a project's allow-list.

Pure functions over a CycloneDX JSON document (as `cyclonedx-py environment` writes it
from an installed environment: a lock or requirements file carries no licences). SPDX
expressions are parsed by the `license-expression` library; the decision is ours:

- `A OR B` is allowed when either is allowed; `A AND B` when both are; `A WITH exception`
  when A is (an exception only adds permissions).
- A component lists its licences as SPDX ids, expressions or bare names (trove
  classifiers, free text). Ids and expressions say exactly what they mean, so when a
  component has any, its names are ignored (they restate the same licence more vaguely).
  Otherwise each name is mapped to SPDX ids (`NAMES`); a name that stands for one of
  several licences without saying which ("BSD License") is allowed only if all of them
  are. Every listed licence must be allowed: the metadata never says whether several are
  alternatives.
- A licence that is neither an SPDX id nor a name we know is **unknown**: the package is
  not measured, never passed.
"""

import re
from dataclasses import dataclass, field
from functools import cache

from license_expression import (
    ExpressionError,
    LicenseSymbol,
    LicenseWithExceptionSymbol,
    get_spdx_licensing,
)

# The default allow-list: common permissive and weak-copyleft licences.
DEFAULT_ALLOWED = (
    "0BSD",
    "Apache-2.0",
    "BSD-2-Clause",
    "BSD-3-Clause",
    "BSL-1.0",
    "CC0-1.0",
    "EPL-2.0",
    "HPND",
    "ISC",
    "LGPL-2.1-only",
    "LGPL-2.1-or-later",
    "LGPL-3.0-only",
    "LGPL-3.0-or-later",
    "MIT",
    "MIT-0",
    "MPL-2.0",
    "PSF-2.0",
    "Python-2.0",
    "Unlicense",
    "Zlib",
)

_OSI = "license :: osi approved :: "
# Names (trove classifiers without their "License :: OSI Approved :: " prefix, and common
# free-text spellings), lower case, to the SPDX ids they stand for. A tuple of several:
# one of them, not said which, so all must be allowed.
NAMES: dict[str, tuple[str, ...]] = {
    "mit": ("MIT",),
    "mit license": ("MIT",),
    "the mit license": ("MIT",),
    "mit no attribution license (mit-0)": ("MIT-0",),
    "bsd": ("BSD-2-Clause", "BSD-3-Clause"),
    "bsd license": ("BSD-2-Clause", "BSD-3-Clause"),
    "bsd 2-clause": ("BSD-2-Clause",),
    "bsd-2": ("BSD-2-Clause",),
    "simplified bsd": ("BSD-2-Clause",),
    "bsd 3-clause": ("BSD-3-Clause",),
    "bsd-3": ("BSD-3-Clause",),
    "new bsd": ("BSD-3-Clause",),
    "new bsd license": ("BSD-3-Clause",),
    "3-clause bsd": ("BSD-3-Clause",),
    "bsd zero clause license (0bsd)": ("0BSD",),
    # The classifier names no version; Apache 1.x packages have been gone for two decades
    # and every package that uses it today means 2.0.
    "apache software license": ("Apache-2.0",),
    "apache 2.0": ("Apache-2.0",),
    "apache-2": ("Apache-2.0",),
    "apache license 2.0": ("Apache-2.0",),
    "apache license, version 2.0": ("Apache-2.0",),
    "apache license version 2.0": ("Apache-2.0",),
    "isc license (iscl)": ("ISC",),
    "isc license": ("ISC",),
    "mozilla public license 2.0 (mpl 2.0)": ("MPL-2.0",),
    "python software foundation license": ("PSF-2.0",),
    "the unlicense (unlicense)": ("Unlicense",),
    "zlib/libpng license": ("Zlib",),
    "historical permission notice and disclaimer (hpnd)": ("HPND",),
    "boost software license 1.0 (bsl-1.0)": ("BSL-1.0",),
    "eclipse public license 1.0 (epl-1.0)": ("EPL-1.0",),
    "eclipse public license 2.0 (epl-2.0)": ("EPL-2.0",),
    "gnu lesser general public license v2 (lgplv2)": ("LGPL-2.0-only",),
    "gnu lesser general public license v2 or later (lgplv2+)": ("LGPL-2.0-or-later",),
    "gnu lesser general public license v3 (lgplv3)": ("LGPL-3.0-only",),
    "gnu lesser general public license v3 or later (lgplv3+)": ("LGPL-3.0-or-later",),
    "gnu general public license (gpl)": ("GPL-2.0-only", "GPL-3.0-only"),
    "gnu general public license v2 (gplv2)": ("GPL-2.0-only",),
    "gnu general public license v2 or later (gplv2+)": ("GPL-2.0-or-later",),
    "gnu general public license v3 (gplv3)": ("GPL-3.0-only",),
    "gnu general public license v3 or later (gplv3+)": ("GPL-3.0-or-later",),
    "gnu affero general public license v3": ("AGPL-3.0-only",),
    "gnu affero general public license v3 or later (agplv3+)": ("AGPL-3.0-or-later",),
    "artistic license": ("Artistic-1.0", "Artistic-2.0"),
}
# Names that say nothing about the terms: dropped (another entry may say them).
_SAYS_NOTHING = {"license :: osi approved", "osi approved", "license :: osi approved ::"}
_LICENSE_REF = re.compile(r"^LicenseRef-[A-Za-z0-9.\-]+$")
# SPDX's deprecated GNU ids (still in CycloneDX's list): "GPL-2.0" meant only that
# version, "GPL-2.0+" that version or later.
_DEPRECATED_GNU = re.compile(r"^((?:A|L)?GPL|GFDL)-(\d\.\d)(\+?)$", re.IGNORECASE)


@cache
def _licensing():
    return get_spdx_licensing()


def spdx_id(text: str) -> str | None:
    """The SPDX id `text` names, in SPDX's own spelling (any case accepted), or a
    LicenseRef-…; None when it is neither."""
    text = (text or "").strip()
    if _LICENSE_REF.match(text):
        return text
    if not text or " " in text:
        return None
    if old := _DEPRECATED_GNU.match(text):
        text = f"{old[1]}-{old[2]}-{'or-later' if old[3] else 'only'}"
    symbol = _licensing().known_symbols.get(text) or _licensing().known_symbols_lowercase.get(
        text.lower()
    )
    return symbol.key if symbol is not None else None


def allow_list_problems(entries: list[str]) -> list[str]:
    """One message per entry that is not an SPDX licence id."""
    return [
        f"“{entry}” is not an SPDX licence id (e.g. MIT, Apache-2.0, LGPL-3.0-or-later)."
        for entry in entries
        if spdx_id(entry) is None
    ]


def allow_list_normalise(entries: list[str]) -> list[str]:
    """The entries in SPDX's spelling, each once, sorted (case-insensitively)."""
    ids = {spdx_id(entry) for entry in entries} - {None}
    return sorted(ids, key=str.lower)


# --- Judging one component ----------------------------------------------------------------

ALLOWED, REFUSED, UNKNOWN = "allowed", "not allowed", "unknown"


@dataclass
class Verdict:
    verdict: str
    # The licences as the document states them, for the evidence ("MIT OR Apache-2.0").
    stated: list[str] = field(default_factory=list)
    # What decided it: the ids not allowed, or the licences that could not be read.
    why: list[str] = field(default_factory=list)


def _symbol(key: str, allowed: set[str]) -> Verdict:
    canonical = spdx_id(key)
    if canonical is None:
        return Verdict(UNKNOWN, why=[key])
    if canonical.lower() in allowed:
        return Verdict(ALLOWED)
    return Verdict(REFUSED, why=[canonical])


def _node(node, allowed: set[str]) -> Verdict:
    licensing = _licensing()
    if isinstance(node, LicenseWithExceptionSymbol):
        return _symbol(node.license_symbol.key, allowed)
    if isinstance(node, LicenseSymbol):
        return _symbol(node.key, allowed)
    parts = [_node(arg, allowed) for arg in node.args]
    by = {v.verdict: [w for p in parts if p.verdict == v.verdict for w in p.why] for v in parts}
    if isinstance(node, licensing.OR):
        if ALLOWED in by:
            return Verdict(ALLOWED)
        if UNKNOWN in by:
            return Verdict(UNKNOWN, why=by[UNKNOWN])
        return Verdict(REFUSED, why=by[REFUSED])
    # AND
    if REFUSED in by:
        return Verdict(REFUSED, why=by[REFUSED])
    if UNKNOWN in by:
        return Verdict(UNKNOWN, why=by[UNKNOWN])
    return Verdict(ALLOWED)


def expression_verdict(expression: str, allowed: set[str]) -> Verdict:
    """An SPDX expression against `allowed` (lower-case ids)."""
    try:
        parsed = _licensing().parse(expression, validate=False, strict=False)
    except ExpressionError:
        return Verdict(UNKNOWN, why=[expression])
    if parsed is None:
        return Verdict(UNKNOWN, why=[expression])
    return _node(parsed, allowed)


def _name_verdict(name: str, allowed: set[str]) -> Verdict | None:
    """A bare licence name: None when it says nothing about the terms."""
    key = name.strip().lower()
    if key in _SAYS_NOTHING:
        return None
    key = key.removeprefix(_OSI).removeprefix("license :: ")
    if ids := NAMES.get(key):
        refused = [i for i in ids if i.lower() not in allowed]
        return Verdict(REFUSED, why=refused) if refused else Verdict(ALLOWED)
    # Some packages write an SPDX id or expression where a name goes.
    if spdx_id(name) is not None or re.search(r"\s(OR|AND|WITH)\s", name):
        return expression_verdict(name, allowed)
    return Verdict(UNKNOWN, why=[name])


def _combine(verdicts: list[Verdict]) -> Verdict:
    """Every listed licence must be allowed (see the module's docstring)."""
    refused = [w for v in verdicts if v.verdict == REFUSED for w in v.why]
    unknown = [w for v in verdicts if v.verdict == UNKNOWN for w in v.why]
    if refused:
        return Verdict(REFUSED, why=refused)
    if unknown or not verdicts:
        return Verdict(UNKNOWN, why=unknown)
    return Verdict(ALLOWED)


def component_verdict(licenses, allowed: set[str]) -> Verdict:
    """A CycloneDX component's `licenses` list against `allowed` (lower-case ids)."""
    exact, names = [], []
    for entry in licenses if isinstance(licenses, list) else []:
        if not isinstance(entry, dict):
            continue
        if isinstance(entry.get("expression"), str):
            exact.append(("expression", entry["expression"]))
        elif isinstance(entry.get("license"), dict):
            licence = entry["license"]
            if isinstance(licence.get("id"), str):
                exact.append(("id", licence["id"]))
            elif isinstance(licence.get("name"), str):
                names.append(licence["name"])
    if exact:
        verdict = _combine([expression_verdict(text, allowed) for _, text in exact])
        verdict.stated = _unique(text for _, text in exact)
        return verdict
    judged = [v for v in (_name_verdict(n, allowed) for n in names) if v is not None]
    verdict = _combine(judged)
    verdict.stated = _unique(names)
    return verdict


def _unique(items) -> list[str]:
    return list(dict.fromkeys(items))


# --- Judging a document --------------------------------------------------------------------


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    licences: str  # as stated, "; "-joined; "none stated" when there are none
    verdict: str
    why: str

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}".strip()


@dataclass(frozen=True)
class LicenceCheck:
    packages: list[Package]
    # "the 12 packages pepelugpt depends on (of 121 in the environment)" or "all 121 …"
    scope: str

    @property
    def refused(self) -> list[Package]:
        return [p for p in self.packages if p.verdict == REFUSED]

    @property
    def unknown(self) -> list[Package]:
        return [p for p in self.packages if p.verdict == UNKNOWN]


def _reachable(document: dict) -> set[str] | None:
    """The bom-refs the root component depends on, directly or not; None when the root
    declares no dependencies (then every component counts)."""
    root = (document.get("metadata") or {}).get("component") or {}
    graph = {
        d.get("ref"): [r for r in d.get("dependsOn") or [] if isinstance(r, str)]
        for d in document.get("dependencies") or []
        if isinstance(d, dict)
    }
    start = graph.get(root.get("bom-ref")) if isinstance(root, dict) else None
    if not start:
        return None
    seen, todo = set(), list(start)
    while todo:
        ref = todo.pop()
        if ref not in seen:
            seen.add(ref)
            todo.extend(graph.get(ref, []))
    return seen


def licence_check(document: dict, allowed: list[str]) -> LicenceCheck:
    """Judge each component of a CycloneDX document. With a root component that declares
    its dependencies (`cyclonedx-py environment --pyproject pyproject.toml`), only what
    the root depends on counts: the rest of the environment is the tools that ran it."""
    allowed_lower = {a.lower() for a in allowed}
    components = [c for c in document.get("components") or [] if isinstance(c, dict)]
    reachable = _reachable(document)
    root = (document.get("metadata") or {}).get("component") or {}
    if reachable is not None:
        counted = [c for c in components if c.get("bom-ref") in reachable]
        scope = (
            f"the {len(counted)} packages {root.get('name') or 'the project'} depends on "
            f"(of {len(components)} in the environment)"
        )
    else:
        counted = components
        scope = f"all {len(components)} packages of the document"
    packages = []
    for component in counted:
        verdict = component_verdict(component.get("licenses"), allowed_lower)
        packages.append(
            Package(
                name=str(component.get("name") or "?"),
                version=str(component.get("version") or ""),
                licences="; ".join(verdict.stated) or "none stated",
                verdict=verdict.verdict,
                why=", ".join(_unique(verdict.why)),
            )
        )
    packages.sort(key=lambda p: (p.name.lower(), p.version))
    return LicenceCheck(packages, scope)


def licence_evidence(check: LicenceCheck, allowed: list[str]) -> str:
    """The check as plain text, stored as the gate result's report: the offending and
    unknown packages first, then every package with its licence."""
    lines = [f"Licences of {check.scope}, against the allow-list:", "  " + ", ".join(allowed), ""]
    for title, group in (("Not allowed", check.refused), ("Unknown licence", check.unknown)):
        lines.append(f"{title}: {len(group)}")
        lines += [f"  {p.label}: {p.licences}" for p in group]
        lines.append("")
    lines.append("Every package:")
    width = max((len(p.label) for p in check.packages), default=0)
    lines += [f"  {p.label:<{width}}  {p.verdict:<11}  {p.licences}" for p in check.packages]
    return "\n".join(lines) + "\n"
