from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseStopPolling, trigger_client_event

from liftoff.errors import DomainError
from liftoff.kept import not_kept
from liftoff.roles import READ_ROLES, Role, has_role, role_required
from runs.forms import RunFilterForm
from runs.selectors import (
    progress_version_for,
    redact_paths,
    run_get,
    run_get_for_progress,
    run_list,
    run_log_tail,
    run_progress_version,
    run_rows_version,
    run_scopes,
    run_steps,
)
from runs.services import run_cancel, run_retry


def progress_context(run, *, user, compact: bool = False) -> dict:
    """Everything the progress fragment shows: three queries, whatever the log's size,
    and the version it carries back on its next poll (computed here, no query).

    `compact`: a page about something else (a release, a project) shows the run in full
    while it works and as one line once it has ended. Only those who operate (release
    managers, admins) see the workers' paths in the log, the steps and the error."""
    if not run.is_final:
        not_kept()  # a page kept rendered (liftoff.kept) would show it frozen
    steps = run_steps(run=run)
    done = sum(1 for s in steps if s.status in {"succeeded", "skipped"})
    log_tail = run_log_tail(run=run)
    if not has_role(user, {Role.RELEASE_MANAGER}):
        log_tail = redact_paths(log_tail)
        run.error = redact_paths(run.error)
        for step in steps:
            step.summary = redact_paths(step.summary)
    return {
        "run": run,
        "steps": steps,
        "steps_done": done,
        "log_tail": log_tail,
        "progress_version": progress_version_for(run=run, steps=steps),
        "compact": compact,
    }


@role_required(Role.RELEASE_MANAGER)
def run_index(request):
    form = RunFilterForm(request.GET or None, scopes=run_scopes())
    filters = form.cleaned_data if form.is_valid() else {}
    runs = run_list(
        kind=filters.get("kind", ""),
        status=filters.get("status", ""),
        scope=filters.get("scope", ""),
    )
    page = Paginator(runs, 25).get_page(request.GET.get("page"))
    # The rendered rows are kept under their version: a narrow query instead of building
    # and rendering 25 runs, as long as none of them changed (runs/index.html).
    rows_version = run_rows_version(runs=page.object_list)
    return render(
        request, "runs/index.html", {"form": form, "page": page, "rows_version": rows_version}
    )


@role_required(*READ_ROLES)
def run_detail(request, run_id: int):
    run = run_get_for_progress(run_id=run_id)
    return render(request, "runs/detail.html", progress_context(run, user=request.user))


@role_required(*READ_ROLES)
@vary_on_headers("HX-Request")
def run_progress(request, run_id: int):
    # Most polls of a watched run see nothing new: the fragment sends the version it shows
    # (hx-vals), and the same version answers 204, which htmx neither swaps nor counts as
    # an error, and keeps polling. One small query instead of three and a render.
    shown = request.GET.get("v")
    if request.htmx and shown and shown == run_progress_version(run_id=run_id):
        return HttpResponse(status=204)
    run = run_get_for_progress(run_id=run_id)
    if not request.htmx:
        return redirect("runs:run-detail", run_id=run.pk)
    compact = request.GET.get("compact") == "1"
    context = progress_context(run, user=request.user, compact=compact)
    response = render(request, "components/run_progress.html", context)
    if run.is_final:
        # 286: htmx swaps this last state in and stops polling. The event lets the page
        # refresh what the run changed (a project's refs, a release's facts).
        response.status_code = HttpResponseStopPolling.status_code
        trigger_client_event(
            response, "liftoff:run-finished", {"run": run.pk, "status": run.status}
        )
    return response


def _after_action(request, run):
    if request.htmx:
        context = progress_context(run, user=request.user)
        return render(request, "components/run_progress.html", context)
    return redirect("runs:run-detail", run_id=run.pk)


@role_required(Role.RELEASE_MANAGER)
@require_POST
def run_cancel_view(request, run_id: int):
    run = run_get(run_id=run_id)
    try:
        run = run_cancel(run=run, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.summary())
    else:
        messages.success(request, f"Cancelling run #{run.pk}.")
    return _after_action(request, run_get_for_progress(run_id=run.pk))


@role_required(Role.RELEASE_MANAGER)
@require_POST
def run_retry_view(request, run_id: int):
    run = run_get(run_id=run_id)
    try:
        new = run_retry(run=run, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.summary())
        return _after_action(request, run)
    messages.success(request, f"Run #{new.pk} retries run #{run.pk}.")
    return _after_action(request, run_get_for_progress(run_id=new.pk))
