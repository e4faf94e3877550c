"""Draft a release's notes from the commits since the previous release.

1. `commits_between` reads the commits with one `git log` call;
2. `group_commits` sorts them into sections by their Conventional Commits header;
3. `render_notes` writes the Markdown in the shape of the release process template.

`draft_notes` does all three, leaving out the commits Liftoff made itself (the version
bump: `liftoff.git.is_liftoff_commit`). Nothing here touches the database, so it runs as well in a
task (outside any transaction: git can be slow) as in the bench.

The header parsing is deliberately a small regex of its own rather than
`releases.versioning.parse_commit`: notes only need type, scope, `!`, description and the
BREAKING CHANGE footer, and must draft something readable even from messy history.
"""

import codecs
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import NamedTuple

import git

from liftoff.errors import ValidationFailed
from liftoff.git import is_liftoff_commit

# `type(scope)!: description`. Types are matched case-insensitively ("Fix:" is common).
_HEADER = re.compile(
    r"^(?P<type>[A-Za-z][A-Za-z0-9_-]*)"
    r"(?:\((?P<scope>[^()\r\n]*)\))?"
    r"(?P<bang>!)?"
    r":[ \t]*(?P<description>\S.*)$"
)
# A BREAKING CHANGE footer: its text runs to the next blank line or the next footer token.
_BREAKING_FOOTER = re.compile(
    r"^BREAKING[ -]CHANGE:[ \t]*(?P<note>.*(?:\n(?![ \t]*\n|[\w-]+: |[\w-]+ #).+)*)",
    re.MULTILINE,
)


@dataclass(frozen=True)
class Section:
    """One section of the notes: a heading, and the commits it collects.

    `match` rules, any of which takes a commit: `"feat"` (a type), `"(oracle)"` (a scope,
    any type), `"feat(oracle)"` (both), `"!"` (a breaking change: a `!` or a BREAKING
    CHANGE footer), `"*"` (anything). A section without rules is a heading only (it groups
    the `###` sections below it). `empty`: shown when it has no commits (the section then
    always shows); without it an empty section is left out.
    """

    key: str
    heading: str
    match: tuple[str, ...] = ()
    level: int = 2
    empty: str = ""


@dataclass(frozen=True)
class Template:
    """How a project's notes read: its sections in order, the opening quote (when the
    release has no summary), the contributors' section (or none) and the footer.

    A commit lands in one section, the most specific rule wins: `!`, then type and scope,
    then scope, then type, then `*`; among equals, the first section. A commit that no
    rule takes is left out (a team may leave out its chores)."""

    sections: tuple[Section, ...]
    quote: str = ""
    footer: str = ""
    contributors: bool = True
    contributors_heading: str = "🙏 Gratitude & Recognition"

    def __post_init__(self):
        # The rule tables, built once per template: classifying a commit is a few dict
        # look-ups (draft_notes runs it for every commit as git writes them).
        breaking, pairs, scopes, types, anything = None, {}, {}, {}, None
        for section in self.sections:
            for rule in section.match:
                rule = rule.strip().lower()
                if rule == "!":
                    breaking = breaking or section.key
                elif rule == "*":
                    anything = anything or section.key
                elif rule.startswith("("):
                    scopes.setdefault(rule.strip("()"), section.key)
                elif "(" in rule:
                    kind, _, scope = rule.partition("(")
                    pairs.setdefault((kind, scope.rstrip(")")), section.key)
                else:
                    types.setdefault(rule, section.key)
        object.__setattr__(self, "_rules", (breaking, pairs, scopes, types, anything))

    def section_for(self, *, commit_type: str | None, scope: str | None, breaking: bool):
        """The key of the section that takes this commit, or None."""
        bang, pairs, scopes, types, anything = self._rules
        if breaking and bang:
            return bang
        if scope is not None:
            scope = scope.lower()
            if commit_type is not None and (commit_type, scope) in pairs:
                return pairs[commit_type, scope]
            if scope in scopes:
                return scopes[scope]
        if commit_type is not None and commit_type in types:
            return types[commit_type]
        return anything


