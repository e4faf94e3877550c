"""Reads of deployments: what runs where, what blocks a deployment, the board."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import EmptyResultSet
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from deployments.freezes import freeze_in_force
from deployments.models import (
    DEPLOYMENT_ACTIVE_STATES,
    Deployment,
    DeploymentKind,
    DeploymentStatus,
    EmergencyChange,
    Environment,
    EnvironmentPhase,
    FreezeWindow,
    HealthSample,
)
from liftoff.kept import Rows
from liftoff.roles import Role, has_role
from releases.models import RELEASE_FINAL_STATES, Project, Release, ReleaseStatus, ReleaseType
from releases.policy import (
    MUST_ACT_ADMIN,
    MUST_ACT_APPROVER,
    MUST_ACT_RELEASE_MANAGER,
    Blocker,
    memoized_many,
)


def project_environments(*, project) -> list[Environment]:
    return list(Environment.objects.filter(project=project).order_by("order", "name"))


def environment_get(*, project, name: str) -> Environment:
    return Environment.objects.select_related("project").get(project=project, name=name)


def project_freeze_windows(*, project) -> list[FreezeWindow]:
    """A project's freeze windows, for its freeze page."""
    return list(
        FreezeWindow.objects.filter(project=project)
        .select_related("environment")
        .order_by("kind", "starts_at", "id")
    )


def environment_current(*, environment: Environment) -> Deployment | None:
    """What runs there now: the newest deployment that succeeded and was verified. A
    deployment that failed half-way never counts, so the board never shows a version that
    is not really there."""
    return (
        Deployment.objects.filter(environment=environment, verified=True)
        .select_related("release", "requested_by")
        .order_by("-finished_at", "-id")
        .first()
    )


def environment_active(*, environment: Environment) -> Deployment | None:
    """The deployment queued or running there (at most one: the database holds that)."""
    return (
        Deployment.objects.filter(environment=environment, status__in=DEPLOYMENT_ACTIVE_STATES)
        .select_related("release", "run")
        .first()
    )


def rollback_target(*, environment: Environment, current: Deployment | None) -> Deployment | None:
    """The last stable version of an environment, to roll back to: the newest deployment
    verified there of another release than the one running now (versions that never
    verified are skipped: they were never known to work)."""
    verified = (
        Deployment.objects.filter(environment=environment, verified=True)
        # A release rolled back once is no stable version to go back to.
        .exclude(release__status=ReleaseStatus.ROLLED_BACK)
        .select_related("release")
    )
    if current is not None:
        verified = verified.exclude(release_id=current.release_id)
    return verified.order_by("-finished_at", "-id").first()


def environment_continuity(*, environment: Environment, until: datetime) -> dict:
    """What an environment could fall back to as it stood at `until` (a release's
    compliance record, frozen when it ships): the version running, the last stable one
    before it (the emergency rollback's target then) and when a rollback there last
    succeeded. Bounded by `until`, so later deployments never change the answer."""
    before = Deployment.objects.filter(environment=environment, finished_at__lte=until)
    verified = before.filter(verified=True).select_related("release")
    current = verified.order_by("-finished_at", "-id").first()
    target = None
    if current is not None:
        target = (
            verified.exclude(release_id=current.release_id).order_by("-finished_at", "-id").first()
        )
    last_rollback = (
        before.filter(kind=DeploymentKind.ROLLBACK, status=DeploymentStatus.SUCCEEDED)
        .order_by("-finished_at", "-id")
        .values_list("finished_at", flat=True)
        .first()
    )
    return {"current": current, "rollback_target": target, "last_rollback_at": last_rollback}


def _project_environments(project_id: int) -> list[Environment]:
    """A project's environments, in order: read once per page (inside a policy_snapshot)
    for every environment's blockers and the release policy's blocker."""
    return _projects_environments([project_id])[project_id]


def _projects_environments(project_ids) -> dict[int, list[Environment]]:
    """`_project_environments` of several projects in one query."""
    return memoized_many("environments", project_ids, _read_environments)


def _read_environments(project_ids) -> dict[int, list[Environment]]:
    found = {pk: [] for pk in project_ids}
    for environment in Environment.objects.filter(project_id__in=project_ids).order_by(
        "order", "id"
    ):
        found[environment.project_id].append(environment)
    return found


def project_environments_once(*, project_id: int) -> list[Environment]:
    """The same read for apps above (incidents' blocker): once per page."""
    return _project_environments(project_id)


