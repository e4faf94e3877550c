"""The metrics page, its exports, the lists its counts link to, a project's targets and
a stakeholder's rating of a release. Every signed-in role reads; admins edit targets;
stakeholders rate."""

from django.contrib import messages
from django.core.cache import cache
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from liftoff.errors import DomainError
from liftoff.roles import READ_ROLES, Role, has_role, role_required
from metrics.charts import trend_bars
from metrics.export import report_csv, report_data
from metrics.forms import MetricSettingsForm, MetricsFilterForm, RatingForm
from metrics.selectors import (
    CACHE_SECONDS,
    DEPLOYMENT_SETS,
    deployment_set,
    metrics_cache_key,
    metrics_report_cached,
    metrics_window,
    project_metric_settings,
)
from metrics.services import metric_settings_update, release_rate
from releases.models import Release
from releases.selectors import project_get, project_list

PAGE_SIZE = 25


def _scope(request):
    """The form, and the project and window the query string asks for (None on bad
    input)."""
    form = MetricsFilterForm(request.GET or None, projects=list(project_list()))
    if not form.is_bound:
        return form, None, metrics_window()
    if not form.is_valid():
        return form, None, None
    data = form.cleaned_data
    return form, data["project"], metrics_window(since=data["since"], until=data["until"])


def _report(request):
    """The report the query string asks for, and its form (None on bad input)."""
    form, project, window = _scope(request)
    if window is None:
        return form, None
    return form, metrics_report_cached(project=project, window=window)


def _figures_html(report) -> str:
    for figure in (*report.kpis, *report.dora):
        figure.bars = trend_bars(figure.trend, report.week_starts, figure.unit)
    return render_to_string("metrics/index.html#figures", {"report": report})


@role_required(*READ_ROLES)
def index(request):
    """The figures' HTML is the same for every reader: it is kept beside the report, under
    the same key, so a view between two changes renders only the page around it."""
    form, project, window = _scope(request)
    report = figures = None
    if window is not None:
        key = metrics_cache_key(project=project, window=window)
        report = metrics_report_cached(project=project, window=window, key=key)
        figures = cache.get(f"{key}:html")
        if figures is None:
            figures = _figures_html(report)
            cache.set(f"{key}:html", str(figures), CACHE_SECONDS)
        figures = mark_safe(figures)  # noqa: S308 - our template's output, escaped there
    context = {
        "form": form,
        "report": report,
        "figures": figures,
        "query": request.GET.urlencode(),
        "may_configure": has_role(request.user, {Role.ADMIN}),
    }
    return render(request, "metrics/index.html", context, status=400 if report is None else 200)


@role_required(*READ_ROLES)
def export_json(request):
    form, report = _report(request)
    if report is None:
        return JsonResponse(
            {"detail": "The window is not valid.", "errors": form.errors}, status=400
        )
    response = JsonResponse(report_data(report), json_dumps_params={"ensure_ascii": False})
    response["Content-Disposition"] = 'attachment; filename="metrics.json"'
    return response


@role_required(*READ_ROLES)
def export_csv(request):
    _form, report = _report(request)
    if report is None:
        return HttpResponse("The window is not valid.\n", status=400, content_type="text/plain")
    response = HttpResponse(report_csv(report), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="metrics.csv"'
    return response


@role_required(*READ_ROLES)
def deployments(request, name: str):
    """The deployments one count of the page counts, for the same project and window."""
    if name not in DEPLOYMENT_SETS:
        raise Http404("No such count.")
    form, report = _report(request)
    if report is None:
        return render(request, "metrics/deployments.html", {"form": form}, status=400)
    rows = deployment_set(name=name, project=report.project, window=report.window)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"form": form, "report": report, "page": page, "what": DEPLOYMENT_SETS[name][0]}
    return render(request, "metrics/deployments.html", context)


@role_required(Role.ADMIN)
def settings_edit(request, slug: str):
    project = project_get(slug=slug)
    form = MetricSettingsForm(
        request.POST or None, instance=project_metric_settings(project=project)
    )
    if request.method == "POST" and form.is_valid():
        values = {name: form.cleaned_data[name] for name in form.Meta.fields}
        metric_settings_update(project=project, actor=request.user, **values)
        messages.success(request, f"Metric targets of {project.name} saved.")
        return redirect(f"{request.path}")
    status = 400 if form.errors else 200
    return render(
        request, "metrics/settings.html", {"form": form, "project": project}, status=status
    )


@role_required(Role.STAKEHOLDER)
@require_POST
def rate(request, release_id: int):
    release = get_object_or_404(Release, pk=release_id)
    form = RatingForm(request.POST)
    if form.is_valid():
        try:
            release_rate(release=release, actor=request.user, score=form.cleaned_data["score"])
            messages.success(request, f"Your rating of v{release.version} is saved.")
        except DomainError as error:
            messages.error(request, error.message)
    else:
        messages.error(request, "Pick a rating from 1 to 5.")
    return redirect(release.get_absolute_url())