# Highlights always shows, so a release without features says so instead of going quiet.
NO_FEATURES = "_No new features in this release._"
DEFAULT_QUOTE = (
    "In this cosmic milestone, new wisdom flows through digital channels, strengthening "
    "our sacred defenses and expanding consciousness through code."
)
FOOTER = '**"May this release serve the highest good of the digital realm."** ✨'
# The seed's notes (RELEASE_PROCESS.md, "Release Notes Generation"): what a project starts
# with, and what renders when none is given. releases/migrations/0012 keeps a frozen copy.
DEFAULT_TEMPLATE = Template(
    sections=(
        Section("breaking", "⚠️ Breaking changes", ("!",)),
        Section("features", "✨ Cosmic Highlights", ("feat",), empty=NO_FEATURES),
        Section("performance", "⚡ Performance", ("perf",)),
        Section("security", "🛡️ Security Fortifications", ("security", "(security)")),
        Section("fixes", "🐛 Bug Exorcisms", ("fix",)),
        Section("docs", "📚 Documentation", ("docs",)),
        Section("other", "🔧 Other changes", ("*",)),
    ),
    quote=DEFAULT_QUOTE,
    footer=FOOTER,
)
# Section key -> heading of the default template, in the order they are rendered.
SECTIONS: dict[str, str] = {s.key: s.heading for s in DEFAULT_TEMPLATE.sections}

# --- Templates as data --------------------------------------------------------------------
# A section as the settings page writes it, one a line: `## Heading | rules | empty text`.
_RULE = re.compile(r"^(?:!|\*|[a-z][a-z0-9_-]*|\([^()\s]+\)|[a-z][a-z0-9_-]*\([^()\s]+\))$")
_SECTION_LINE = re.compile(r"^(?P<level>#{2,3})[ \t]+(?P<rest>.+)$")
HEADING_MAX = 120


def template_from_data(data: dict | None) -> Template:
    """A Template from its stored form (`template_to_data`); the default for None."""
    if not data:
        return DEFAULT_TEMPLATE
    sections = tuple(
        Section(
            key=str(s.get("key") or f"section-{n}"),
            heading=str(s.get("heading", "")),
            match=tuple(s.get("match") or ()),
            level=3 if s.get("level") == 3 else 2,
            empty=str(s.get("empty") or ""),
        )
        for n, s in enumerate(data.get("sections") or [], start=1)
    )
    return Template(
        sections=sections,
        quote=str(data.get("quote") or ""),
        footer=str(data.get("footer") or ""),
        contributors=bool(data.get("contributors", True)),
        contributors_heading=str(
            data.get("contributors_heading") or DEFAULT_TEMPLATE.contributors_heading
        ),
    )


def template_to_data(template: Template) -> dict:
    return {
        "sections": [
            {"key": s.key, "heading": s.heading, "match": list(s.match), "level": s.level}
            | ({"empty": s.empty} if s.empty else {})
            for s in template.sections
        ],
        "quote": template.quote,
        "footer": template.footer,
        "contributors": template.contributors,
        "contributors_heading": template.contributors_heading,
    }


def sections_to_text(sections: Iterable[Section]) -> str:
    """The sections as the settings page shows them, one a line."""
    lines = []
    for s in sections:
        line = f"{'#' * s.level} {s.heading}"
        if s.match or s.empty:
            line += f" | {' '.join(s.match)}"
        if s.empty:
            line += f" | {s.empty}"
        lines.append(line)
    return "\n".join(lines)