def projects_environments_once(*, project_ids) -> dict[int, list[Environment]]:
    """The same read for several projects in one query (the blockers' batch form)."""
    return _projects_environments(project_ids)


def _project_freezes(project_id: int) -> list[FreezeWindow]:
    return _projects_freezes([project_id])[project_id]


def _projects_freezes(project_ids) -> dict[int, list[FreezeWindow]]:
    return memoized_many("freezes", project_ids, _read_freezes)


def _read_freezes(project_ids) -> dict[int, list[FreezeWindow]]:
    found = {pk: [] for pk in project_ids}
    for window in FreezeWindow.objects.filter(project_id__in=project_ids):
        found[window.project_id].append(window)
    return found


def _verified_environment_ids(project_id: int, commit: str) -> set[int]:
    """The environments of a project where `commit` was deployed and verified."""
    return _verified_environments_of([(project_id, commit)])[(project_id, commit)]


def _verified_environments_of(pairs) -> dict[tuple[int, str], set[int]]:
    """`_verified_environment_ids` of several (project, commit) pairs in one query."""
    return memoized_many("verified", pairs, _read_verified)


def _read_verified(pairs) -> dict[tuple[int, str], set[int]]:
    found = {pair: set() for pair in pairs}
    rows = Deployment.objects.filter(
        environment__project_id__in={p for p, _ in pairs},
        commit__in={c for _, c in pairs},
        verified=True,
        kind="deploy",
    ).values_list("environment__project_id", "commit", "environment_id")
    for project_id, commit, environment_id in rows:
        if (project_id, commit) in found:
            found[(project_id, commit)].add(environment_id)
    return found


def _verified_deployments(project_id: int, commit: str):
    return Deployment.objects.filter(
        environment__project_id=project_id, commit=commit, verified=True, kind="deploy"
    )


def freezes_in_force(*, environment: Environment, at: datetime | None = None) -> list[FreezeWindow]:
    return _windows_in_force(
        _project_freezes(environment.project_id), environment, at or timezone.now()
    )


def _windows_in_force(windows, environment: Environment, at: datetime) -> list[FreezeWindow]:
    """Of a project's freeze windows, those in force on `environment` at `at`."""
    return [
        w for w in windows if w.environment_id in (None, environment.pk) and freeze_in_force(w, at)
    ]


def previous_environment(*, environment: Environment) -> Environment | None:
    """The environment a release passes before this one (by order): promotion comes from it."""
    before = [
        e for e in _project_environments(environment.project_id) if e.order < environment.order
    ]
    return max(before, key=lambda e: (e.order, e.pk)) if before else None


def verified_on(*, environment: Environment, commit: str) -> bool:
    return environment.pk in _verified_environment_ids(environment.project_id, commit)


# Blockers of a deployment from apps above deployments (incidents: an open critical
# incident on production), registered in their AppConfig.ready: `fn(release, environment)
# -> list[Blocker]`. Rollbacks never ask (they skip the checks on purpose).
DeploymentBlockerFn = Callable[[object, Environment], list[Blocker]]
_EXTRA_BLOCKERS: dict[str, DeploymentBlockerFn] = {}


def register_deployment_blocker(name: str, fn: DeploymentBlockerFn) -> None:
    """Register `fn` under `name` (the same name again replaces it)."""
    _EXTRA_BLOCKERS[name] = fn


