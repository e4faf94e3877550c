"""Version numbers, commit messages and codenames: pure functions, no database.

- `Version` is strict Semantic Versioning 2.0.0 (https://semver.org), parsed with the
  spec's own regular expression and ordered by its precedence rules (§11).
- `parse_commit` and `suggest_release_type` read Conventional Commits 1.0.0
  (https://www.conventionalcommits.org) to suggest the next release type.
- `propose_version` and `version_problem` turn a release type into a version and check a
  version a person typed.
- `codename_slug` and `next_codename` pick and spell release codenames.

Errors a person can fix raise `ValidationFailed` with a readable message.
"""

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Self

from liftoff.errors import ValidationFailed

RELEASE_TYPES = ("major", "minor", "patch", "hotfix")

# The regular expression suggested at semver.org, with `\d` spelled `[0-9]`: in Python `\d`
# also matches non-ASCII digits such as "١", which the grammar does not allow. Used with
# fullmatch, so a trailing newline is refused too (`$` would let one through).
_SEMVER = re.compile(
    r"(?P<major>0|[1-9][0-9]*)\.(?P<minor>0|[1-9][0-9]*)\.(?P<patch>0|[1-9][0-9]*)"
    r"(?:-(?P<prerelease>(?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)"
    r"(?:\.(?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+(?P<buildmetadata>[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?"
)
_PRERELEASE_ID = re.compile(r"0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*")
_BUILD_ID = re.compile(r"[0-9a-zA-Z-]+")
_NUMERIC_ID = re.compile(r"[0-9]+")


def _not_a_version(text: str) -> ValidationFailed:
    shown = text if len(text) <= 40 else text[:39] + "…"
    message = f"“{shown}” is not a semantic version (MAJOR.MINOR.PATCH, e.g. 1.4.0)"
    if hint := _version_hint(text):
        message = f"{message}: {hint}"
    return ValidationFailed(message, errors={"version": [message]})


def _version_hint(text: str) -> str | None:
    """Name the most likely mistake, to help the person fix it; None when unclear."""
    if text[:1] in {"v", "V"} and _SEMVER.fullmatch(text[1:]):
        return "leave out the leading “v”"
    if text != text.strip():
        return "remove the spaces around it"
    head, plus, build = text.partition("+")
    core, dash, prerelease = head.partition("-")
    numbers = core.split(".")
    if len(numbers) != 3:
        return "it needs exactly three numbers"
    if not all(n.isascii() and n.isdigit() for n in numbers):
        return "major, minor and patch must be numbers"
    prerelease_ids = prerelease.split(".") if dash else []
    identifiers = prerelease_ids + (build.split(".") if plus else [])
    if any(not identifier for identifier in identifiers):
        return "a pre-release or build part is empty"
    if any(not _BUILD_ID.fullmatch(identifier) for identifier in identifiers):
        return "use only letters, digits and hyphens after “-” and “+”"
    numbers += [i for i in prerelease_ids if _NUMERIC_ID.fullmatch(i)]
    if any(len(n) > 1 and n.startswith("0") for n in numbers):
        return "numbers must not have leading zeros"
    return None


def _identifier_key(identifier: str) -> tuple[int, int, str]:
    # §11.4.1–3: numeric identifiers compare numerically and sort before alphanumeric
    # ones, which compare in ASCII order (Python compares str by code point).
    if _NUMERIC_ID.fullmatch(identifier):
        return (0, int(identifier), "")
    return (1, 0, identifier)