def sections_from_text(text: str) -> tuple[Section, ...]:
    """Sections from the settings page's lines; ValidationFailed naming each bad line.

    `## Heading | feat (oracle) | text when empty`: `##` or `###`, the heading, then the
    rules (spaces or commas between them) and, optionally, the text shown when the section
    has no commits. No rules: a heading that groups the sections below it."""
    sections, problems = [], []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        found = _SECTION_LINE.match(line)
        if found is None:
            problems.append(f"Line {number}: start with ## or ### and the heading.")
            continue
        heading, _, rest = found["rest"].partition("|")
        rules_text, _, empty = rest.partition("|")
        heading, empty = heading.strip(), " ".join(empty.split())
        rules = tuple(r.lower() for r in re.split(r"[\s,]+", rules_text.strip()) if r)
        bad = [r for r in rules if not _RULE.match(r)]
        if not heading:
            problems.append(f"Line {number}: the heading is missing.")
        elif len(heading) > HEADING_MAX:
            problems.append(f"Line {number}: the heading is longer than {HEADING_MAX} characters.")
        if bad:
            problems.append(
                f"Line {number}: {', '.join(bad)} is not a rule (a type like feat, a scope "
                "like (oracle), both like feat(oracle), ! for breaking changes, * for the rest)."
            )
        if empty and not rules:
            problems.append(f"Line {number}: a heading without rules has no text for empty.")
        sections.append(Section(f"section-{number}", heading, rules, len(found["level"]), empty))
    if not sections and not problems:
        problems.append("Give at least one section.")
    if problems:
        raise ValidationFailed("The sections are not right.", errors={"sections": problems})
    return tuple(sections)


# A list item's commit reference at its end: "([abc1234](https://…))" or "(abc1234)".
_ITEM_REF = re.compile(r"\s*\((?:\[[0-9a-f]{7,40}\]\([^)\s]*\)|[0-9a-f]{7,40})\)$")


def notes_items(markdown: str, template: Template) -> dict[str, list[str]]:
    """The list items under each of the template's sections in notes drafted with it (and
    perhaps edited since), without their commit references: what an announcement quotes.
    A heading the template does not know ends the section before it."""
    by_heading = {_text(s.heading): s.key for s in template.sections}
    items: dict[str, list[str]] = {s.key: [] for s in template.sections}
    current = None
    for line in (markdown or "").splitlines():
        if line.startswith("#"):
            current = by_heading.get(line.lstrip("#").strip())
        elif current is not None and line.startswith(("- ", "* ")):
            items[current].append(_ITEM_REF.sub("", line[2:].strip()))
    return items


# sha, author name, author email, strict ISO author date, subject, body. NUL separates the
# fields (git cannot store it in a message); RS ends the record (see parse_log_chunks).
_LOG_FORMAT = "%H%x00%an%x00%ae%x00%aI%x00%s%x00%b%x1e"
_SHORT_SHA = 7
_LOG_ENV = {"GIT_FLUSH": "0"}
_CHUNK = 1 << 16


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    short_sha: str
    author_name: str
    author_email: str
    date: datetime
    subject: str
    body: str


class NoteItem(NamedTuple):
    """One line of the notes. A NamedTuple rather than a frozen dataclass: one is made per
    commit, and a frozen dataclass costs three to four times as much to build."""

    description: str
    scope: str | None
    short_sha: str
    sha: str
    author: str
    type: str | None = None
    breaking_note: str | None = None


@dataclass(frozen=True)
class Contributor:
    name: str
    email: str
    commits: int


# --- 1. Reading the commits --------------------------------------------------------------


def log_args(*, since: str | None, until: str) -> list[str]:
    """The arguments of the one `git log` call (shared with the bench, so both time the
    same work).

    Merge commits are left out: their subjects ("Merge branch ...") say nothing, and the
    commits they bring in are listed on their own. The refs come after `--end-of-options`
    so that even a ref starting with "-" can never be read as an option (the caller has
    already validated them), and `--` ends them so none is taken for a path.
    """
    revision = f"{since}..{until}" if since is not None else until
    return [
        "--no-merges",
        f"--format={_LOG_FORMAT}",
        "--end-of-options",
        revision,
        "--",
    ]


