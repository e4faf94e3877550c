"""Change impact analysis: what changed in the repository since the previous release.

`change_impact_compute(repo_path, base=…, head=…, security_patterns=…)` runs
`git diff --numstat -z -M` and `git diff --name-status -z -M` between two commits (the
previous release tag's commit, or the empty tree for a first release, and the release
head) and returns plain JSON values:

- per top-level folder (files at the root as "(root)"): files changed, lines added and
  removed, binary files (counted as files, their lines unknown); a rename across folders
  counts as a changed file in both, its lines go to the new path's folder;
- totals (each change once): files, lines added and removed, binary files, and how many
  files were added, modified, deleted and renamed;
- the called-out lists: migrations, dependency files, security-sensitive paths (the
  project's glob patterns), each a count and its first LIST_LIMIT paths.

A file that only Liftoff's version bump changed (the head is Liftoff's bump commit and the
file did not change between the base and the bump's parent) stays in the figures but is
left out of the called-out lists: otherwise every release would "change" pyproject.toml.

The commits reach git's argument list only as hexadecimal ids (`COMMIT`), resolved from
git by the caller; never from what a person typed. Runs in a worker: never in a request.
"""

import re
from fnmatch import fnmatchcase
from pathlib import PurePosixPath

import git

from liftoff.git import is_liftoff_commit

COMMIT = re.compile(r"^[0-9a-f]{40}(?:[0-9a-f]{24})?$")
ROOT_FOLDER = "(root)"
# How many paths of each called-out list are stored (the count is always whole): the
# report shows fewer still, "and N more".
LIST_LIMIT = 500
GIT_TIMEOUT_SECONDS = 300

# Security-sensitive paths, matched case-insensitively. A pattern without "/" is matched
# against every part of the path (a folder or the file's name: "auth" finds
# "src/auth/views.py"); one with "/" against the whole path from the repository's root
# ("*" may span folders there). Admins edit a project's list; this is where it starts.
DEFAULT_SECURITY_PATTERNS = [
    "auth",
    "auth.*",
    "auth_*",
    "*_auth",
    "*_auth.*",
    "authentication*",
    "authorization*",
    "*oauth*",
    "*security*",
    "*crypto*",
    "*secret*",
    "*permission*",
    "*password*",
    "*token*",
    "settings*.py",
    ".env*",
    "CODEOWNERS",
    "Dockerfile*",
    "docker-compose*",
    "compose.y*ml",
    ".github/workflows/*",
    ".gitlab-ci.yml",
    "*.pem",
    "*.key",
    "*.crt",
    "*.p12",
]
PATTERN_MAX = 200
PATTERNS_MAX = 100

# Dependency manifests and lock files, by file name (anywhere in the tree).
DEPENDENCY_NAMES = frozenset(
    {
        "pyproject.toml",
        "uv.lock",
        "poetry.lock",
        "pipfile",
        "pipfile.lock",
        "setup.py",
        "setup.cfg",
        "package.json",
        "package-lock.json",
        "npm-shrinkwrap.json",
        "yarn.lock",
        "pnpm-lock.yaml",
        "go.mod",
        "go.sum",
        "cargo.toml",
        "cargo.lock",
        "gemfile",
        "gemfile.lock",
        "composer.json",
        "composer.lock",
    }
)
_MIGRATION_FOLDERS = {"migrations", "migration", "migrate"}


def security_pattern_problem(pattern: str) -> str | None:
    """Why `pattern` cannot be a security-sensitive path pattern, or None."""
    if not pattern or pattern != pattern.strip():
        return "is empty or has spaces around it"
    if len(pattern) > PATTERN_MAX:
        return f"is longer than {PATTERN_MAX} characters"
    if any(ord(c) < 32 for c in pattern):
        return "has a control character"
    if pattern.startswith("/") or pattern.endswith("/"):
        return "starts or ends with '/': write a folder's name, or folder/*"
    if pattern.count("[") != pattern.count("]"):
        return "has an unclosed [ ]"
    if set(pattern) <= {"*", "?", "/"}:
        return "matches every path"
    return None


def path_matches(path: str, pattern: str) -> bool:
    """Whether `path` (relative, "/"-separated) matches a security pattern (see above)."""
    path, pattern = path.lower(), pattern.lower()
    if "/" in pattern:
        return fnmatchcase(path, pattern)
    return any(fnmatchcase(part, pattern) for part in PurePosixPath(path).parts)