@dataclass(frozen=True)
class Version:
    """A Semantic Versioning 2.0.0 version.

    Two notions of sameness, on purpose:
    - `==` (and `hash`) is dataclass equality: build metadata included, so `1.0.0+a` and
      `1.0.0+b` are different values (two different builds, two different tags).
    - `<`, `<=`, `>`, `>=` follow the spec's precedence (§11), which ignores build
      metadata: neither of those two is lower than the other, and `same_precedence` is
      True. Sort and take `max` with `key=Version.precedence_key` when builds may differ.
    """

    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()
    build: tuple[str, ...] = ()

    def __post_init__(self):
        # Constructing a Version in code with bad parts is a bug, not a user error.
        for name in ("major", "minor", "patch"):
            value = getattr(self, name)
            if type(value) is not int or value < 0:
                raise ValueError(f"Version.{name} must be a non-negative int, not {value!r}")
        for name, pattern in (("prerelease", _PRERELEASE_ID), ("build", _BUILD_ID)):
            parts = getattr(self, name)
            if not isinstance(parts, tuple) or not all(
                isinstance(part, str) and pattern.fullmatch(part) for part in parts
            ):
                raise ValueError(f"Version.{name} has an invalid identifier: {parts!r}")

    @classmethod
    def parse(cls, text: str) -> Self:
        """Parse exactly the SemVer grammar: no leading "v", no spaces around it."""
        match = _SEMVER.fullmatch(text) if isinstance(text, str) else None
        if match is None:
            raise _not_a_version(str(text))
        prerelease = match["prerelease"]
        build = match["buildmetadata"]
        return cls(
            int(match["major"]),
            int(match["minor"]),
            int(match["patch"]),
            tuple(prerelease.split(".")) if prerelease else (),
            tuple(build.split(".")) if build else (),
        )

    @classmethod
    def parse_tag(cls, tag: str, pattern: str = "v{version}") -> Self | None:
        """The version in a tag name made with `pattern`, or None when the tag does not fit.

        `pattern` holds `{version}` once and may hold `{codename}` and `{codename-slug}`,
        which match any text (a slug: lowercase letters, digits, hyphens). Those make some
        tags ambiguous ("v1.0.0-rc-oracle" for "v{version}-{codename-slug}"): the shortest
        version that fits wins, here 1.0.0 named "rc-oracle".
        """
        if pattern.count("{version}") != 1:
            message = "The tag pattern must contain {version} exactly once."
            raise ValidationFailed(message, errors={"tag_pattern": [message]})
        placeholders = {
            "{version}": r"(?P<version>[0-9A-Za-z.+-]+?)",
            "{codename-slug}": r"[a-z0-9-]+?",
            "{codename}": r".+?",
        }
        parts = re.split(r"(\{version\}|\{codename-slug\}|\{codename\})", pattern)
        regex = "".join(placeholders.get(part) or re.escape(part) for part in parts)
        match = re.fullmatch(regex, tag, flags=re.DOTALL)
        if match is None or not _SEMVER.fullmatch(match["version"]):
            return None
        return cls.parse(match["version"])

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += "-" + ".".join(self.prerelease)
        if self.build:
            text += "+" + ".".join(self.build)
        return text

    @property
    def is_prerelease(self) -> bool:
        return bool(self.prerelease)

    def precedence_key(self) -> tuple:
        """A sort key that orders versions by SemVer precedence (§11); build is ignored."""
        if not self.prerelease:
            # §11.3: a release ranks above every pre-release of the same version.
            return (self.major, self.minor, self.patch, 1, ())
        # §11.4.4: tuple comparison ranks the longer list higher when all before are equal.
        identifiers = tuple(_identifier_key(i) for i in self.prerelease)
        return (self.major, self.minor, self.patch, 0, identifiers)

    def same_precedence(self, other: "Version") -> bool:
        return self.precedence_key() == other.precedence_key()

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self.precedence_key() < other.precedence_key()

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self.precedence_key() <= other.precedence_key()

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self.precedence_key() > other.precedence_key()

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self.precedence_key() >= other.precedence_key()


def _check_release_type(release_type: str) -> None:
    if release_type not in RELEASE_TYPES:
        message = f"“{release_type}” is not a release type: use major, minor, patch or hotfix."
        raise ValidationFailed(message, errors={"release_type": [message]})


def bump(version: Version, release_type: str) -> Version:
    """The next version of `release_type`, counted from the release part of `version`.

    Pre-release and build are always dropped and the number always goes up, so bumping
    1.0.0-rc.1 by patch gives 1.0.1, not 1.0.0 (finishing a pre-release is not a bump).
    A hotfix is a patch.
    """
    _check_release_type(release_type)
    if release_type == "major":
        return Version(version.major + 1, 0, 0)
    if release_type == "minor":
        return Version(version.major, version.minor + 1, 0)
    return Version(version.major, version.minor, version.patch + 1)


def _highest_release(versions: Iterable[Version]) -> Version | None:
    releases = [v for v in versions if not v.is_prerelease]
    return max(releases, key=Version.precedence_key, default=None)


