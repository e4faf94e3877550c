"""Reads of incidents, and who may do what with them (one place for each rule)."""

from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import EmptyResultSet
from django.db.models import F
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from deployments.models import Deployment, DeploymentStatus, Environment, EnvironmentPhase
from deployments.selectors import projects_environments_once
from incidents.defaults import DEFAULT_MATRIX
from incidents.models import (
    UNRESOLVED_STATES,
    EnvironmentIncidentSetting,
    Incident,
    IncidentEntry,
    IncidentSettings,
    IncidentStatus,
    Severity,
    SeverityPolicy,
)
from liftoff.kept import Rows, valid_until
from liftoff.roles import Role, has_role
from releases.models import Project, ReleaseStatus
from releases.policy import MUST_ACT_APPROVER, Blocker, memoized_many

# Who changes incidents (acknowledge, mitigate, resolve, notes, deployment, postmortem).
CHANGE_ROLES = frozenset({Role.RELEASE_MANAGER})


def may_change(user) -> bool:
    return has_role(user, CHANGE_ROLES)


def may_open(user, *, project) -> bool:
    """Release managers (and admins) open incidents; stakeholders too where the project
    allows it; a project token for its own project."""
    if getattr(user, "is_project_token", False):
        return user.project.pk == project.pk
    if has_role(user, CHANGE_ROLES):
        return True
    return has_role(user, {Role.STAKEHOLDER}) and stakeholders_may_open(project=project)


def stakeholders_may_open(*, project) -> bool:
    return IncidentSettings.objects.filter(project=project, stakeholders_may_open=True).exists()


def severity_policy(*, project, severity: str) -> SeverityPolicy:
    """The project's row for `severity`; a project made before incidents existed (or by
    hand, without its project hooks) falls back to the default matrix, unsaved."""
    row = SeverityPolicy.objects.filter(project=project, severity=severity).first()
    if row is not None:
        return row
    spec = next(s for s in DEFAULT_MATRIX if s["severity"] == severity)
    return SeverityPolicy(project=project, **spec)


def severity_matrix(*, project) -> list[SeverityPolicy]:
    """The project's four rows, most severe first, with their named people (a row it lacks
    is the default, unsaved): the settings page. Two queries."""
    rows = {
        row.severity: row
        for row in SeverityPolicy.objects.filter(project=project).prefetch_related("audience_users")
    }
    return [
        rows.get(spec["severity"]) or SeverityPolicy(project=project, **spec)
        for spec in DEFAULT_MATRIX
    ]


def audience_candidates():
    """The people a severity may name: active users, by name."""
    return get_user_model().objects.filter(is_active=True).order_by("username")


def severity_audience(*, policy: SeverityPolicy) -> dict:
    """Who a severity tells: role names and usernames (an event's payload)."""
    users = sorted(policy.audience_users.values_list("username", flat=True)) if policy.pk else []
    return {"roles": list(policy.audience_roles), "users": users}


def deployment_at_open(*, environment, started_at: datetime) -> Deployment | None:
    """The deployment an incident is about, by default: the last one to `environment`
    that began (or, queued, was made) before the incident started."""
    if environment is None:
        return None
    return (
        Deployment.objects.filter(environment=environment)
        .exclude(status=DeploymentStatus.SCHEDULED)
        .annotate(began=Coalesce("started_at", "created_at"))
        .filter(began__lt=started_at)
        .order_by(F("began").desc(), "-id")
        .first()
    )


def auto_open_wanted(*, environment) -> bool:
    return EnvironmentIncidentSetting.objects.filter(
        environment=environment, open_on_failed_verification=True
    ).exists()


def incident_get(*, pk: int) -> Incident:
    # Only the relations the page and the API show: PostgreSQL took about 4 ms to plan
    # the eight-table join this was with the three people who moved it on (never shown),
    # for a 0.2 ms read (docs/performance.md).
    try:
        return Incident.objects.select_related(
            "project", "environment", "deployment", "hotfix_release", "opened_by"
        ).get(pk=pk)
    except Incident.DoesNotExist:
        raise Http404("No such incident.") from None


def incident_clock(*, pk: int) -> Incident:
    """Only what the countdown shows: one small query."""
    incident = (
        Incident.objects.only(
            "id", "status", "severity", "respond_by", "breached", "escalation_step"
        )
        .filter(pk=pk)
        .first()
    )
    if incident is None:
        raise Http404("No such incident.")
    return incident


def incident_timeline(*, incident: Incident) -> list[IncidentEntry]:
    return list(incident.entries.select_related("actor").order_by("at", "id"))


