"""The release policy: what blocks a release's move to a phase, and what happens when a
release is planned.

releases/ imports no app above it. Apps above (checklists, gates, later deployments and
incidents) register here in their `AppConfig.ready`:

- a **blocker** `fn(release, to) -> list[Blocker]`: the reasons it keeps `release` from
  moving to `to` (an empty list when it has none). A `Blocker` is the reason's text (a
  `str`: the API's `missing`, the CLI and messages use it as is) that also says who must
  act and where on the release page the thing to act on is (`anchor`);
- a **planned hook** `fn(release) -> None`: runs inside the transaction that creates the
  release (the checklists' copies), so a release never exists without what they add;
- a **project hook** `fn(project, actor) -> None`: the same for a new project (the
  default checklist templates and quality gates).

`release_blockers` is the one answer to "what keeps this release from moving": the
transition service, the release page, the API's 409 `missing` and `manage.py release
check` all ask it, so a blocker registered by a new app shows up everywhere at once.

A page that shows several targets and the gates and checklists themselves wraps its
reads in `policy_snapshot()`: inside it, `memoized` lets a selector read a release's rows
once for the page and every blocker (outside it, every call reads afresh, so a service
never decides on a stale read).
"""

from collections.abc import Callable
from contextlib import contextmanager
from contextvars import ContextVar

from releases.models import ReleaseStatus

# Who must act on a blocker: the release page groups them so.
MUST_ACT_RELEASE_MANAGER = "release_manager"  # tick, run, prepare: the one driving it
MUST_ACT_APPROVER = "approver"  # sign off, or waive
MUST_ACT_ADMIN = "admin"  # change the configuration
MUST_ACT_NOBODY = "unmeasured"  # nothing measures it: configure something that does
MUST_ACT_LABELS = {
    MUST_ACT_RELEASE_MANAGER: "The release manager",
    MUST_ACT_APPROVER: "An approver",
    MUST_ACT_ADMIN: "An admin",
    MUST_ACT_NOBODY: "Nothing measures it",
}


class Blocker(str):
    """A reason that keeps a release from moving: its text, who must act on it, and the
    id of the release page's element to act on ("item-12", without the "#")."""

    who: str
    anchor: str

    def __new__(cls, text: str, *, who: str = MUST_ACT_RELEASE_MANAGER, anchor: str = ""):
        blocker = super().__new__(cls, text)
        blocker.who = who
        blocker.anchor = anchor
        return blocker


# The anchor of the one blocker Ship itself removes (the missing tag).
SHIP_ANCHOR = "ship"

BlockerFn = Callable[[object, str], list[Blocker]]
PlannedHook = Callable[[object], None]

_BLOCKERS: dict[str, BlockerFn] = {}
_PLANNED_HOOKS: dict[str, PlannedHook] = {}
_PROJECT_HOOKS: dict[str, Callable] = {}
_snapshot: ContextVar[dict | None] = ContextVar("release_policy_snapshot", default=None)


def register_blocker(name: str, fn: BlockerFn) -> None:
    """Register `fn` under `name`; registering the same name again replaces it (a test app
    or a reloaded module), so the order of registration is the order of the reasons."""
    _BLOCKERS[name] = fn


def unregister_blocker(name: str) -> None:
    _BLOCKERS.pop(name, None)


def blocker_names() -> list[str]:
    return list(_BLOCKERS)


def register_planned_hook(name: str, fn: PlannedHook) -> None:
    _PLANNED_HOOKS[name] = fn


def register_project_hook(name: str, fn: Callable) -> None:
    """`fn(project, actor)` runs inside the transaction that creates a project (the
    default checklist templates, the default gates)."""
    _PROJECT_HOOKS[name] = fn


def _own_blockers(release, to: str) -> list[Blocker]:
    """What the release itself lacks for a phase (its git work)."""
    missing = []
    if to == ReleaseStatus.PREPARING and release.status == ReleaseStatus.PLANNED:
        missing.append(Blocker("Preparation starts with Prepare, which runs the git work."))
    if to == ReleaseStatus.VALIDATING and not release.prepared_at:
        missing.append(
            Blocker(
                "The release is not prepared yet: its branch is not pushed "
                "(start Prepare, or retry it)."
            )
        )
    if to == ReleaseStatus.RELEASED and not release.tagged_at:
        missing.append(
            Blocker(
                f"The tag {release.tag} is not created yet: use Ship to tag and push.",
                anchor=SHIP_ANCHOR,
            )
        )
    return missing


def release_blockers(*, release, to: str) -> list[Blocker]:
    """Everything that keeps `release` from moving to `to`, from every registered app, in
    registration order. Empty when nothing does. A plain `str` a blocker returns counts
    as one for the release manager, with no anchor."""
    missing = _own_blockers(release, to)
    for fn in _BLOCKERS.values():
        missing += [b if isinstance(b, Blocker) else Blocker(b) for b in fn(release, to)]
    return missing


def release_planned(*, release) -> None:
    """Run every app's planned hook, in the caller's transaction."""
    for fn in _PLANNED_HOOKS.values():
        fn(release)


def project_created(*, project, actor) -> None:
    """Run every app's project hook, in the caller's transaction."""
    for fn in _PROJECT_HOOKS.values():
        fn(project, actor)


@contextmanager
def policy_snapshot():
    """Read each release's rows once for everything inside (a page's render)."""
    token = _snapshot.set({})
    try:
        yield
    finally:
        _snapshot.reset(token)


def memoized(key: tuple, read: Callable):
    """`read()` once per key inside a `policy_snapshot`; every time outside one."""
    cache = _snapshot.get()
    if cache is None:
        return read()
    if key not in cache:
        cache[key] = read()
    return cache[key]