FIRST_VERSION = Version(0, 1, 0)


def propose_version(
    *, release_type: str, released: Iterable[Version], in_production: Version | None = None
) -> Version:
    """The version a new release of `release_type` should get.

    major, minor, patch: bump the highest released version that is not a pre-release.
    With nothing released yet the answer is 0.1.0 whatever the type: a first release
    starts the initial-development series (SemVer FAQ), and "major" would mean 1.0.0, a
    promise of a stable API that nobody has made yet.
    hotfix: bump the patch of the version in production, so the fix ships on the line
    that runs; without one, of the highest released version. With neither there is
    nothing to fix, and the hotfix is refused.
    """
    _check_release_type(release_type)
    highest = _highest_release(released)
    if release_type == "hotfix":
        base = in_production or highest
        if base is None:
            message = "Nothing has been released yet, so there is nothing to hotfix."
            raise ValidationFailed(message, errors={"release_type": [message]})
        return bump(base, "hotfix")
    if highest is None:
        return FIRST_VERSION
    return bump(highest, release_type)


def version_problem(
    candidate: Version,
    *,
    released: Iterable[Version],
    existing: Iterable[Version],
    hotfix_of: Version | None = None,
) -> str | None:
    """Why `candidate` cannot be the next release's version, or None when it can.

    `existing` holds every version already taken (tags, draft releases); `released` the
    versions that shipped. A candidate must differ in precedence from all of them (so
    1.2.0+build2 clashes with 1.2.0+build1) and rank above the highest released version
    that is not a pre-release; a pre-release of a higher version (2.0.0-rc.1 after 1.9.0)
    is fine. A hotfix on an older line (1.0.1 for production's 1.0.0 after 1.1.0 shipped)
    passes `hotfix_of`, and then only has to rank above that version.
    """
    released = list(released)
    for taken in [*existing, *released]:
        if candidate.same_precedence(taken):
            also = f" (as {taken})" if taken != candidate else ""
            return f"v{candidate} exists already{also}."
    floor = hotfix_of if hotfix_of is not None else _highest_release(released)
    if floor is not None and candidate < floor:
        if hotfix_of is not None:
            return f"v{candidate} is lower than v{hotfix_of}, the version it should fix."
        return f"v{candidate} is lower than the released v{floor}."
    return None


# --- Conventional Commits ---------------------------------------------------------------
# The header is `type(scope)!: description`. The spec requires the space after the colon;
# a type here is letters only, and an empty scope "()" is not a scope.
_COMMIT_HEADER = re.compile(
    r"(?P<type>[A-Za-z]+)(?:\((?P<scope>[^()\r\n]*[^()\s][^()\r\n]*)\))?(?P<bang>!)?: "
    r"(?P<description>.*\S.*)"
)
# "BREAKING CHANGE" must be upper case (spec item 15); BREAKING-CHANGE is its synonym.
_BREAKING_FOOTER = re.compile(r"^BREAKING[ -]CHANGE:[ \t]*(?P<note>.*)$", re.MULTILINE)
# Any footer token ("Refs: …", "Reviewed-by: …", "Fixes #12") ends the note before it.
_FOOTER_TOKEN = re.compile(r"^(?:[A-Za-z][A-Za-z-]*: |[A-Za-z][A-Za-z-]* #|BREAKING[ -]CHANGE:)")


@dataclass(frozen=True)
class ConventionalCommit:
    """A commit whose subject follows Conventional Commits 1.0.0.

    `breaking_note` is the text of a `BREAKING CHANGE:` footer; it is empty when the
    commit is breaking only through `!` (the description then says what breaks).
    """

    type: str
    scope: str
    breaking: bool
    description: str
    breaking_note: str = ""

    def __str__(self) -> str:
        # "!" whenever breaking, also through a footer: the header alone then tells.
        scope = f"({self.scope})" if self.scope else ""
        bang = "!" if self.breaking else ""
        return f"{self.type}{scope}{bang}: {self.description}"