def incident_list(*, filters: dict | None = None):
    """Incidents newest first, with what a list row shows joined (one query a page)."""
    filters = filters or {}
    incidents = Incident.objects.select_related("project", "environment", "deployment")
    if filters.get("project"):
        incidents = incidents.filter(project__slug=filters["project"])
    if filters.get("environment"):
        incidents = incidents.filter(environment__name=filters["environment"])
    if filters.get("severity"):
        incidents = incidents.filter(severity=filters["severity"])
    if filters.get("status"):
        incidents = incidents.filter(status=filters["status"])
    if filters.get("breached") in {True, "yes"}:
        incidents = incidents.filter(breached=True)
    elif filters.get("breached") in {False, "no"}:
        incidents = incidents.filter(breached=False)
    if filters.get("security") in {True, "yes"}:
        incidents = incidents.filter(security=True)
    elif filters.get("security") in {False, "no"}:
        incidents = incidents.filter(security=False)
    if filters.get("since"):
        incidents = incidents.filter(opened_at__date__gte=filters["since"])
    if filters.get("until"):
        incidents = incidents.filter(opened_at__date__lte=filters["until"])
    return incidents.order_by("-opened_at", "-id")


def incident_list_page_rows(incidents) -> list[Rows]:
    """The rows a page of `incident_list` (sliced) shows, for liftoff.kept: its incidents,
    the deployments they are about, and the projects and environments they name."""
    try:
        sql, params = incidents.values("pk").query.sql_with_params()
    except EmptyResultSet:  # a filter nothing can match: no rows
        sql, params = "SELECT NULL::bigint WHERE FALSE", ()
    return [
        Rows(Incident, f"id IN ({sql})", tuple(params)),
        Rows(
            Deployment,
            # The ORM's own SQL for the page; every value is in `params`.
            f"id IN (SELECT deployment_id FROM incidents_incident WHERE id IN ({sql}))",  # noqa: S608
            tuple(params),
        ),
        Rows(Project),
        Rows(Environment),
    ]


def incidents_unresolved():
    """The dashboard's card: unresolved incidents, most severe and oldest deadline first."""
    order = {s: i for i, s in enumerate(Severity.values)}
    rows = list(
        Incident.objects.select_related("project", "environment")
        .filter(status__in=UNRESOLVED_STATES)
        .order_by("opened_at")[:50]
    )
    return sorted(rows, key=lambda i: (order[i.severity], i.opened_at))


def critical_on_production():
    """Unresolved critical incidents on a production environment (the banner and the
    release blocker): the `incident_unresolved` partial index."""
    return Incident.objects.select_related("project", "environment__project").filter(
        severity=Severity.CRITICAL,
        status__in=UNRESOLVED_STATES,
        environment__phase=EnvironmentPhase.PRODUCTION,
    )


def critical_banner_rows(*, limit: int) -> list[Incident]:
    """The banner on every page: the oldest `limit` unresolved critical incidents on
    production, with only what it shows (its project, environment and hotfix). Every
    signed-in page pays this query: joining the project twice and reading every column of
    three tables cost 2-4 ms of compiling and planning for, nearly always, no row at all
    (docs/performance.md)."""
    return list(
        critical_on_production()
        .select_related(None)
        .select_related("project", "environment", "hotfix_release")
        .only(
            "id",
            "title",
            "opened_at",
            "project__id",
            "project__slug",
            "project__name",
            "environment__id",
            "environment__name",
            "hotfix_release__id",
            "hotfix_release__version",
        )
        .order_by("opened_at")[:limit]
    )


def incidents_sla_due(*, now: datetime | None = None) -> list[Incident]:
    """Open incidents whose response time has passed (the `incident_sla_due` index)."""
    now = now or timezone.now()
    return list(
        Incident.objects.select_related("project")
        .filter(status=IncidentStatus.OPEN, respond_by__lte=now)
        .order_by("respond_by")
    )


