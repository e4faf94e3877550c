"""Git helpers written once. Ref names are checked here before any git command sees them.

Later issues add the GitPython-based operations (fetch, branch, commit, tag) beside these.
"""

import base64
import contextlib
import fcntl
import os
import re
import shutil
import time
from pathlib import Path
from urllib.parse import urlsplit

import git
from django.utils.dateparse import parse_datetime

# A project's slug, a gate's key: what URLs, CI reports and the API name things by.
SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?$")
SLUG_RULE = "Use 1–50 lowercase letters, digits and hyphens."


def repo_path_problem(path) -> str | None:
    """Why `path` is not a plain relative path inside a checkout (a version file, a
    report), or None: no absolute path, no option-like start, no '.', '..' or empty parts."""
    if not isinstance(path, str) or not path or path.startswith(("/", "-")):
        return "must be a relative path inside the repository"
    if any(part in {"", ".", ".."} for part in path.split("/")):
        return "must not contain '.', '..' or empty parts"
    return None


_BAD_REF_CHARS = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")
_SCP_LIKE = re.compile(r"^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^\s]+$")
ALLOWED_URL_SCHEMES = {"https", "http", "ssh", "git", "file"}


def ref_name_problem(name: str) -> str | None:
    """Why `name` is not a valid branch or tag name (git check-ref-format rules), or None."""
    if not name:
        return "is empty"
    if len(name) > 200:
        return "is longer than 200 characters"
    if name.startswith("-"):
        return "starts with '-'"
    if name == "@":
        return "is '@'"
    if _BAD_REF_CHARS.search(name):
        return "contains a space, a control character or one of ~ ^ : ? * [ \\"
    if ".." in name or "@{" in name or "//" in name:
        return "contains '..', '@{' or '//'"
    if name.endswith(("/", ".")) or name.startswith("/"):
        return "starts with '/' or ends with '/' or '.'"
    for part in name.split("/"):
        if part.startswith(".") or part.endswith(".lock"):
            return "has a part that starts with '.' or ends with '.lock'"
    return None


def remote_url_problem(url: str) -> str | None:
    """Why `url` is not an acceptable git remote, or None.

    Only plain transports: no `ext::` helper URLs (they run commands) and nothing that
    git could read as an option.
    """
    if not url or url != url.strip():
        return "is empty or has surrounding spaces"
    if url.startswith("-") or "::" in url:
        return "is not a plain git URL"
    if url.startswith("/"):
        return None
    if _SCP_LIKE.match(url):
        return None
    parts = urlsplit(url)
    if parts.password:
        return "holds a password: give credentials through the environment, not the URL"
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_URL_SCHEMES:
        return f"must use one of {', '.join(sorted(ALLOWED_URL_SCHEMES))}, or be an absolute path"
    return None


def redact_url(url: str) -> str:
    """The URL without any user:password part, for pages and logs."""
    parts = urlsplit(url)
    if parts.password or parts.username:
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        return parts._replace(netloc=host).geturl()
    return url


# --- Mirrors: a bare cache of each project's remote, fetched by sync runs ----------------

GIT_ENV = {
    # Never prompt for credentials on a worker: fail with git's message instead.
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_ASKPASS": "/bin/false",
    "SSH_ASKPASS": "/bin/false",
    "GIT_SSH_COMMAND": "ssh -o BatchMode=yes -o ConnectTimeout=20",
}


def git_env() -> dict[str, str]:
    """The environment of every git command Liftoff runs.

    HTTPS credentials come from the environment (LIFTOFF_GIT_TOKEN, with
    LIFTOFF_GIT_USERNAME), never from the project's URL, and reach git as an extra HTTP
    header through GIT_CONFIG_* variables: not in the command line, not in a log (the
    token's value is masked as a secret), not on a page. SSH uses the worker's keys.
    """

    env = dict(GIT_ENV)
    token = os.environ.get("LIFTOFF_GIT_TOKEN", "")
    if token:
        user = os.environ.get("LIFTOFF_GIT_USERNAME", "x-access-token")
        basic = base64.b64encode(f"{user}:{token}".encode()).decode()
        env.update(
            {
                "GIT_CONFIG_COUNT": "1",
                "GIT_CONFIG_KEY_0": "http.extraHeader",
                "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
            }
        )
    return env


def git_secret_values() -> list[str]:
    """Values a git command's output must never show (masked by the runner)."""
    env = git_env()
    header = env.get("GIT_CONFIG_VALUE_0", "")
    return [header, header.removeprefix("Authorization: Basic ")] if header else []


def mirror_ensure(path) -> bool:
    """Create the bare mirror at `path` if it is missing. True if it was created."""

    if (path / "HEAD").exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    git.Repo.init(path, bare=True, mkdir=True)
    return True


