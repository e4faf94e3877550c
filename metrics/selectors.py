"""The seed's KPIs and the five DORA metrics, computed in the database from other apps'
records (docs/metrics.md has every definition; `DEFINITIONS` below is the same text the
page shows beside each figure).

A fixed number of queries whatever the history's size: one grouped count of the window's
production deployments, one per median (deployment time, lead time, recovery time,
incidents' time to restore), one for ratings, one for gate evidence, one for the days
with a deployment. Each query groups by week of the window (`metrics.sql.bucket`), so the
weekly trends come with the totals.

The sets behind each count (`DEPLOYMENT_SETS`) are one definition used twice: by the
aggregate and by the list a count links to (`deployment_set`), so a figure and its list
never disagree.
"""

import math
import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.core.cache import cache
from django.db.models import (
    Avg,
    BooleanField,
    Case,
    Count,
    ExpressionWrapper,
    F,
    Max,
    Min,
    OuterRef,
    Q,
    Subquery,
    Sum,
    When,
)
from django.db.models import Window as Over
from django.db.models.expressions import RawSQL, RowRange
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from deployments.models import (
    Deployment,
    DeploymentKind,
    DeploymentStatus,
    EnvironmentPhase,
)
from gates.models import GateResult
from incidents.models import Incident
from liftoff.kept import Rows
from liftoff.roles import Role, has_role
from metrics import bands, sql
from metrics.models import MetricSettings, MetricsVersion, Rating
from releases.models import Project, ReleaseStatus, ReleaseType

DEFAULT_DAYS = 30
MAX_DAYS = 366
# A cached report is keyed by the version of the figures (bumped by the events that change
# them); this bounds how long a change no event tells of goes unseen.
CACHE_SECONDS = 300

FINISHED = [DeploymentStatus.SUCCEEDED, DeploymentStatus.FAILED]

# The production deployments of the window that each count counts (on `_production`'s
# annotated rows). Cancelled, scheduled and running deployments count nowhere.
DEPLOYMENT_SETS: dict[str, tuple[str, Q]] = {
    "production": ("production deployments", Q(status__in=FINISHED)),
    "successful": ("successful production deployments", Q(status=DeploymentStatus.SUCCEEDED)),
    "deploys": (
        "production deploys",
        Q(status__in=FINISHED, kind=DeploymentKind.DEPLOY),
    ),
    "deploys_succeeded": (
        "verified production deploys",
        Q(status=DeploymentStatus.SUCCEEDED, verified=True, kind=DeploymentKind.DEPLOY),
    ),
    "rollbacks": ("production rollbacks", Q(status__in=FINISHED, kind=DeploymentKind.ROLLBACK)),
    "failed": (
        "production deployments that needed intervention",
        Q(status__in=FINISHED)
        & (Q(verification_failed=True) | Q(was_rolled_back=True) | Q(named_by_incident=True)),
    ),
    "unplanned": (
        "unplanned production deployments",
        Q(status__in=FINISHED)
        & (Q(kind=DeploymentKind.ROLLBACK) | Q(release__type=ReleaseType.HOTFIX)),
    ),
}

DEFINITIONS = {
    "deployment_success_rate": "Production deploys (not rollbacks) that succeeded and were "
    "verified by their health checks ÷ production deploys that finished (succeeded or "
    "failed), started in the window.",
    "rollback_frequency": "Production rollbacks ÷ production deploys that finished, "
    "started in the window.",
    "deployment_time": "Median of finish − start of the production deploys that finished, "
    "started in the window.",
    "user_satisfaction": "Mean of the ratings (1–5, one per person) of the releases shipped "
    "(released) in the window.",
    "security_issues": "High and critical findings in the latest results of the project's "
    "security gates, summed over the releases shipped in the window, plus the security "
    "incidents opened in the window.",
    "performance_regression": "The largest regression (%) in the latest performance gate "
    "result of the releases shipped in the window; the counts are releases measured and "
    "releases above the target.",
    "deployment_frequency": "Successful production deployments (deploys and rollbacks) per "
    "week of the window. Band by Four Keys' rule: daily when the median week has 3 or more "
    "days with a deployment, weekly when it has one, monthly when the median 30 days have "
    "one, else yearly.",
    "lead_time": "For each commit, from its commit time to the first verified production "
    "deployment that brought it; the median over commits whose first such deployment "
    "started in the window. Values of zero or less are left out.",
    "change_fail_rate": "Production deployments that needed intervention (verification "
    "failed, rolled back, named as the cause of an incident, or followed by a hotfix "
    "release for it) ÷ production deployments that finished, started in the window.",
    "recovery_time": "For each production deployment that needed intervention, from its "
    "finish to the finish of the next verified deployment of that environment (a rollback "
    "or a fix); median. Beside it, incidents' time to restore: opened → resolved, median, "
    "over incidents opened in the window.",
    "rework_rate": "Unplanned production deployments (rollbacks, and deploys of hotfix "
    "releases) ÷ production deployments that finished, started in the window. DORA "
    "publishes no levels for it.",
}