def _breaking_note(body: str) -> str | None:
    """The text of the first BREAKING CHANGE footer, continued up to the next footer."""
    match = _BREAKING_FOOTER.search(body)
    if match is None:
        return None
    lines = [match["note"]]
    for line in body[match.end() :].splitlines()[1:]:
        if _FOOTER_TOKEN.match(line):
            break
        lines.append(line)
    return "\n".join(lines).strip()


def parse_commit(subject: str, body: str = "") -> ConventionalCommit | None:
    """Read a commit message; None when its subject is not a conventional header."""
    lines = subject.strip().splitlines()
    match = _COMMIT_HEADER.fullmatch(lines[0].strip()) if lines else None
    if match is None:
        return None
    note = _breaking_note(body)
    return ConventionalCommit(
        type=match["type"].lower(),
        scope=(match["scope"] or "").strip(),
        breaking=bool(match["bang"]) or note is not None,
        description=match["description"].strip(),
        breaking_note=note or "",
    )


_MAX_EXAMPLES = 3


def _plural(count: int, singular: str, plural: str) -> str:
    return f"{count} {singular if count == 1 else plural}"


def _examples(commits: list[ConventionalCommit]) -> str:
    shown = []
    for commit in commits[:_MAX_EXAMPLES]:
        text = str(commit)
        shown.append(text if len(text) <= 60 else text[:59] + "…")
    text = ", ".join(shown)
    if len(commits) > _MAX_EXAMPLES:
        text += f" and {len(commits) - _MAX_EXAMPLES} more"
    return text


def suggest_release_type(
    commits: Iterable[tuple[str, str]], *, current: Version | None
) -> tuple[str, list[str]]:
    """Suggest major, minor or patch from the (subject, body) pairs since `current`.

    Any breaking change means major, any feature minor, anything else patch. Before 1.0.0
    (or before any release) a breaking change means minor: SemVer §4 lets the public API
    change at any time during initial development, and leaving 0.x is a decision for a
    person, not for a commit message. Returns the type and short reasons to show.
    """
    breaking: list[ConventionalCommit] = []
    features: list[ConventionalCommit] = []
    fixes = others = 0
    for subject, body in commits:
        commit = parse_commit(subject, body)
        if commit is None:
            others += 1
        elif commit.breaking:
            breaking.append(commit)
        elif commit.type == "feat":
            features.append(commit)
        elif commit.type == "fix":
            fixes += 1
        else:
            others += 1

    if breaking:
        reasons = [
            f"{_plural(len(breaking), 'breaking change', 'breaking changes')}: "
            f"{_examples(breaking)}"
        ]
        if current is None or current.major == 0:
            reasons.append("before 1.0.0 a breaking change bumps the minor version")
            return "minor", reasons
        return "major", reasons
    if features:
        return "minor", [
            f"{_plural(len(features), 'feature', 'features')}, e.g. {_examples(features)}"
        ]
    counts = []
    if fixes:
        counts.append(_plural(fixes, "fix", "fixes"))
    if others:
        counts.append(_plural(others, "other commit", "other commits"))
    if not counts:
        return "patch", ["no commits since the last release"]
    return "patch", ["no features or breaking changes: " + ", ".join(counts)]


# --- Codenames --------------------------------------------------------------------------
# Lower-case letters NFKD does not split into ASCII, spelled the way people usually write
# them; upper case is folded first ("ß" and "ẞ" fold to "ss" on their own).
_TRANSLITERATE = str.maketrans(
    {"æ": "ae", "ø": "o", "œ": "oe", "đ": "d", "ł": "l", "þ": "th", "ð": "d", "ı": "i"}
)


def codename_slug(name: str) -> str:
    """A codename as it goes into a branch name: "Digital Oracle" → "digital-oracle".

    Accents are dropped ("Café Noël" → "cafe-noel"). A name with no Latin letters or
    digits ("東京", or no codename at all) gives "": the caller picks the fallback
    (`releases.services.render_ref_pattern` uses "release").
    """
    folded = name.casefold().translate(_TRANSLITERATE)
    ascii_name = unicodedata.normalize("NFKD", folded).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name).strip("-")


def next_codename(pool: list[str], used: Iterable[str]) -> str | None:
    """The first codename in `pool` not in `used` (ignoring case), or None when all are."""
    taken = {name.strip().casefold() for name in used}
    for name in pool:
        if name.strip() and name.strip().casefold() not in taken:
            return name
    return None
