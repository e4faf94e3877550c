"""The release history that stakeholders read: shipped releases with their codenames,
notes, deployments, incidents, the deployment figures and the KPIs of each, filtered by project,
type and date, in a URL one can share. Composes releases', deployments' and incidents'
selectors (dashboard owns nothing): a page of releases costs the same queries whatever
the history's size."""

from statistics import median

from django.core.paginator import Paginator
from django.shortcuts import render

from dashboard.forms import HistoryFilterForm
from deployments.models import DeploymentKind, DeploymentStatus
from deployments.selectors import deployments_of_releases
from incidents.selectors import incidents_of_releases
from liftoff.markdown import render_markdown
from liftoff.roles import READ_ROLES, role_required
from metrics.selectors import release_kpis
from releases.selectors import project_list, release_history

PER_PAGE = 20


def _figures(deployments) -> dict:
    """The release's deployment figures, from its deployments already read."""
    finished = [
        d for d in deployments if d.status in {DeploymentStatus.SUCCEEDED, DeploymentStatus.FAILED}
    ]
    succeeded = [d for d in finished if d.status == DeploymentStatus.SUCCEEDED]
    minutes = [
        (d.finished_at - d.started_at).total_seconds() / 60
        for d in finished
        if d.started_at and d.finished_at
    ]
    return {
        "finished": len(finished),
        "succeeded": len(succeeded),
        "rollbacks": sum(1 for d in deployments if d.kind == DeploymentKind.ROLLBACK),
        "median_minutes": round(median(minutes), 1) if minutes else None,
    }


@role_required(*READ_ROLES)
def history(request):
    projects = list(project_list())
    form = HistoryFilterForm(request.GET or None, projects=projects)
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    releases = release_history(
        project_slug=filters.get("project", ""),
        release_type=filters.get("type", ""),
        since=filters.get("since"),
        until=filters.get("until"),
    )
    page = Paginator(releases, PER_PAGE).get_page(request.GET.get("page"))
    ids = [r.pk for r in page]
    deployments = deployments_of_releases(release_ids=ids)
    incidents = incidents_of_releases(release_ids=ids)
    kpis = release_kpis(releases=list(page))
    for release in page:
        release.history_deployments = deployments[release.pk]
        release.history_incidents = incidents[release.pk]
        release.history_figures = _figures(deployments[release.pk])
        release.history_kpis = kpis[release.pk]
        release.history_security_incidents = sum(1 for i in incidents[release.pk] if i.security)
        release.notes_html = render_markdown(release.notes)
    context = {"form": form, "page": page}
    status = 400 if form.is_bound and not form.is_valid() else 200
    return render(request, "dashboard/history.html", context, status=status)