# --- The window ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Window:
    """Dates since..until, both included, in the site's time zone (the deployment and
    incident lists' date filters read them the same way)."""

    since: date
    until: date

    @property
    def start(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.since, time.min))

    @property
    def end(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.until + timedelta(days=1), time.min))

    @property
    def days(self) -> int:
        return (self.until - self.since).days + 1

    @property
    def weeks(self) -> int:
        return math.ceil(self.days / 7)

    def week_start(self, index: int) -> date:
        return self.since + timedelta(days=7 * index)

    @property
    def epoch(self) -> float:
        return self.start.timestamp()


def metrics_window(*, since: date | None = None, until: date | None = None) -> Window:
    """The window asked for; by default the last `DEFAULT_DAYS` days up to today."""
    until = until or timezone.localdate()
    since = since or until - timedelta(days=DEFAULT_DAYS - 1)
    return Window(since=since, until=until)


# --- Settings -----------------------------------------------------------------------------
def project_metric_settings(*, project: Project | None) -> MetricSettings:
    """The project's targets (a row not saved yet: the defaults, when it has none). All
    projects together are measured against the defaults."""
    if project is not None:
        found = MetricSettings.objects.filter(project=project).first()
        if found is not None:
            return found
    return MetricSettings(project=project)


# --- The figures --------------------------------------------------------------------------
@dataclass
class Figure:
    key: str
    label: str
    unit: str  # "%", "minutes", "/5", "issues", "per week", "hours"
    definition: str
    value: float | None = None
    target: float | None = None
    comparison: str = ""  # ">", "<", "≤"
    met: bool | None = None
    band: str | None = None
    numerator: int | None = None
    denominator: int | None = None
    count: int | None = None
    counted: str = ""  # what the counts count ("deployments", "ratings", ...)
    numerator_url: str = ""
    denominator_url: str = ""
    trend: list[float | None] = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    @property
    def is_rate(self) -> bool:
        return self.denominator is not None


@dataclass
class MetricsReport:
    project: Project | None
    window: Window
    settings: MetricSettings
    kpis: list[Figure]
    dora: list[Figure]

    @property
    def week_starts(self) -> list[date]:
        return [self.window.week_start(i) for i in range(self.window.weeks)]


def _rate(numerator: int, denominator: int) -> float | None:
    return round(100.0 * numerator / denominator, 2) if denominator else None


def _met(value, target, comparison: str) -> bool | None:
    if value is None:
        return None
    return {">": value > target, "<": value < target, "≤": value <= target}[comparison]


def _production(*, project: Project | None, window: Window):
    """The production deployments started in the window, with what tells whether each
    needed intervention. A rollback, an incident or a hotfix may come after the window:
    it still marks the deployment."""
    deployments = Deployment.objects.filter(
        environment__phase=EnvironmentPhase.PRODUCTION,
        created_at__gte=window.start,
        created_at__lt=window.end,
    )
    if project is not None:
        deployments = deployments.filter(environment__project=project)
    return _intervention_flags(deployments)