def fetch_mirror_args(url: str) -> list[str]:
    """`git fetch` of every branch and tag of `url` into a bare mirror, pruning the rest.

    `url` was checked by remote_url_problem when the project was saved; `--` keeps git
    from reading it as an option all the same.
    """
    return [
        "git",
        "-c",
        "protocol.ext.allow=never",
        "fetch",
        "--prune",
        "--prune-tags",
        "--force",
        "--no-write-fetch-head",
        "--",
        url,
        "+refs/heads/*:refs/heads/*",
        "+refs/tags/*:refs/tags/*",
    ]


_REF_FORMAT = (
    "%(refname)%00%(objectname)%00%(*objectname)%00%(contents:subject)%00%(creatordate:iso-strict)"
)


def list_refs(path) -> list[dict]:
    """Branches and tags of the repository at `path` (a tag's commit is the one it points
    to, peeled through annotated tags)."""

    repo = git.Repo(path)
    out = repo.git.for_each_ref(f"--format={_REF_FORMAT}", "refs/heads", "refs/tags")
    refs = []
    for line in out.splitlines():
        refname, obj, peeled, subject, date = line.split("\x00")
        if refname.startswith("refs/heads/"):
            kind, name = "branch", refname.removeprefix("refs/heads/")
        else:
            kind, name = "tag", refname.removeprefix("refs/tags/")
        refs.append(
            {
                "kind": kind,
                "name": name,
                "commit": peeled or obj,
                "subject": subject[:300],
                "committed_at": parse_datetime(date),
            }
        )
    return refs


# --- Working clones: where a release is prepared and tagged -----------------------------


def clone_args(url: str, path) -> list[str]:
    return ["git", "-c", "protocol.ext.allow=never", "clone", "--", url, str(path)]


@contextlib.contextmanager
def folder_locked(ctx, root: Path):
    """Hold `root`'s lock file (one run at a time uses a clone kept there: two releases'
    validations, two environments' deployments). A run waiting here still honours cancel."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                ctx.check_cancelled()
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def clone_or_fetch(ctx, *, url: str, path: Path) -> git.Repo:
    """A working clone of `url` at `path`: cloned the first time (a clone that died
    half-way is cleared first), fetched after that, with origin set to `url` (the
    project's URL may have changed since). `ctx` is a run step's context: the commands
    go through its runner, so they are logged, masked, cancellable and timed out."""
    if not (path / ".git").is_dir():
        shutil.rmtree(path, ignore_errors=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        ctx.log(f"Cloning {redact_url(url)}")
        ctx.run_command(clone_args(url, path), cwd=path.parent, env=git_env(), timeout=900)
    else:
        git.Repo(path).remotes.origin.set_url(url)
        ctx.log(f"Fetching {redact_url(url)}")
        ctx.run_command(fetch_workspace_args(), cwd=path, env=git_env(), timeout=900)
    return git.Repo(path)


def fetch_workspace_args() -> list[str]:
    return [
        "git",
        "-c",
        "protocol.ext.allow=never",
        "fetch",
        "--prune",
        "--force",
        "--tags",
        "origin",
    ]


def push_ref_args(local: str, remote_ref: str) -> list[str]:
    """Push `local` to `remote_ref` on origin (both checked by ref_name_problem first)."""
    return ["git", "push", "--porcelain", "origin", f"{local}:{remote_ref}"]


# Who Liftoff's own commits and tags are by, and the trailer its commits carry. Release notes
# leave a commit out only when both say Liftoff: a person may type either one by chance (a
# "release: v1.2.0" subject is common), hardly both.
LIFTOFF_IDENTITY = {"name": "Liftoff", "email": "liftoff@localhost"}
LIFTOFF_TRAILER = "Liftoff-Release"
# The trailer as git writes it: a line of the message's last paragraph.
_LIFTOFF_TRAILER_LINE = re.compile(rf"^{LIFTOFF_TRAILER}:[ \t]*\S", re.MULTILINE | re.IGNORECASE)


def liftoff_commit_message(subject: str, *, body: str = "", version: str) -> str:
    """The message of a commit Liftoff makes: subject, optional body, and its trailer."""
    paragraphs = [subject, body.strip(), f"{LIFTOFF_TRAILER}: {version}"]
    return "\n\n".join(p for p in paragraphs if p) + "\n"


def is_liftoff_commit(*, author_email: str, body: str) -> bool:
    """True for a commit Liftoff made (its identity and its trailer): a version bump, not a
    change of the product."""
    if author_email.strip().lower() != LIFTOFF_IDENTITY["email"]:
        return False
    last_paragraph = body.strip().rpartition("\n\n")[2]
    return _LIFTOFF_TRAILER_LINE.search(last_paragraph) is not None


def repo_identity_set(repo, *, name: str, email: str) -> None:
    """Commits and tags made by Liftoff carry its identity, whatever the machine's config."""
    with repo.config_writer() as config:
        config.set_value("user", "name", name)
        config.set_value("user", "email", email)
        config.set_value("core", "hooksPath", "/dev/null")
        config.set_value("commit", "gpgsign", "false")
        config.set_value("tag", "gpgsign", "false")