def deployment_blockers(
    *, release, environment: Environment, at: datetime | None = None, override: bool = False
) -> list[Blocker]:
    """What keeps `release` from being deployed to `environment` (at `at`, now by default).
    The service, the page's button and the API's 409 `missing` all ask this."""
    missing: list[Blocker] = []
    anchor = f"environment-{environment.pk}"
    if release.project_id != environment.project_id:
        return [Blocker("That environment belongs to another project.")]
    if release.status in RELEASE_FINAL_STATES:
        return [Blocker(f"v{release.version} is {release.get_status_display().lower()}.")]
    if not release.head_commit:
        missing.append(Blocker("The release has no head commit yet: prepare it first."))
    if environment.locked:
        missing.append(
            Blocker(
                f"{environment.name} is locked: {environment.locked_reason or 'no reason given'}.",
                who=MUST_ACT_RELEASE_MANAGER,
                anchor=anchor,
            )
        )
    freezes = freezes_in_force(environment=environment, at=at)
    if freezes and not override:
        when = "then" if at else "now"
        for window in freezes:
            hint = (
                " An approver may override it for this hotfix, with a reason."
                if release.type == ReleaseType.HOTFIX
                else ""
            )
            missing.append(
                Blocker(
                    f"{environment.name} is frozen {when}: {window.reason}.{hint}",
                    who=MUST_ACT_APPROVER if release.type == ReleaseType.HOTFIX else MUST_ACT_ADMIN,
                    anchor=anchor,
                )
            )
    if environment.phase == EnvironmentPhase.STAGING:
        early = {ReleaseStatus.PLANNED, ReleaseStatus.PREPARING, ReleaseStatus.VALIDATING}
        if release.status in early:
            missing.append(
                Blocker(
                    f"v{release.version} is {release.get_status_display().lower()}: "
                    f"{environment.name} takes a release once it is ready."
                )
            )
    previous = previous_environment(environment=environment)
    if (
        previous is not None
        and release.head_commit
        and not verified_on(environment=previous, commit=release.head_commit)
    ):
        missing.append(
            Blocker(
                f"{release.head_commit[:10]} has no verified deployment to {previous.name} "
                f"yet: deploy it to {previous.name} first.",
                anchor=f"environment-{previous.pk}",
            )
        )
    for fn in _EXTRA_BLOCKERS.values():
        missing += fn(release, environment)
    return missing


def release_deployment_blockers(release, to: str) -> list[Blocker]:
    """The release policy's deployments blocker for one release: the batch of one."""
    return releases_deployment_blockers([release], {release.pk: to})[release.pk]


# The moves a release makes by its deployments.
_FOLLOWS_DEPLOYMENTS = frozenset(
    {ReleaseStatus.STAGING, ReleaseStatus.PRODUCTION, ReleaseStatus.RELEASED}
)


def releases_deployment_blockers(releases, to) -> dict[int, list[Blocker]]:
    """The release policy's blocker (registered in DeploymentsConfig.ready; its batch form:
    `to` maps each release to its move): where a project has a staging or production
    environment, the release follows its deployments there. Staging needs a verified
    deployment of the head to staging; production needs one to staging and no lock or
    freeze on production; released needs a verified deployment to production.

    Three queries for all the releases asked (their projects' environments, the verified
    deployments of their heads, and the freeze windows of those asked about production)."""
    asked = [r for r in releases if r.head_commit and to[r.pk] in _FOLLOWS_DEPLOYMENTS]
    found: dict[int, list[Blocker]] = {release.pk: [] for release in releases}
    if not asked:
        return found
    environments = _projects_environments({r.project_id for r in asked})
    verified = _verified_environments_of({(r.project_id, r.head_commit) for r in asked})
    to_production = {r.project_id for r in asked if to[r.pk] == ReleaseStatus.PRODUCTION}
    freezes = _projects_freezes(to_production) if to_production else {}
    now = timezone.now()
    for release in asked:
        found[release.pk] = _deployment_missing(
            release,
            to[release.pk],
            environments[release.project_id],
            verified[(release.project_id, release.head_commit)],
            freezes.get(release.project_id, []),
            now,
        )
    return found


def releases_deployment_blocker_rows(releases) -> list[Rows]:
    """What the deployments blocker reads for `releases` (the policy's `rows`): their
    projects' environments and freeze windows, and the verified deployments of their
    heads (the partial index `deployment_commit_verified`)."""
    projects = sorted({release.project_id for release in releases})
    heads = sorted({release.head_commit for release in releases if release.head_commit})
    in_projects = (
        "environment_id IN (SELECT id FROM deployments_environment WHERE project_id = ANY(%s))"
    )
    return [
        Rows(Environment, "project_id = ANY(%s)", (projects,)),
        Rows(FreezeWindow, "project_id = ANY(%s)", (projects,)),
        Rows(
            Deployment,
            f"commit = ANY(%s) AND verified AND kind = %s AND {in_projects}",
            (heads, DeploymentKind.DEPLOY, projects),
        ),
    ]