def _intervention_flags(deployments):
    """Whether each deployment was rolled back and whether an incident names it, as
    `id IN (…)`: PostgreSQL hashes each subquery once (a scan of the rollbacks and of the
    incidents) where EXISTS probed them once per deployment (1 s at 100,000).

    A hotfix release started for a deployment is started from an incident that names it
    (incidents.services.incident_hotfix_start), so "followed by a hotfix" is in
    `named_by_incident`."""
    rollbacks = (
        Deployment.objects.filter(rollback_of__isnull=False)
        .exclude(status=DeploymentStatus.CANCELLED)
        .values("rollback_of_id")
    )
    named = Incident.objects.filter(deployment__isnull=False).values("deployment_id")
    return deployments.annotate(
        was_rolled_back=ExpressionWrapper(Q(pk__in=rollbacks), output_field=BooleanField()),
        named_by_incident=ExpressionWrapper(Q(pk__in=named), output_field=BooleanField()),
    )


def deployment_set(*, name: str, project: Project | None, window: Window):
    """The deployments one count counts (the list its link opens), newest first."""
    return (
        _production(project=project, window=window)
        .filter(DEPLOYMENT_SETS[name][1])
        .select_related("environment__project", "release")
        .order_by("-created_at", "-id")
    )


DEPLOYMENT_CREATED = '"deployments_deployment"."created_at"'
DEPLOYMENT_STARTED = '"deployments_deployment"."started_at"'
DEPLOYMENT_FINISHED = '"deployments_deployment"."finished_at"'
INCIDENT_OPENED = '"incidents_incident"."opened_at"'
INCIDENT_RESOLVED = '"incidents_incident"."resolved_at"'
RELEASE_RELEASED = '"releases_release"."released_at"'


def _week(column: str, window: Window) -> RawSQL:
    return RawSQL(sql.bucket(column), (window.epoch,))


def _by_week(rows: dict[int, float | None], window: Window) -> list[float | None]:
    return [rows.get(i) for i in range(window.weeks)]


def _deployment_counts(project, window) -> tuple[dict[str, int], dict[str, list[int]]]:
    """Every count of `DEPLOYMENT_SETS`, in total and per week: one query."""
    counts = {name: Count("pk", filter=q) for name, (_, q) in DEPLOYMENT_SETS.items()}
    rows = (
        _production(project=project, window=window)
        .annotate(g=_week(DEPLOYMENT_CREATED, window))
        .values("g")
        .annotate(**counts)
        .order_by()
    )
    weekly = {name: [0] * window.weeks for name in DEPLOYMENT_SETS}
    totals = dict.fromkeys(DEPLOYMENT_SETS, 0)
    for row in rows:
        for name in DEPLOYMENT_SETS:
            if 0 <= row["g"] < window.weeks:
                weekly[name][row["g"]] += row[name]
            totals[name] += row[name]
    return totals, weekly


def _medians(subquery: str, params: tuple) -> dict[int, tuple[float, int]]:
    """{week: (median, count)} and -1 for the whole window (metrics.sql.median_by_group)."""
    rows = sql.run(*sql.median_by_group(subquery, params))
    # The grand total of GROUPING SETS comes even over no rows: (NULL, 0) is no median.
    return {int(g): (float(median), int(count)) for g, median, count in rows if median is not None}


def _queryset_sql(queryset) -> tuple[str, tuple]:
    query, params = queryset.query.sql_with_params()
    return query, tuple(params)


def _deployment_time(project, window) -> dict[int, tuple[float, int]]:
    rows = (
        _production(project=project, window=window)
        .filter(DEPLOYMENT_SETS["deploys"][1], started_at__isnull=False, finished_at__isnull=False)
        .annotate(
            g=_week(DEPLOYMENT_CREATED, window),
            v=RawSQL(
                f"{sql.epoch(DEPLOYMENT_FINISHED)} - {sql.epoch(DEPLOYMENT_STARTED)}",
                (),
            ),
        )
        .values("g", "v")
    )
    return _medians(*_queryset_sql(rows))


