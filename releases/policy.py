"""The release policy: what blocks a release's move to a phase, and what happens when a
release is planned.

releases/ imports no app above it. Apps above (checklists, gates, later deployments and
incidents) register here in their `AppConfig.ready`:

- a **blocker** `fn(release, to) -> list[Blocker]`: the reasons it keeps `release` from
  moving to `to` (an empty list when it has none). A `Blocker` is the reason's text (a
  `str`: the API's `missing`, the CLI and messages use it as is) that also says who must
  act and where on the release page the thing to act on is (`anchor`). An app may
  register it in its **batch form** instead, `many(releases, to) -> {release_id:
  [Blocker, ...]}` with `to` a `{release_id: phase}` mapping (each release its own
  move): it answers for a whole page of releases (the dashboard's) in a constant
  number of queries, and the single release's answer is the batch of one, so the two
  never disagree;
- a **planned hook** `fn(release) -> None`: runs inside the transaction that creates the
  release (the checklists' copies), so a release never exists without what they add;
- a **project hook** `fn(project, actor) -> None`: the same for a new project (the
  default checklist templates and quality gates).

`release_blockers` is the one answer to "what keeps this release from moving": the
transition service, the release page, the API's 409 `missing` and `manage.py release
check` all ask it, so a blocker registered by a new app shows up everywhere at once.
`releases_blockers` is the same answer for many releases at once (the dashboard): both
go through `_answer`, so a release is judged by the same code whichever is asked.

A page that shows several targets and the gates and checklists themselves wraps its
reads in `policy_snapshot()`: inside it, `memoized` lets a selector read a release's rows
once for the page and every blocker (outside it, every call reads afresh, so a service
never decides on a stale read); `memoized_many` does the same for a batch, reading only
the keys the snapshot does not hold yet, in one go.
"""

from collections.abc import Callable, Iterable, Mapping
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
# The batch form: (releases, {release_id: to}) -> {release_id: [Blocker, ...]}.
BatchBlockerFn = Callable[[list, Mapping[int, str]], dict[int, list[Blocker]]]
# What a blocker reads for some releases: (releases) -> [liftoff.kept.Rows, ...].
BlockerRowsFn = Callable[[list], list]
PlannedHook = Callable[[object], None]

# name -> the batch form (a blocker registered in its single form is wrapped in one that
# asks it once per release).
_BLOCKERS: dict[str, BatchBlockerFn] = {}
_BLOCKER_ROWS: dict[str, BlockerRowsFn] = {}
_PLANNED_HOOKS: dict[str, PlannedHook] = {}
_PROJECT_HOOKS: dict[str, Callable] = {}
_snapshot: ContextVar[dict | None] = ContextVar("release_policy_snapshot", default=None)


def register_blocker(
    name: str,
    fn: BlockerFn | None = None,
    *,
    many: BatchBlockerFn | None = None,
    rows: BlockerRowsFn | None = None,
) -> None:
    """Register a blocker under `name`, in its single form `fn(release, to)` or its batch
    form `many(releases, to)` (one of the two); registering the same name again replaces
    it (a test app or a reloaded module), so the order of registration is the order of
    the reasons. A single form costs its queries once per release on a page of many.

    `rows(releases) -> list[liftoff.kept.Rows]`: every row the blocker reads to judge
    `releases` (each with at least `pk`, `project_id` and `head_commit`), besides the
    releases themselves. A page that shows the answer for many releases (the dashboard)
    is kept under their digest; while a blocker has not said what it reads, it is not."""
    if (fn is None) == (many is None):
        raise TypeError("register_blocker takes either fn or many")
    _BLOCKERS[name] = many or _one_by_one(fn)
    if rows is None:
        _BLOCKER_ROWS.pop(name, None)
    else:
        _BLOCKER_ROWS[name] = rows


def _one_by_one(fn: BlockerFn) -> BatchBlockerFn:
    def many(releases, to):
        return {release.pk: list(fn(release, to[release.pk])) for release in releases}

    return many


def unregister_blocker(name: str) -> None:
    _BLOCKERS.pop(name, None)
    _BLOCKER_ROWS.pop(name, None)


def blockers_rows(releases) -> list | None:
    """The rows every registered blocker reads to judge `releases` (`register_blocker`'s
    `rows`), or None when one of them has not said (a page must then not be kept)."""
    if not set(_BLOCKERS) <= set(_BLOCKER_ROWS):
        return None
    found = []
    for name in _BLOCKERS:
        found += _BLOCKER_ROWS[name](releases)
    return found


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
    return _answer([release], {release.pk: to})[release.pk]


def releases_blockers(*, releases: Iterable, to: Mapping[int, str]) -> dict[int, list[Blocker]]:
    """`release_blockers` for each of `releases` towards its own `to[release.pk]` (a
    release missing from `to` is not asked about): every registered app answers for all of
    them at once, so a page of releases costs each app's queries once, not once per
    release."""
    return _answer([r for r in releases if r.pk in to], to)


def _answer(releases: list, to: Mapping[int, str]) -> dict[int, list[Blocker]]:
    """The one place a release is judged, alone or among many."""
    found = {release.pk: _own_blockers(release, to[release.pk]) for release in releases}
    if not releases:
        return found
    for many in _BLOCKERS.values():
        answered = many(releases, to)
        for release in releases:
            found[release.pk] += [
                b if isinstance(b, Blocker) else Blocker(b) for b in answered.get(release.pk, ())
            ]
    return found


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


def memoized_many(prefix: str, ids: Iterable, read_many: Callable[[list], dict]) -> dict:
    """`memoized` for a batch: `{id: value}` for every id, where `read_many(ids)` reads
    `{id: value}` for all the ids it is given at once. Inside a `policy_snapshot` it is
    given only the ids not read yet under `(prefix, id)` (the keys `memoized` uses, so a
    page that read one release's rows for itself does not read them again for the
    batch), and what it reads is kept; outside one, all of them, every time."""
    wanted = list(dict.fromkeys(ids))
    cache = _snapshot.get()
    if cache is None:
        return read_many(wanted) if wanted else {}
    missing = [i for i in wanted if (prefix, i) not in cache]
    if missing:
        read = read_many(missing)
        for i in missing:
            cache[(prefix, i)] = read[i]
    return {i: cache[(prefix, i)] for i in wanted}