def _deployment_missing(release, to, environments, verified_ids, freezes, now) -> list[Blocker]:
    staging = [e for e in environments if e.phase == EnvironmentPhase.STAGING]
    production = [e for e in environments if e.phase == EnvironmentPhase.PRODUCTION]
    missing = []
    needs = {
        ReleaseStatus.STAGING: staging,
        ReleaseStatus.PRODUCTION: staging,
        ReleaseStatus.RELEASED: production,
    }[to]
    for environment in needs:
        if environment.pk not in verified_ids:
            missing.append(
                Blocker(
                    f"No verified deployment of {release.head_commit[:10]} to "
                    f"{environment.name} yet: deploy it there.",
                    anchor=f"environment-{environment.pk}",
                )
            )
    if to == ReleaseStatus.PRODUCTION:
        for environment in production:
            if environment.locked:
                missing.append(
                    Blocker(
                        f"{environment.name} is locked: {environment.locked_reason}.",
                        anchor=f"environment-{environment.pk}",
                    )
                )
            for window in _windows_in_force(freezes, environment, now):
                missing.append(
                    Blocker(
                        f"{environment.name} is frozen now: {window.reason}.",
                        who=MUST_ACT_APPROVER
                        if release.type == ReleaseType.HOTFIX
                        else MUST_ACT_ADMIN,
                        anchor=f"environment-{environment.pk}",
                    )
                )
    return missing


def deployment_get(*, pk: int) -> Deployment:
    return Deployment.objects.select_related(
        "environment__project", "release", "run", "requested_by", "rollback_of", "replaced"
    ).get(pk=pk)


def deployment_list(*, filters: dict | None = None):
    """The history, newest first, filtered by project (slug), environment (name), status,
    kind and dates. One query per page of rows, whatever the size of the history."""
    filters = filters or {}
    qs = Deployment.objects.select_related("environment__project", "release", "requested_by")
    if filters.get("project"):
        qs = qs.filter(environment__project__slug=filters["project"])
    if filters.get("environment"):
        qs = qs.filter(environment__name=filters["environment"])
    if filters.get("status"):
        qs = qs.filter(status=filters["status"])
    if filters.get("kind"):
        qs = qs.filter(kind=filters["kind"])
    if filters.get("since"):
        qs = qs.filter(created_at__date__gte=filters["since"])
    if filters.get("until"):
        qs = qs.filter(created_at__date__lte=filters["until"])
    if filters.get("release"):
        qs = qs.filter(release_id=filters["release"])
    return qs.order_by("-created_at", "-id")


@dataclass
class EnvironmentRow:
    """One environment on the board."""

    environment: Environment
    current: Deployment | None
    active: Deployment | None
    freezes: list
    history: list


# The board's health history: the newest samples of each environment, as small marks.
HEALTH_MARKS = 20


def _current_deployments(environments):
    """What runs in each of `environments` (a queryset): its newest verified deployment."""
    newest = (
        Deployment.objects.filter(environment_id=OuterRef("pk"), verified=True)
        .order_by("-finished_at", "-id")
        .values("pk")[:1]
    )
    return Deployment.objects.filter(
        pk__in=environments.annotate(current_id=Subquery(newest)).values("current_id")
    )


def _active_deployments(**where):
    return Deployment.objects.filter(status__in=DEPLOYMENT_ACTIVE_STATES, **where)


# `_current_deployments` in SQL, for digests: each environment's newest verified deployment
# (through the index deployment_env_verified), one row per environment of `e`.
_CURRENT_SQL = (
    "SELECT (SELECT d.id FROM deployments_deployment d WHERE d.environment_id = e.id "
    "AND d.verified ORDER BY d.finished_at DESC, d.id DESC LIMIT 1) FROM deployments_environment e"
)


def board_page_rows() -> list[Rows]:
    """Every row `board` reads for every project (liftoff.kept): the projects, their
    environments and freeze windows, what runs in each and what is in progress (and their
    releases), the newest health samples, and the people who deployed. Only placeholders
    and our own SQL go into the text; the states are parameters."""
    states = tuple(sorted(DEPLOYMENT_ACTIVE_STATES))
    active = "status IN (" + ", ".join(["%s"] * len(states)) + ")"
    current = f"id IN ({_CURRENT_SQL})"
    per_environment = "SELECT %s * greatest(1, count(*)) FROM deployments_environment"
    releases_of = "SELECT release_id FROM deployments_deployment WHERE"
    return [
        Rows(Project),
        Rows(Environment),
        Rows(FreezeWindow),
        # Two sets, not one with OR: each uses its index (an OR read all 10,000 rows).
        Rows(Deployment, current),
        Rows(Deployment, active, states),
        Rows(Release, f"id IN ({releases_of} {current})"),
        Rows(Release, f"id IN ({releases_of} {active})", states),
        Rows(
            HealthSample, tail=f"ORDER BY at DESC LIMIT ({per_environment})", params=(HEALTH_MARKS,)
        ),
        Rows(get_user_model()),
    ]