def _recovery_time(project, window) -> dict[int, tuple[float, int]]:
    """Per deployment that needed intervention: its finish to the finish of the next
    verified deployment of its environment. One pass over the production deployments
    since the window's start (the recovery may come after its end): newest first per
    environment, the earliest finish among the verified ones seen so far is the
    recovery of each row (a frame that only grows, so computed incrementally)."""
    since = Deployment.objects.filter(
        environment__phase=EnvironmentPhase.PRODUCTION, created_at__gte=window.start
    )
    if project is not None:
        since = since.filter(environment__project=project)
    rows = (
        _intervention_flags(since)
        .annotate(
            failed=ExpressionWrapper(DEPLOYMENT_SETS["failed"][1], output_field=BooleanField()),
            g=_week(DEPLOYMENT_CREATED, window),
            began=F("created_at"),
            failed_at=F("finished_at"),
            recovered_at=Over(
                Min(Case(When(verified=True, then=F("finished_at")))),
                partition_by=[F("environment_id")],
                order_by=[F("created_at").desc(), F("id").desc()],
                frame=RowRange(start=None, end=-1),
            ),
        )
        .values("g", "failed", "began", "failed_at", "recovered_at")
    )
    inner, params = _queryset_sql(rows)
    subquery = (
        f"SELECT r.g AS g, {sql.epoch('r.recovered_at')} - {sql.epoch('r.failed_at')} AS v "
        f"FROM ({inner}) r WHERE r.failed AND r.began < %s AND r.failed_at IS NOT NULL"
    )
    return _medians(subquery, (*params, window.end))


def _lead_time(project, window) -> dict[int, tuple[float, int]]:
    """Per commit (per project and sha), its first verified production deployment; the
    median of (that deployment's finish − commit time) over those that started in the
    window, values ≤ 0 left out. The JSON list of commits is unnested in the database."""
    unnest, sha, committed = sql.commits_of_deployments()
    where_project = "AND e.project_id = %s" if project is not None else ""
    params: tuple = (
        DeploymentKind.DEPLOY,
        EnvironmentPhase.PRODUCTION,
        *((project.pk,) if project is not None else ()),
    )
    source = (
        "FROM deployments_deployment d "
        "JOIN deployments_environment e ON e.id = d.environment_id "
        f"{unnest} "
        f"WHERE d.kind = %s AND d.verified AND e.phase = %s {where_project}"
    )
    # A deployment that brought a commit began after the commit was made: the earliest
    # commit time of the window's deployments bounds how far back the first deployment
    # of any of them is looked for, instead of the whole history.
    earliest = (
        f"SELECT {sql.from_epoch(f'MIN({sql.epoch(committed)})')} {source} "
        "AND d.created_at >= %s AND d.created_at < %s"
    )
    # Per commit: its first verified production deployment's start (the window it
    # belongs to) and finish (when it was live), by one hash aggregate (one deployment at
    # a time per environment: the first to start is the first to finish).
    firsts = (
        f"SELECT MIN(d.created_at) AS created_at, MIN(d.finished_at) AS deployed_at, "
        f"MIN({sql.epoch(committed)}) AS committed_epoch "
        f"{source} AND d.created_at >= ({earliest}) AND d.created_at < %s "
        f"GROUP BY e.project_id, {sha}"
    )
    lead = f"{sql.epoch('f.deployed_at')} - f.committed_epoch"
    subquery = (
        f"SELECT {sql.bucket('f.created_at')} AS g, {lead} AS v FROM ({firsts}) f "
        f"WHERE f.created_at >= %s AND f.created_at < %s AND {lead} > 0"
    )
    bounded = (*params, *params, window.start, window.end, window.end)
    return _medians(subquery, (window.epoch, *bounded, window.start, window.end))


def _time_to_restore(project, window) -> dict[int, tuple[float, int]]:
    incidents = Incident.objects.filter(opened_at__gte=window.start, opened_at__lt=window.end)
    if project is not None:
        incidents = incidents.filter(project=project)
    rows = incidents.annotate(
        g=_week(INCIDENT_OPENED, window),
        v=RawSQL(
            f"{sql.epoch(INCIDENT_RESOLVED)} - {sql.epoch(INCIDENT_OPENED)}",
            (),
        ),
    ).values("g", "v")
    return _medians(*_queryset_sql(rows))