def commits_between(repo_path, *, since: str | None, until: str) -> list[CommitInfo]:
    """The non-merge commits reachable from `until` but not from `since`, newest first
    (every commit up to `until` when `since` is None).

    A ref git does not know, or a path that is not a repository, is the user's to fix:
    it comes back as ValidationFailed with git's own words.
    """
    return list(_commits_streamed(repo_path, since=since, until=until))


def _commits_streamed(repo_path, *, since: str | None, until: str) -> Iterator[CommitInfo]:
    """commits_between, one commit at a time as git writes them, so that the caller's work
    on each overlaps git's on the next instead of following all of it.

    git's stderr is read only once git has finished: git log writes there only a short
    error, never enough to fill the pipe and stall git.
    """
    args = log_args(since=since, until=until)
    try:
        # GIT_FLUSH=0: git otherwise flushes after every commit when writing to a pipe, and
        # thousands of small reads cost a fifth to a third more time (bench/notes.py).
        process = git.Repo(repo_path).git.log(*args, env=_LOG_ENV, as_process=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError) as exc:
        raise ValidationFailed(f"{repo_path} is not a git repository.") from exc
    try:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        chunks = iter(partial(process.stdout.read1, _CHUNK), b"")
        yield from parse_log_chunks(decoder.decode(chunk) for chunk in chunks)
        process.wait()  # raises GitCommandError, with git's stderr, if git failed
    except git.GitCommandError as exc:
        # GitPython wraps stderr as "stderr: '<git's message>'".
        stderr = str(exc.stderr or "").strip().removeprefix("stderr: '").removesuffix("'")
        found = re.search(r"^(?:fatal|error): (.+)$", stderr, re.MULTILINE)
        reason = found[1].strip() if found else stderr.strip() or "git log failed"
        raise ValidationFailed(
            f"Could not list the commits {since + '..' if since else ''}{until}: {reason}"
        ) from exc


def parse_log(out: str) -> list[CommitInfo]:
    """CommitInfo records from `git log --format=<_LOG_FORMAT>` output."""
    return list(parse_log_chunks([out]))


def parse_log_chunks(chunks: Iterable[str]) -> Iterator[CommitInfo]:
    """CommitInfo records from the output of git log, given in pieces of any size.

    Split on NUL, the output is [sha, name, email, date, subject, "body RS \\n next-sha",
    name, ..., "last body RS \\n"]: a record is complete once the field holding its body
    and the next sha is, that is once the NUL after it has arrived (or the output ended).
    """
    fields: list[str] = []
    pending = ""  # the last field seen, perhaps still incomplete
    for chunk in chunks:
        parts = (pending + chunk).split("\x00")
        pending = parts.pop()
        fields += parts
        start = 0
        while len(fields) - start >= 6:
            yield _commit(fields, start)
            start += 5
        del fields[:start]
    if fields or pending.strip():
        fields.append(pending)
        if len(fields) != 6:
            raise ValueError("unexpected git log output: a record does not have six fields")
        yield _commit(fields, 0)


def _commit(fields: list[str], start: int) -> CommitInfo:
    """The record at fields[start:start + 6]; leaves the next record's sha in its place."""
    sha, name, email, date, subject, tail = fields[start : start + 6]
    # From the right: a body may itself hold an RS, a sha never does.
    body, _, next_sha = tail.rpartition("\x1e")
    fields[start + 5] = next_sha.strip()
    sha = sha.strip()
    # Positional: the field order of CommitInfo, a little cheaper per commit.
    return CommitInfo(
        sha, sha[:_SHORT_SHA], name, email, datetime.fromisoformat(date), subject, body.strip()
    )


# --- 2. Grouping -------------------------------------------------------------------------