def history_page_rows(deployments) -> list[Rows]:
    """The rows a page of the history (`deployment_list`, sliced) shows: its deployments,
    and the environments, projects and people it names."""
    try:
        sql, params = deployments.values("pk").query.sql_with_params()
        page = Rows(Deployment, f"id IN ({sql})", tuple(params))
    except EmptyResultSet:  # a filter nothing can match: no rows
        page = Rows(Deployment, "FALSE")
    return [
        page,
        Rows(Environment),
        Rows(Project),
        Rows(get_user_model()),
    ]


def environment_names() -> list[str]:
    """The names environments have, across projects (the history's filter)."""
    return list(Environment.objects.order_by("name").values_list("name", flat=True).distinct())


def release_page_rows(release) -> list[Rows]:
    """Every row the release page's Deployments section, blocker and actions read
    (releases.sections.register_page_rows): the project's environments and freeze windows,
    what runs in each (`_current_deployments`), what is in progress there
    (`_active_deployments`) and where the head is verified (`_verified_deployments`)."""
    project = release.project_id
    in_project = "environment_id IN (SELECT id FROM deployments_environment WHERE project_id = %s)"
    active = ", ".join(["%s"] * len(DEPLOYMENT_ACTIVE_STATES))
    return [
        Rows(Environment, "project_id = %s", (project,)),
        Rows(FreezeWindow, "project_id = %s", (project,)),
        Rows(Deployment, f"id IN ({_CURRENT_SQL} WHERE e.project_id = %s)", (project,)),
        Rows(
            Deployment,
            f"status IN ({active}) AND {in_project}",
            (*sorted(DEPLOYMENT_ACTIVE_STATES), project),
        ),
        Rows(
            Deployment,
            f"commit = %s AND verified AND kind = %s AND {in_project}",
            (release.head_commit, DeploymentKind.DEPLOY, project),
        ),
    ]


def board(*, projects) -> list[tuple[object, list[EnvironmentRow]]]:
    """The environment board: per project, each environment with what runs there, what is
    in progress, freezes in force and a short health history. A fixed number of queries,
    however many deployments there are (the newest verified one per environment comes from
    one DISTINCT ON query)."""
    projects = list(projects)
    environments = list(
        Environment.objects.filter(project__in=projects)
        .select_related("project")
        .order_by("project__name", "order", "name")
    )
    ids = [e.pk for e in environments]
    # Each environment's newest verified deployment, found through the index
    # deployment_env_verified by one subquery per environment (a LIMIT 1 each), then read
    # by primary key. The DISTINCT ON it replaces sorted every verified deployment of the
    # environments, whole rows: 28 ms at 10,000 deployments (docs/performance.md).
    current = {
        d.environment_id: d
        for d in _current_deployments(Environment.objects.filter(pk__in=ids)).select_related(
            "release", "requested_by"
        )
    }
    active = {
        d.environment_id: d
        for d in _active_deployments(environment_id__in=ids).select_related("release", "run")
    }
    now = timezone.now()
    windows = list(FreezeWindow.objects.filter(project__in=projects))
    samples: dict[int, list] = {i: [] for i in ids}
    for sample in HealthSample.objects.filter(environment_id__in=ids).order_by("-at")[
        : HEALTH_MARKS * max(1, len(ids))
    ]:
        if len(samples[sample.environment_id]) < HEALTH_MARKS:
            samples[sample.environment_id].append(sample)
    rows: dict[int, list[EnvironmentRow]] = {p.pk: [] for p in projects}
    for environment in environments:
        in_force = [
            w
            for w in windows
            if w.project_id == environment.project_id
            and w.environment_id in (None, environment.pk)
            and freeze_in_force(w, now)
        ]
        rows[environment.project_id].append(
            EnvironmentRow(
                environment=environment,
                current=current.get(environment.pk),
                active=active.get(environment.pk),
                freezes=in_force,
                history=list(reversed(samples[environment.pk])),
            )
        )
    return [(p, rows[p.pk]) for p in projects if rows[p.pk]]


def emergency_changes_to_review_count(*, user) -> int:
    """The emergency changes `user` may review now (the navigation's Approvals count): an
    approver's, except those they approved themselves (a reviewer is never the approver)."""
    if not has_role(user, {Role.APPROVER}):
        return 0
    unreviewed = EmergencyChange.objects.filter(reviewed_at__isnull=True)
    return unreviewed.exclude(approved_by_id=user.pk).count()