def is_migration(path: str) -> bool:
    """Django-style `*/migrations/*.py` (not `__init__.py`), alembic `versions/*.py`, and
    `.sql` files (and Rails' `db/migrate/*.rb`) under a migrations folder."""
    parts = PurePosixPath(path.lower()).parts
    folders, name = parts[:-1], parts[-1]
    if name == "__init__.py" or not folders:
        return False
    if name.endswith(".py"):
        if "migrations" in folders:
            return True
        return folders[-1] == "versions" and len(folders) > 1 and folders[-2] == "alembic"
    if name.endswith(".sql"):
        return bool(_MIGRATION_FOLDERS & set(folders))
    return name.endswith(".rb") and folders[-2:] == ("db", "migrate")


def is_dependency_file(path: str) -> bool:
    """Manifests and lock files: requirements*.txt, requirements/*.txt, pyproject.toml,
    uv.lock, package.json, go.mod, Cargo.lock, … (DEPENDENCY_NAMES)."""
    parts = PurePosixPath(path.lower()).parts
    name = parts[-1]
    if name in DEPENDENCY_NAMES:
        return True
    if name.endswith(".txt") and (
        fnmatchcase(name, "requirements*.txt") or fnmatchcase(name, "constraints*.txt")
    ):
        return True
    return name.endswith(".txt") and len(parts) > 1 and parts[-2] == "requirements"


# --- Reading git's output ----------------------------------------------------------------


def parse_numstat(output: str) -> list[dict]:
    """`git diff --numstat -z -M` as [{path, old_path, added, removed, binary}].

    A record is "added<TAB>removed<TAB>path<NUL>", or for a rename "added<TAB>removed<TAB>
    <NUL>old<NUL>new<NUL>"; a binary file has "-" for both counts."""
    fields = output.split("\0")
    changes, i = [], 0
    while i < len(fields):
        record = fields[i]
        i += 1
        if not record.strip("\n"):
            continue
        added, removed, path = record.lstrip("\n").split("\t", 2)
        old_path = None
        if path == "":  # a rename or copy: the two paths follow
            old_path, path = fields[i], fields[i + 1]
            i += 2
        binary = added == "-" and removed == "-"
        changes.append(
            {
                "path": path,
                "old_path": old_path,
                "added": None if binary else int(added),
                "removed": None if binary else int(removed),
                "binary": binary,
            }
        )
    return changes


_STATUS_NAMES = {"A": "added", "M": "modified", "D": "deleted", "R": "renamed", "C": "copied"}


def parse_name_status(output: str) -> dict[str, str]:
    """`git diff --name-status -z -M` as {path (the new one): "added"|"modified"|…}."""
    fields = [f for f in output.split("\0")]
    found, i = {}, 0
    while i < len(fields):
        status = fields[i].strip("\n")
        i += 1
        if not status:
            continue
        if status[0] in "RC":
            path = fields[i + 1]
            i += 2
        else:
            path = fields[i]
            i += 1
        found[path] = _STATUS_NAMES.get(status[0], "modified")
    return found


# --- The summary -------------------------------------------------------------------------


def top_folder(path: str) -> str:
    return path.split("/", 1)[0] if "/" in path else ROOT_FOLDER


def _entry(change: dict) -> dict:
    entry = {"path": change["path"], "change": change["change"]}
    if change["old_path"]:
        entry["from"] = change["old_path"]
    return entry


def _called_out(changes: list[dict], test) -> dict:
    found = [
        _entry(c) for c in changes if test(c["path"]) or (c["old_path"] and test(c["old_path"]))
    ]
    return {"count": len(found), "paths": found[:LIST_LIMIT]}