def group_commits(
    commits: Iterable[CommitInfo], template: Template = DEFAULT_TEMPLATE
) -> dict[str, list[NoteItem]]:
    """Every section key of the template (in order) to its items, oldest commit first.

    Each commit lands in at most one section (`Template.section_for`). With the default
    template: breaking (a `!` or a BREAKING CHANGE footer), security (type "security",
    scope "security", which covers fix(security)), then by type: features, fixes,
    performance, docs; anything else, non-conventional subjects included, goes to other.
    """
    groups: dict[str, list[NoteItem]] = {s.key: [] for s in template.sections}
    # One pass as the commits come (draft_notes hands them over as git writes them).
    for commit in commits:
        section, item = _classify(commit, template)
        if section is not None:
            groups[section].append(item)
    # git log lists newest first; notes read better in the order the work was done.
    for items in groups.values():
        items.reverse()
    return groups


def _classify(commit: CommitInfo, template: Template) -> tuple[str | None, NoteItem]:
    subject = commit.subject.strip()
    header = _HEADER.match(subject)
    # Most bodies are empty or short; the substring test spares them the regex.
    footer = _BREAKING_FOOTER.search(commit.body) if "BREAKING" in commit.body else None
    breaking_note = " ".join(footer["note"].split()) or None if footer else None
    if header is None:
        commit_type = scope = None
        description = subject or "(no subject)"
        bang = False
    else:
        commit_type = header["type"].lower()
        scope = header["scope"]
        scope = scope.strip() or None if scope else None
        description = header["description"].rstrip()
        bang = header["bang"] is not None
    item = NoteItem(
        description, scope, commit.short_sha, commit.sha, commit.author_name, commit_type,
        breaking_note,
    )  # fmt: skip
    breaking = bang or footer is not None
    return template.section_for(commit_type=commit_type, scope=scope, breaking=breaking), item


def contributors_from(commits: Iterable[CommitInfo]) -> list[Contributor]:
    """One Contributor per author email (case-insensitive), sorted by name, with the number
    of commits. The name shown is the one on the newest commit (git log order)."""
    seen: dict[str, list] = {}
    for commit in commits:
        key = commit.author_email.strip().lower()
        if key in seen:
            seen[key][2] += 1
        else:
            seen[key] = [commit.author_name, commit.author_email, 1]
    return _sorted_contributors(Contributor(*row) for row in seen.values())


def _sorted_contributors(contributors: Iterable[Contributor]) -> list[Contributor]:
    merged: dict[str, Contributor] = {}
    for person in contributors:
        key = person.email.strip().lower()
        if key in merged:
            prev = merged[key]
            person = Contributor(prev.name, prev.email, prev.commits + person.commits)
        merged[key] = person
    return sorted(merged.values(), key=lambda p: (p.name.casefold(), p.email.lower()))


# --- 3. Rendering ------------------------------------------------------------------------


def render_notes(
    *,
    project_name: str,
    version: str,
    codename: str,
    summary: str,
    groups: dict[str, list[NoteItem]],
    contributors: Iterable[Contributor],
    compare_url_base: str | None,
    commit_url_base: str | None,
    compare_range: tuple[str, str] | None = None,
    template: Template = DEFAULT_TEMPLATE,
) -> str:
    """The Markdown notes, in the shape of `template` (its sections, quote, contributors
    and footer; the seed's by default).

    `commit_url_base` (".../commit") links each item to `<base>/<sha>`; `compare_url_base`
    (".../compare") with `compare_range` (previous ref, this ref) adds a "Full changelog"
    link. Text from commits is escaped just enough that it cannot open an HTML tag; the
    Markdown renderer sanitises the HTML it produces in any case.
    """
    commit_base = _url_base(commit_url_base, "commit_url_base")
    compare_base = _url_base(compare_url_base, "compare_url_base")
    title = f"# 🌟 {_text(project_name)} v{_text(version.removeprefix('v'))}"
    if codename.strip():
        title += f' "{_text(codename)}"'
    quote = " ".join(summary.split()) or " ".join(template.quote.split())
    lines = [title, ""]
    if quote:
        lines += [f'> *"{_text(quote)}"*', ""]

    for section in template.sections:
        items = groups.get(section.key, [])
        if not items and section.match and not section.empty:
            continue
        lines += [f"{'#' * section.level} {_text(section.heading)}", ""]
        if not section.match:  # a heading only
            continue
        if not items:
            lines.append(_text(section.empty))
        for item in items:
            lines.append(_item_line(item, commit_base))
            if item.breaking_note:
                lines.append(f"  {_continuation(item.breaking_note)}")
        lines.append("")

    people = _sorted_contributors(contributors) if template.contributors else []
    if people:
        lines += [f"## {_text(template.contributors_heading)}", ""]
        for person in people:
            count = "1 commit" if person.commits == 1 else f"{person.commits} commits"
            lines.append(f"- {_text(person.name)} ({count})")
        lines.append("")

    if compare_base and compare_range:
        span = f"{compare_range[0]}...{compare_range[1]}"
        lines += [f"**Full changelog:** [{_text(span)}]({compare_base}/{span})", ""]
    if template.footer.strip():
        lines += ["---", "", _text(template.footer.strip()), ""]
    return "\n".join(lines)