def emergency_changes_rows() -> list[Rows]:
    """The rows `emergency_changes_to_review_count` reads (liftoff.kept)."""
    return [Rows(EmergencyChange, "reviewed_at IS NULL")]


# The rows of the dashboard's live cards, for digests: constant SQL, the states a
# parameter (an array).
_ACTIVE = "status = ANY(%s)"
_ACTIVE_ENVIRONMENTS = (
    "id IN (SELECT environment_id FROM deployments_deployment WHERE status = ANY(%s))"
)
_ACTIVE_PROJECTS = (
    "id IN (SELECT project_id FROM deployments_environment WHERE id IN ("
    "SELECT environment_id FROM deployments_deployment WHERE status = ANY(%s)))"
)
_UNREVIEWED = (
    "id IN (SELECT deployment_id FROM deployments_emergencychange WHERE reviewed_at IS NULL)"
)
_UNREVIEWED_RELEASES = (
    "id IN (SELECT release_id FROM deployments_deployment WHERE id IN ("
    "SELECT deployment_id FROM deployments_emergencychange WHERE reviewed_at IS NULL))"
)
_UNREVIEWED_ENVIRONMENTS = (
    "id IN (SELECT environment_id FROM deployments_deployment WHERE id IN ("
    "SELECT deployment_id FROM deployments_emergencychange WHERE reviewed_at IS NULL))"
)
_UNREVIEWED_PROJECTS = (
    "id IN (SELECT project_id FROM deployments_environment WHERE id IN ("
    "SELECT environment_id FROM deployments_deployment WHERE id IN ("
    "SELECT deployment_id FROM deployments_emergencychange WHERE reviewed_at IS NULL)))"
)
_UNREVIEWED_APPROVERS = (
    "id IN (SELECT approved_by_id FROM deployments_emergencychange WHERE reviewed_at IS NULL)"
)


def deployments_running_rows() -> list[Rows]:
    """The rows `deployments_running` and its card read: what is queued or running, and
    the environments and projects they name."""
    states = (sorted(DEPLOYMENT_ACTIVE_STATES),)
    return [
        Rows(Deployment, _ACTIVE, states),
        Rows(Environment, _ACTIVE_ENVIRONMENTS, states),
        Rows(Project, _ACTIVE_PROJECTS, states),
    ]


def emergency_changes_unreviewed_rows() -> list[Rows]:
    """The rows `emergency_changes_unreviewed` reads with what it joins: the changes, their
    deployments, releases, environments and projects, and who approved them."""
    return [
        *emergency_changes_rows(),
        Rows(Deployment, _UNREVIEWED),
        Rows(Release, _UNREVIEWED_RELEASES),
        Rows(Environment, _UNREVIEWED_ENVIRONMENTS),
        Rows(Project, _UNREVIEWED_PROJECTS),
        Rows(get_user_model(), _UNREVIEWED_APPROVERS),
    ]


def deployments_running(*, limit: int) -> list[Deployment]:
    """Deployments queued or running now, oldest first (the dashboard follows them live)."""
    return list(
        _active_deployments()
        .select_related("environment__project", "release")
        .order_by("created_at", "id")[:limit]
    )


def deployments_of_releases(*, release_ids: list[int]) -> dict[int, list[Deployment]]:
    """Every deployment of each of `release_ids`, oldest first, in one query."""
    found: dict[int, list[Deployment]] = {pk: [] for pk in release_ids}
    for deployment in (
        Deployment.objects.filter(release_id__in=release_ids)
        .select_related("environment")
        .order_by("created_at", "id")
    ):
        found[deployment.release_id].append(deployment)
    return found


def emergency_changes_unreviewed():
    return (
        EmergencyChange.objects.filter(reviewed_at__isnull=True)
        .select_related("deployment__environment__project", "deployment__release", "approved_by")
        .order_by("review_due")
    )


def deployment_secret_values(*, environment: Environment) -> list[str]:
    values = [s.value for s in environment.secrets.all()]
    if environment.webhook_secret:
        values.append(environment.webhook_secret)
    return values


def scheduled_due(*, now: datetime | None = None):
    return Deployment.objects.filter(
        status=DeploymentStatus.SCHEDULED, scheduled_for__lte=now or timezone.now()
    ).order_by("scheduled_for", "id")