def impact_summarise(
    changes: list[dict], *, security_patterns: list[str], bump_only: frozenset = frozenset()
) -> dict:
    """The figures and called-out lists of `changes` (parse_numstat's records, each with
    its `change` kind). `bump_only`: paths that only Liftoff's version bump changed."""
    folders: dict[str, dict] = {}
    totals = {"files": 0, "added": 0, "removed": 0, "binary": 0}
    # How many files were added, modified, deleted, renamed (a copy counts as added).
    kinds = {"files_added": 0, "files_modified": 0, "files_deleted": 0, "files_renamed": 0}
    for change in changes:
        totals["files"] += 1
        kind = {"copied": "added"}.get(change["change"], change["change"])
        kinds[f"files_{kind}" if f"files_{kind}" in kinds else "files_modified"] += 1
        touched = {top_folder(change["path"])}
        if change["old_path"]:
            touched.add(top_folder(change["old_path"]))
        for name in touched:
            row = folders.setdefault(
                name, {"folder": name, "files": 0, "added": 0, "removed": 0, "binary": 0}
            )
            row["files"] += 1
        row = folders[top_folder(change["path"])]
        if change["binary"]:
            row["binary"] += 1
            totals["binary"] += 1
        else:
            for key in ("added", "removed"):
                row[key] += change[key]
                totals[key] += change[key]
    listed = [c for c in changes if c["path"] not in bump_only]
    rows = sorted(folders.values(), key=lambda r: (r["folder"] != ROOT_FOLDER, r["folder"]))
    return {
        "totals": {**totals, **kinds},
        "folders": rows,
        "migrations": _called_out(listed, is_migration),
        "dependencies": _called_out(listed, is_dependency_file),
        "security": _called_out(
            listed, lambda path: any(path_matches(path, p) for p in security_patterns)
        ),
        "bump_only": sorted(bump_only & {c["path"] for c in changes}),
        "security_patterns": list(security_patterns),
    }


# --- Git ---------------------------------------------------------------------------------


class ImpactProblem(Exception):
    """Why the change could not be analysed (stored on the release's analysis, shown on
    the report)."""


def _git(repo: git.Repo, *args: str) -> str:
    try:
        return repo.git.execute(
            ["git", *args],
            kill_after_timeout=GIT_TIMEOUT_SECONDS,
            strip_newline_in_stdout=False,
        )
    except git.GitCommandError as exc:
        stderr = str(exc.stderr or "").strip().removeprefix("stderr: '").removesuffix("'")
        found = re.search(r"^(?:fatal|error): (.+)$", stderr, re.MULTILINE)
        raise ImpactProblem(
            f"git {args[0]} failed: {found[1] if found else stderr or exc.status}"
        ) from exc


def _changed(repo: git.Repo, base: str, head: str) -> list[dict]:
    changes = parse_numstat(_git(repo, "diff", "--numstat", "-z", "-M", base, head, "--"))
    kinds = parse_name_status(_git(repo, "diff", "--name-status", "-z", "-M", base, head, "--"))
    for change in changes:
        change["change"] = kinds.get(change["path"], "modified")
    return changes


def empty_tree(repo: git.Repo) -> str:
    """The id of the empty tree in this repository's hash (what a first release is
    compared with: then everything in the tree is its change)."""
    return _git(repo, "hash-object", "-t", "tree", "/dev/null").strip()


def _bump_only(repo: git.Repo, base: str, head: str, changes: list[dict]) -> frozenset:
    """Paths changed by Liftoff's bump commit at `head` and by nothing before it."""
    commit = repo.commit(head)
    body = commit.message if isinstance(commit.message, str) else commit.message.decode()
    if len(commit.parents) != 1 or not is_liftoff_commit(
        author_email=commit.author.email or "", body=body
    ):
        return frozenset()
    parent = commit.parents[0].hexsha
    before = _git(repo, "diff", "--name-only", "-z", "--no-renames", base, parent, "--")
    bumped = _git(repo, "diff", "--name-only", "-z", "--no-renames", parent, head, "--")
    earlier = set(filter(None, before.split("\0")))
    return frozenset(p for p in bumped.split("\0") if p and p not in earlier)


def change_impact_compute(
    repo_path, *, base: str | None, head: str, security_patterns: list[str]
) -> dict:
    """The change from `base` (None: the empty tree) to `head` in the repository at
    `repo_path` (a working clone or a bare mirror), summarised (impact_summarise)."""
    for commit in (base, head):
        if commit is not None and not COMMIT.match(commit):
            raise ImpactProblem(f"“{str(commit)[:80]}” is not a commit id.")
    try:
        repo = git.Repo(repo_path)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError) as exc:
        raise ImpactProblem(f"{repo_path} is not a git repository.") from exc
    start = base or empty_tree(repo)
    changes = _changed(repo, start, head)
    bump_only = _bump_only(repo, start, head, changes)
    return impact_summarise(changes, security_patterns=security_patterns, bump_only=bump_only)