def _item_line(item: NoteItem, commit_base: str | None) -> str:
    scope = f"**{_scope(item.scope)}:** " if item.scope else ""
    ref = f"[{item.short_sha}]({commit_base}/{item.sha})" if commit_base else item.short_sha
    return f"- {scope}{_text(item.description)} ({ref})"


def _text(value: str) -> str:
    """Commit text made inert: no `<` or `>` survives to start a tag."""
    return value.replace("<", "&lt;").replace(">", "&gt;")


_BLOCK_START = re.compile(r"^(?P<mark>[#*+=-])|^(?P<number>\d+)(?P<dot>[.)])")


def _continuation(value: str) -> str:
    """Text on its own line inside a list item. A leading `#`, `-`, `1.` ... would start a
    heading or a nested list, so that mark is escaped (`\\#`, `1\\.`); `>` is already
    `&gt;`."""
    return _BLOCK_START.sub(
        lambda m: "\\" + m["mark"] if m["mark"] else m["number"] + "\\" + m["dot"],
        _text(value),
        count=1,
    )


_SCOPE_SPECIALS = re.compile(r"([\\`*_\[\]])")


def _scope(value: str) -> str:
    """A scope sits inside **bold**: its own Markdown characters would break out of it."""
    return _text(_SCOPE_SPECIALS.sub(r"\\\1", value))


_URL_BASE = re.compile(r"^https?://[^\s()<>\"']+$")


def _url_base(value: str | None, name: str) -> str | None:
    if not value:
        return None
    if not _URL_BASE.match(value):
        raise ValidationFailed(
            f"{name} must be an http(s) URL without spaces, quotes, brackets or parentheses."
        )
    return value.rstrip("/")


# --- All together ------------------------------------------------------------------------


def draft_notes(
    repo_path,
    *,
    since: str | None,
    until: str,
    project_name: str,
    version: str,
    codename: str,
    summary: str,
    commit_url_base: str | None = None,
    compare_url_base: str | None = None,
    template: Template = DEFAULT_TEMPLATE,
) -> str:
    """Notes for the commits after `since` up to `until`, as Markdown. Liftoff's own
    commits (the version bump of Prepare) are neither changes nor contributions: left out."""
    commits: list[CommitInfo] = []

    def kept(stream: Iterator[CommitInfo]) -> Iterator[CommitInfo]:
        for commit in stream:
            if is_liftoff_commit(author_email=commit.author_email, body=commit.body):
                continue
            commits.append(commit)
            yield commit

    # Grouped as git writes them (their parsing and grouping hide behind git's work), and
    # kept for the contributors.
    commits_read = kept(_commits_streamed(repo_path, since=since, until=until))
    groups = group_commits(commits_read, template)
    return render_notes(
        project_name=project_name,
        version=version,
        codename=codename,
        summary=summary,
        groups=groups,
        contributors=contributors_from(commits),
        compare_url_base=compare_url_base,
        commit_url_base=commit_url_base,
        compare_range=(since, until) if since is not None else None,
        template=template,
    )