def _security_incidents(project, window) -> dict[int, int]:
    """Security incidents opened, per week of the window and in total (-1): one query."""
    incidents = Incident.objects.filter(
        security=True, opened_at__gte=window.start, opened_at__lt=window.end
    )
    if project is not None:
        incidents = incidents.filter(project=project)
    rows = (
        incidents.annotate(g=_week(INCIDENT_OPENED, window))
        .values("g")
        .annotate(n=Count("pk"))
        .order_by()
    )
    found = {row["g"]: row["n"] for row in rows}
    found[-1] = sum(found.values())
    return found


def _ratings(project, window) -> dict[int, tuple[float, int]]:
    ratings = Rating.objects.filter(
        release__released_at__gte=window.start, release__released_at__lt=window.end
    )
    if project is not None:
        ratings = ratings.filter(release__project=project)
    rows = (
        ratings.annotate(g=_week(RELEASE_RELEASED, window))
        .values("g")
        .annotate(mean=Avg("score"), n=Count("pk"))
        .order_by()
    )
    found = {row["g"]: (float(row["mean"]), row["n"]) for row in rows}
    n = sum(count for _, count in found.values())
    if n:
        found[-1] = (sum(mean * count for mean, count in found.values()) / n, n)
    return found


def _latest_gate_result():
    """The id of the latest result of the outer row's release and gate (a correlated
    subquery on `gateresult_latest_idx`): the result a gate's figure is read from."""
    return (
        GateResult.objects.filter(release=OuterRef("release"), gate=OuterRef("gate"))
        .order_by("-measured_at", "-id")
        .values("pk")[:1]
    )


def _gate_evidence(project, window, settings: MetricSettings) -> dict[int, dict]:
    """Per week (of the release's shipping) and in total: security findings (sum of the
    latest result of each security gate per shipped release), the worst performance
    regression, releases measured, and releases regressed beyond the target."""
    latest = _latest_gate_result()
    security = Q(gate__key__in=settings.security_gate_keys or [])
    performance = Q(gate__key=settings.performance_gate_key)
    results = GateResult.objects.filter(
        security | performance,
        pk=Subquery(latest),
        release__released_at__gte=window.start,
        release__released_at__lt=window.end,
    )
    if project is not None:
        results = results.filter(release__project=project, gate__project=project)
    rows = (
        results.annotate(g=_week(RELEASE_RELEASED, window))
        .values("g")
        .annotate(
            findings=Sum("value", filter=security),
            secured=Count("release", filter=security & Q(value__isnull=False), distinct=True),
            worst=Max("value", filter=performance),
            measured=Count("release", filter=performance & Q(value__isnull=False), distinct=True),
            regressed=Count(
                "release",
                filter=performance & Q(value__gt=settings.performance_regression_target),
                distinct=True,
            ),
        )
        .order_by()
    )
    weekly = {row["g"]: row for row in rows}
    total = {
        "findings": sum(r["findings"] or 0 for r in weekly.values()),
        "secured": sum(r["secured"] for r in weekly.values()),
        "worst": max((r["worst"] for r in weekly.values() if r["worst"] is not None), default=None),
        "measured": sum(r["measured"] for r in weekly.values()),
        "regressed": sum(r["regressed"] for r in weekly.values()),
    }
    return {**weekly, -1: total}