def time_left(incident: Incident, *, now: datetime | None = None) -> dict:
    """What the countdown says: seconds left (negative once past), and in words."""
    if incident.respond_by is None:
        return {"clock": False, "text": "No response clock", "overdue": False, "seconds": None}
    if incident.status != IncidentStatus.OPEN:
        return {"clock": False, "text": "Responded", "overdue": False, "seconds": None}
    now = now or timezone.now()
    seconds = int((incident.respond_by - now).total_seconds())
    minutes, rest = divmod(abs(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    words = f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {rest:02d} s"
    text = f"{words} left" if seconds >= 0 else f"{words} overdue"
    # A kept page (liftoff.kept) showing this text holds until it changes: the next
    # second under an hour, the next minute above.
    valid_until(now + timedelta(seconds=1 if not hours else 60 - rest))
    return {"clock": True, "text": text, "overdue": seconds < 0, "seconds": seconds}


def incident_release_blockers(release, to: str) -> list[Blocker]:
    """The release policy's incidents blocker for one release: the batch of one."""
    return incidents_release_blockers([release], {release.pk: to})[release.pk]


def incidents_release_blockers(releases, to) -> dict[int, list[Blocker]]:
    """The release policy's blocker (registered in IncidentsConfig.ready; its batch form:
    `to` maps each release to its move): an unresolved critical incident on the project's
    production keeps every release but its hotfix out of production. Two queries for all
    the releases asked (their projects' environments, then their critical incidents)."""
    asked = [r for r in releases if to[r.pk] in {ReleaseStatus.PRODUCTION, ReleaseStatus.RELEASED}]
    found: dict[int, list[Blocker]] = {release.pk: [] for release in releases}
    critical = _projects_critical({r.project_id for r in asked}) if asked else {}
    for release in asked:
        found[release.pk] = [
            _critical_blocker(incident)
            for incident in critical[release.project_id]
            if incident.hotfix_release_id != release.pk
        ]
    return found


def incidents_release_blocker_rows(releases) -> list[Rows]:
    """What the incidents blocker reads for `releases` (the policy's `rows`): their
    projects' unresolved critical incidents (the environments are in deployments' rows)."""
    projects = sorted({release.project_id for release in releases})
    states = sorted(UNRESOLVED_STATES)
    return [
        Rows(
            Incident,
            "project_id = ANY(%s) AND severity = %s AND status IN (%s, %s, %s)",
            (projects, Severity.CRITICAL, *states),
        )
    ]


def incident_deployment_blockers(release, environment) -> list[Blocker]:
    """The deployments' extra blocker: the same rule for a deployment to production
    (rollbacks never ask: they are how a critical incident is mitigated)."""
    if environment.phase != EnvironmentPhase.PRODUCTION:
        return []
    return [
        _critical_blocker(incident)
        for incident in _project_critical(environment.project_id)
        if incident.hotfix_release_id != release.pk
    ]


def _project_critical(project_id: int) -> list[Incident]:
    return _projects_critical([project_id])[project_id]


def _projects_critical(project_ids) -> dict[int, list[Incident]]:
    """Read once per page inside a policy_snapshot (every target, every environment); not
    at all for projects without a production environment (the page reads their
    environments once, for deployments' blockers too)."""
    environments = projects_environments_once(project_ids=project_ids)
    with_production = [
        pk
        for pk, project_environments in environments.items()
        if any(e.phase == EnvironmentPhase.PRODUCTION for e in project_environments)
    ]
    found = {pk: [] for pk in environments}
    if with_production:
        found.update(memoized_many("incidents-critical", with_production, _read_critical))
    return found


def _read_critical(project_ids) -> dict[int, list[Incident]]:
    found = {pk: [] for pk in project_ids}
    for incident in critical_on_production().filter(project_id__in=project_ids):
        found[incident.project_id].append(incident)
    return found


def _critical_blocker(incident: Incident) -> Blocker:
    return Blocker(
        f"Critical incident #{incident.pk} “{incident.title}” is open on "
        f"{incident.environment.name}: only its hotfix release may go to production "
        "until it is resolved.",
        who=MUST_ACT_APPROVER,
    )


def escalation_due_step(incident: Incident, policy: SeverityPolicy, now: datetime) -> int:
    """The step an open incident should have reached by `now`: step k is due at
    respond_by + (k - 1) × escalate_after, at most max_escalations."""
    if incident.respond_by is None or now < incident.respond_by or policy.max_escalations == 0:
        return 0
    every = policy.escalate_after_minutes * 60
    if every == 0:
        return policy.max_escalations
    passed = int((now - incident.respond_by).total_seconds())
    return min(policy.max_escalations, 1 + passed // every)


def release_page_rows(release) -> list[Rows]:
    """The rows the incidents blocker reads on the release page
    (releases.sections.register_page_rows): the project's unresolved critical incidents
    (the environments' phases are in deployments' rows)."""
    states = sorted(UNRESOLVED_STATES)
    return [
        Rows(
            Incident,
            "project_id = %s AND severity = %s AND status IN (%s, %s, %s)",
            (release.project_id, Severity.CRITICAL, *states),
        )
    ]


def incidents_of_releases(*, release_ids: list[int]) -> dict[int, list[Incident]]:
    """The incidents about a deployment of each of `release_ids`, in one query."""
    found: dict[int, list[Incident]] = {pk: [] for pk in release_ids}
    for incident in (
        Incident.objects.filter(deployment__release_id__in=release_ids)
        .annotate(release_key=F("deployment__release_id"))
        .order_by("opened_at", "id")
    ):
        found[incident.release_key].append(incident)
    return found
