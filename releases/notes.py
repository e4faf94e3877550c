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

# Section key -> heading, in the order they are rendered.
SECTIONS: dict[str, str] = {
    "breaking": "⚠️ Breaking changes",
    "features": "✨ Cosmic Highlights",
    "performance": "⚡ Performance",
    "security": "🛡️ Security Fortifications",
    "fixes": "🐛 Bug Exorcisms",
    "docs": "📚 Documentation",
    "other": "🔧 Other changes",
}
_SECTION_BY_TYPE = {"feat": "features", "fix": "fixes", "perf": "performance", "docs": "docs"}
# Highlights always shows, so a release without features says so instead of going quiet.
NO_FEATURES = "_No new features in this release._"
DEFAULT_QUOTE = (
    "In this cosmic milestone, new wisdom flows through digital channels, strengthening "
    "our sacred defenses and expanding consciousness through code."
)
FOOTER = '**"May this release serve the highest good of the digital realm."** ✨'

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


def group_commits(commits: Iterable[CommitInfo]) -> dict[str, list[NoteItem]]:
    """Every section key of SECTIONS (in order) to its items, oldest commit first.

    Each commit lands in exactly one section, the first that applies: breaking (a `!` or
    a BREAKING CHANGE footer), security (type "security", scope "security", which covers
    fix(security)), then by type: features, fixes, performance, docs; anything else,
    non-conventional subjects included, goes to other.
    """
    groups: dict[str, list[NoteItem]] = {key: [] for key in SECTIONS}
    # One pass as the commits come (draft_notes hands them over as git writes them).
    for commit in commits:
        section, item = _classify(commit)
        groups[section].append(item)
    # git log lists newest first; notes read better in the order the work was done.
    for items in groups.values():
        items.reverse()
    return groups


def _classify(commit: CommitInfo) -> tuple[str, NoteItem]:
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
    if bang or footer is not None:
        return "breaking", item
    if commit_type == "security" or (scope is not None and scope.lower() == "security"):
        return "security", item
    return _SECTION_BY_TYPE.get(commit_type, "other"), item


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
) -> str:
    """The Markdown notes.

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
    quote = " ".join(summary.split()) or DEFAULT_QUOTE
    lines = [title, "", f'> *"{_text(quote)}"*', ""]

    for key, heading in SECTIONS.items():
        items = groups.get(key, [])
        if not items and key != "features":
            continue
        lines += [f"## {heading}", ""]
        if not items:
            lines.append(NO_FEATURES)
        for item in items:
            lines.append(_item_line(item, commit_base))
            if key == "breaking" and item.breaking_note:
                lines.append(f"  {_continuation(item.breaking_note)}")
        lines.append("")

    people = _sorted_contributors(contributors)
    if people:
        lines += ["## 🙏 Gratitude & Recognition", ""]
        for person in people:
            count = "1 commit" if person.commits == 1 else f"{person.commits} commits"
            lines.append(f"- {_text(person.name)} ({count})")
        lines.append("")

    if compare_base and compare_range:
        span = f"{compare_range[0]}...{compare_range[1]}"
        lines += [f"**Full changelog:** [{_text(span)}]({compare_base}/{span})", ""]
    lines += ["---", "", FOOTER, ""]
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
    groups = group_commits(kept(_commits_streamed(repo_path, since=since, until=until)))
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
    )