def frequency_cadence(days: list[int], window: Window) -> str | None:
    """Four Keys' rule on the window's day indices that had a successful production
    deployment: daily when the median week has ≥ 3 such days, weekly when it has ≥ 1,
    monthly when the median 30 days have ≥ 1, else yearly; None with no deployment."""
    if not days:
        return None
    per_week = [0] * window.weeks
    per_month = [0] * math.ceil(window.days / 30)
    for day in days:
        per_week[day // 7] += 1
        per_month[day // 30] += 1
    if statistics.median(per_week) >= 3:
        return "daily"
    if statistics.median(per_week) >= 1:
        return "weekly"
    if statistics.median(per_month) >= 1:
        return "monthly"
    return "yearly"


def _deployment_days(project, window) -> list[int]:
    days = (
        _production(project=project, window=window)
        .filter(DEPLOYMENT_SETS["successful"][1])
        .annotate(day=RawSQL(sql.bucket(DEPLOYMENT_CREATED, size_seconds=86400), (window.epoch,)))
        .values_list("day", flat=True)
        .distinct()
        .order_by()
    )
    return [d for d in days if 0 <= d < window.days]


def _lists(project, window) -> dict[str, str]:
    """The links of the counts: the metrics' own list for each deployment set (the
    deployment history's filters cannot say "needed intervention"), the incident list
    with its own filters for incidents."""
    base = {"since": window.since.isoformat(), "until": window.until.isoformat()}
    if project is not None:
        base["project"] = project.slug
    links = {
        name: f"{reverse('metrics:deployments', args=[name])}?{urlencode(base)}"
        for name in DEPLOYMENT_SETS
    }
    links["incidents"] = f"{reverse('incidents:index')}?{urlencode(base)}"
    links["incidents_resolved"] = (
        f"{reverse('incidents:index')}?{urlencode({**base, 'status': 'resolved'})}"
    )
    links["incidents_security"] = (
        f"{reverse('incidents:index')}?{urlencode({**base, 'security': 'yes'})}"
    )
    return links


def _median_figure(figure: Figure, medians: dict, window: Window, scale: float) -> Figure:
    value, count = medians.get(-1, (None, 0))
    figure.value = round(value / scale, 2) if value is not None else None
    figure.count = count
    figure.trend = [
        round(medians[i][0] / scale, 2) if i in medians else None for i in range(window.weeks)
    ]
    return figure


def metrics_version(*, project: Project | None) -> tuple[int, int]:
    """The version of a project's figures, or of all projects' (their sum, and how many
    have one): one query. It moves whenever an event changes a figure."""
    versions = MetricsVersion.objects.all()
    if project is not None:
        versions = versions.filter(project=project)
    found = versions.aggregate(total=Sum("version"), n=Count("pk"))
    return (found["total"] or 0, found["n"])


def metrics_version_rows() -> list[Rows]:
    """The rows `metrics_version` reads for all projects: a page kept under their digest
    (liftoff.kept) shows the report of the figures' version it was rendered with."""
    return [Rows(MetricsVersion)]


def metrics_cache_key(*, project: Project | None, window: Window) -> str:
    """The key of a report in the cache: the scope, the window and the figures' version
    (one query). The settings are in it too, through their own bump."""
    version = metrics_version(project=project)
    return (
        f"metrics:{project.pk if project else 'all'}:{window.since}:{window.until}:"
        f"{version[0]}:{version[1]}"
    )


def metrics_report_cached(
    *, project: Project | None, window: Window, key: str | None = None
) -> MetricsReport:
    """`metrics_report`, kept in the process's cache under `metrics_cache_key`: a page or
    an API call that finds it reads one row instead of scanning the window."""
    key = key or metrics_cache_key(project=project, window=window)
    report = cache.get(key)
    if report is None:
        report = metrics_report(project=project, window=window)
        cache.set(key, report, CACHE_SECONDS)
    return report


def metrics_report(*, project: Project | None, window: Window) -> MetricsReport:
    """Every figure of the metrics page, the API and the exports."""
    settings = project_metric_settings(project=project)
    year = settings.dora_year
    totals, weekly = _deployment_counts(project, window)
    links = _lists(project, window)

    def rate(key, label, num, den, **kw) -> Figure:
        figure = Figure(key=key, label=label, unit="%", definition=DEFINITIONS[key], **kw)
        figure.numerator, figure.denominator = totals[num], totals[den]
        figure.value = _rate(totals[num], totals[den])
        figure.numerator_url, figure.denominator_url = links[num], links[den]
        figure.counted = DEPLOYMENT_SETS[den][0]
        figure.trend = [_rate(n, d) for n, d in zip(weekly[num], weekly[den], strict=True)]
        return figure

    success = rate(
        "deployment_success_rate",
        "Deployment success rate",
        "deploys_succeeded",
        "deploys",
        target=settings.success_rate_target,
        comparison=">",
    )
    rollbacks = rate(
        "rollback_frequency",
        "Rollback frequency",
        "rollbacks",
        "deploys",
        target=settings.rollback_rate_target,
        comparison="<",
    )
    duration = _median_figure(
        Figure(
            key="deployment_time",
            label="Median deployment time",
            unit="minutes",
            definition=DEFINITIONS["deployment_time"],
            target=settings.deployment_minutes_target,
            comparison="<",
            counted="production deploys",
            numerator_url=links["deploys"],
        ),
        _deployment_time(project, window),
        window,
        60.0,
    )
    ratings = _ratings(project, window)
    satisfaction = Figure(
        key="user_satisfaction",
        label="User satisfaction",
        unit="/5",
        definition=DEFINITIONS["user_satisfaction"],
        target=settings.satisfaction_target,
        comparison=">",
        counted="ratings",
    )
    mean, satisfaction.count = ratings.get(-1, (None, 0))
    satisfaction.value = round(mean, 2) if mean is not None else None
    satisfaction.trend = [
        round(ratings[i][0], 2) if i in ratings else None for i in range(window.weeks)
    ]
    evidence = _gate_evidence(project, window, settings)
    total = evidence[-1]
    incidents = _security_incidents(project, window)

    def issues(findings, secured: int, opened: int) -> float | None:
        # Measured when a release's security gates were, or a security incident was
        # opened (then the figure is at least that many): never a pass for no data.
        return float((findings or 0) + opened) if secured or opened else None

    security = Figure(
        key="security_issues",
        label="Security issues",
        unit="issues",
        definition=DEFINITIONS["security_issues"],
        target=float(settings.security_issues_target),
        comparison="≤",
        value=issues(total["findings"], total["secured"], incidents[-1]),
        count=total["secured"],
        counted="releases measured",
        trend=[
            issues(
                evidence.get(i, {}).get("findings"),
                evidence.get(i, {}).get("secured", 0),
                incidents.get(i, 0),
            )
            for i in range(window.weeks)
        ],
        extra={
            "findings": int(total["findings"] or 0),
            "security_incidents": incidents[-1],
            "security_incidents_url": links["incidents_security"],
        },
    )
    performance = Figure(
        key="performance_regression",
        label="Performance regression",
        unit="%",
        definition=DEFINITIONS["performance_regression"],
        target=settings.performance_regression_target,
        comparison="≤",
        value=total["worst"],
        numerator=total["regressed"],
        denominator=total["measured"],
        counted="releases measured",
        trend=[evidence[i]["worst"] if i in evidence else None for i in range(window.weeks)],
    )
    kpis = [success, rollbacks, duration, satisfaction, security, performance]
    for figure in kpis:
        figure.met = _met(figure.value, figure.target, figure.comparison)

    days = _deployment_days(project, window)
    cadence = frequency_cadence(days, window)
    frequency = Figure(
        key="deployment_frequency",
        label="Deployment frequency",
        unit="per week",
        definition=DEFINITIONS["deployment_frequency"],
        value=round(totals["successful"] * 7 / window.days, 2),
        count=totals["successful"],
        counted="successful production deployments",
        numerator_url=links["successful"],
        band=bands.frequency_band(cadence, year=year),
        trend=[float(n) for n in weekly["successful"]],
        extra={"cadence": cadence, "days_with_deployment": len(days)},
    )
    lead = _median_figure(
        Figure(
            key="lead_time",
            label="Change lead time",
            unit="hours",
            definition=DEFINITIONS["lead_time"],
            counted="commits",
        ),
        _lead_time(project, window),
        window,
        3600.0,
    )
    fail = rate("change_fail_rate", "Change fail rate", "failed", "production")
    recovery = _median_figure(
        Figure(
            key="recovery_time",
            label="Failed deployment recovery time",
            unit="hours",
            definition=DEFINITIONS["recovery_time"],
            counted="recovered deployments",
            numerator_url=links["failed"],
        ),
        _recovery_time(project, window),
        window,
        3600.0,
    )
    restore = _time_to_restore(project, window)
    restore_median, restore_count = restore.get(-1, (None, 0))
    recovery.extra = {
        "failed": totals["failed"],
        "unrecovered": totals["failed"] - (recovery.count or 0),
        "time_to_restore": (
            round(restore_median / 3600.0, 2) if restore_median is not None else None
        ),
        "time_to_restore_count": restore_count,
        "time_to_restore_url": links["incidents_resolved"],
    }
    rework = rate("rework_rate", "Deployment rework rate", "unplanned", "production")
    for figure in (lead, recovery):
        seconds = figure.value * 3600 if figure.value is not None else None
        figure.band = bands.band(figure.key, seconds, year=year)
    fail.band = bands.band(fail.key, fail.value, year=year)
    return MetricsReport(
        project=project,
        window=window,
        settings=settings,
        kpis=kpis,
        dora=[frequency, lead, fail, recovery, rework],
    )


# --- The release page's rating section (releases.sections) --------------------------------
def release_rating_context(*, user, release) -> dict:
    """A shipped release's ratings (mean, how many) and the reader's own, in one query;
    nothing (and no query) for a release that has not shipped."""
    if release.status != ReleaseStatus.RELEASED:
        return {"metrics_rating": None}
    found = Rating.objects.filter(release=release).aggregate(
        mean=Avg("score"), count=Count("pk"), mine=Max("score", filter=Q(user_id=user.pk))
    )
    return {
        "metrics_rating": {
            "mean": round(found["mean"], 2) if found["mean"] is not None else None,
            "count": found["count"],
            "mine": found["mine"],
            "may_rate": has_role(user, {Role.STAKEHOLDER}),
            "scores": [5, 4, 3, 2, 1],
        }
    }


def release_page_rows(release) -> list[Rows]:
    """The rows the rating section reads (liftoff.kept): the release's ratings."""
    return [Rows(Rating, "release_id = %s", (release.pk,))]


# --- The KPIs of each release (the stakeholders' history) ---------------------------------
@dataclass
class ReleaseKpis:
    """The per-release KPIs: what stakeholders rated it, the security findings and the
    performance regression of its latest gate results, each judged against its project's
    target (None: nothing to judge)."""

    satisfaction: float | None = None
    ratings: int = 0
    satisfaction_met: bool | None = None
    security_findings: float | None = None
    security_met: bool | None = None
    performance_regression: float | None = None
    performance_met: bool | None = None


def release_kpis(*, releases) -> dict[int, ReleaseKpis]:
    """`ReleaseKpis` per release of `releases` (already read): three queries whatever
    their number (the projects' targets, the ratings grouped, the latest gate results)."""
    if not releases:
        return {}
    ids = [r.pk for r in releases]
    saved = {
        s.project_id: s
        for s in MetricSettings.objects.filter(project_id__in={r.project_id for r in releases})
    }
    targets = {r.pk: saved.get(r.project_id) or MetricSettings() for r in releases}
    found = {pk: ReleaseKpis() for pk in ids}
    rows = (
        Rating.objects.filter(release_id__in=ids)
        .values("release_id")
        .annotate(mean=Avg("score"), n=Count("pk"))
        .order_by()
    )
    for row in rows:
        kpis = found[row["release_id"]]
        kpis.satisfaction, kpis.ratings = round(float(row["mean"]), 2), row["n"]
    keys = {key for s in targets.values() for key in (s.security_gate_keys or [])}
    keys |= {s.performance_gate_key for s in targets.values()}
    results = GateResult.objects.filter(
        release_id__in=ids,
        gate__key__in=keys,
        pk=Subquery(_latest_gate_result()),
        value__isnull=False,
    ).values_list("release_id", "gate__key", "value")
    for release_id, key, value in results:
        kpis, target = found[release_id], targets[release_id]
        if key in (target.security_gate_keys or []):
            kpis.security_findings = (kpis.security_findings or 0) + value
        if key == target.performance_gate_key:
            kpis.performance_regression = value
    # Judged as the project's figures are (`_met`).
    for pk, kpis in found.items():
        target = targets[pk]
        kpis.satisfaction_met = _met(kpis.satisfaction, target.satisfaction_target, ">")
        kpis.security_met = _met(kpis.security_findings, target.security_issues_target, "≤")
        kpis.performance_met = _met(
            kpis.performance_regression, target.performance_regression_target, "≤"
        )
    return found
