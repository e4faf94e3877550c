"""Deployment pages: the environment board and history, an environment (lock, emergency
rollback), a deployment (live progress, cancel, abort), and the release page's
Deployments section (deploy to each environment).

Actions are plain forms posting to their own URL, so each works without JavaScript; a
refusal from a service (DomainError) is a toast and a redirect, or, for a form whose input
was wrong, the page again with the errors (400). Only the live progress uses htmx (the run
engine's component polls itself and stops when the run ends).
"""

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from deployments.forms import DeployForm, DeploymentFilterForm, LockForm
from deployments.freezes import describe, freeze_in_force
from deployments.models import (
    Deployment,
    DeploymentStatus,
    EmergencyChange,
    Environment,
    EnvironmentPhase,
    FreezeWindow,
    HealthSample,
)
from deployments.selectors import (
    HEALTH_MARKS,
    board,
    board_page_rows,
    deployment_blockers,
    deployment_get,
    deployment_list,
    environment_active,
    environment_current,
    environment_names,
    history_page_rows,
    rollback_target,
    verified_on,
)
from deployments.services import (
    deployment_abort,
    deployment_cancel,
    deployment_start,
    environment_lock,
    environment_rollback,
    environment_unlock,
)
from liftoff.errors import Conflict, DomainError
from liftoff.forms import form_add_domain_errors
from liftoff.kept import kept_html, rows_version
from liftoff.roles import READ_ROLES, Role, has_role, role_required
from releases.models import ReleaseStatus, ReleaseType
from releases.policy import memoized, policy_snapshot
from releases.sections import PageAction, release_page_tabs
from releases.selectors import project_list, release_get
from runs.views import progress_context

PAGE_SIZE = 25


def _refusal(request, exc: DomainError) -> None:
    """A service's refusal as a toast; a Conflict names what is missing."""
    missing = exc.extra.get("missing") if isinstance(exc, Conflict) else None
    text = exc.summary()
    if missing:
        text = f"{exc.message} " + " ".join(str(m) for m in missing)
    messages.error(request, text)


def _environment(project: str, name: str) -> Environment:
    environment = (
        Environment.objects.select_related("project", "locked_by")
        .filter(project__slug=project, name=name)
        .first()
    )
    if environment is None:
        raise Http404("No such environment.")
    return environment


def _deployment(pk: int) -> Deployment:
    try:
        return deployment_get(pk=pk)
    except Deployment.DoesNotExist:
        raise Http404("No such deployment.") from None


# --- The board and the history ---------------------------------------------------------


@role_required(*READ_ROLES)
def index(request):
    """The board and the history. Both are kept rendered per process under the version of
    the rows they show (liftoff.kept): most views find nothing changed, and rendering them
    was most of the page (docs/performance.md). What is in progress loads its own live
    progress (the board's template)."""
    projects = list(project_list())
    names = environment_names()
    form = DeploymentFilterForm(request.GET or None, projects=projects, environment_names=names)
    filters = form.cleaned_data if form.is_valid() else {}
    page = Paginator(deployment_list(filters=filters), PAGE_SIZE).get_page(request.GET.get("page"))
    zone = timezone.get_current_timezone_name()

    def render_board(csrf_token):
        context = {"board": board(projects=projects)}
        return render_to_string("deployments/index.html#board", context, request)

    board_key = ("deployments-board", rows_version(board_page_rows()), zone)
    context = {
        "board_html": kept_html(request, key=board_key, render=render_board),
        "has_environments": bool(names),
        "form": form,
        "history_html": _history(request, page, zone),
    }
    return render(request, "deployments/index.html", context)


def _history(request, page, zone: str) -> str:
    """A page of the history, kept under the version of its rows (and of the names it
    shows), its place among the pages and the query string its links keep."""

    def render_rows(csrf_token):
        return render_to_string("deployments/index.html#history", {"page": page}, request)

    key = (
        "deployments-history",
        rows_version(history_page_rows(page.object_list)),
        page.number,
        page.paginator.count,
        request.GET.urlencode(),
        zone,
    )
    return kept_html(request, key=key, render=render_rows)


# --- An environment ----------------------------------------------------------------------


def _environment_context(request, environment: Environment, lock_form=None) -> dict:
    current = environment_current(environment=environment)
    windows = FreezeWindow.objects.filter(project_id=environment.project_id).filter(
        Q(environment__isnull=True) | Q(environment=environment)
    )
    now = timezone.now()
    freezes = [
        {"window": w, "when": describe(w), "in_force": freeze_in_force(w, now)}
        for w in windows.order_by("kind", "starts_at", "id")
    ]
    samples = list(HealthSample.objects.filter(environment=environment)[:HEALTH_MARKS])
    active = environment_active(environment=environment)
    history = deployment_list(filters={}).filter(environment=environment)
    page = Paginator(history, PAGE_SIZE).get_page(request.GET.get("page"))
    reason = {"reason": environment.locked_reason} if environment.locked else None
    context = {
        "environment": environment,
        "current": current,
        "target": rollback_target(environment=environment, current=current),
        "freezes": freezes,
        "frozen": any(f["in_force"] for f in freezes),
        "samples": list(reversed(samples)),
        "active": active,
        "history_html": _history(request, page, timezone.get_current_timezone_name()),
        "lock_form": lock_form or LockForm(initial=reason),
        "may_configure": has_role(request.user, {Role.ADMIN}),
    }
    if active is not None and active.run is not None:
        context["active_progress"] = progress_context(active.run, user=request.user, compact=True)
    return context


@role_required(*READ_ROLES)
def environment_detail(request, project: str, name: str):
    environment = _environment(project, name)
    context = _environment_context(request, environment)
    return render(request, "deployments/environment.html", context)


@role_required(Role.RELEASE_MANAGER)
@require_POST
def environment_lock_view(request, project: str, name: str):
    environment = _environment(project, name)
    form = LockForm(request.POST)
    if form.is_valid():
        reason = form.cleaned_data["reason"]
        try:
            environment_lock(environment=environment, actor=request.user, reason=reason)
        except DomainError as exc:
            form_add_domain_errors(form, exc)
        else:
            messages.success(request, f"{environment.name} is locked: {reason}")
            return redirect(environment.get_absolute_url())
    context = _environment_context(request, environment, lock_form=form)
    return render(request, "deployments/environment.html", context, status=400)


@role_required(Role.RELEASE_MANAGER)
@require_POST
def environment_unlock_view(request, project: str, name: str):
    environment = _environment(project, name)
    try:
        environment_unlock(environment=environment, actor=request.user)
    except DomainError as exc:
        _refusal(request, exc)
    else:
        messages.success(request, f"{environment.name} is unlocked.")
    return redirect(environment.get_absolute_url())


@role_required(Role.RELEASE_MANAGER)
@vary_on_headers("HX-Request")
def environment_rollback_view(request, project: str, name: str):
    """Emergency rollback: a GET names the version it goes back to and asks (htmx: the
    confirmation alone, opened in place by the critical-incident banner); the POST
    (confirmed) starts it and shows the rollback's own page, to watch it run."""
    environment = _environment(project, name)
    if request.method == "POST" and request.POST.get("confirmed"):
        try:
            rollback = environment_rollback(environment=environment, actor=request.user)
        except DomainError as exc:
            _refusal(request, exc)
            return redirect(environment.get_absolute_url())
        messages.success(request, f"Rolling {environment.name} back to v{rollback.version}.")
        return redirect(rollback.get_absolute_url())
    current = environment_current(environment=environment)
    context = {
        "environment": environment,
        "current": current,
        "target": rollback_target(environment=environment, current=current),
    }
    if request.htmx:
        # Asked in place (the critical-incident banner): the confirmation alone.
        context |= {"heading_level": 2, "id_prefix": "banner-"}
        return render(request, "deployments/rollback_confirm.html#confirm", context)
    return render(request, "deployments/rollback_confirm.html", context)


# --- A deployment ------------------------------------------------------------------------


def _deployment_context(request, deployment: Deployment) -> dict:
    context = {
        "deployment": deployment,
        "environment": deployment.environment,
        "rolled_back_by": Deployment.objects.filter(rollback_of=deployment).first(),
        "emergency": EmergencyChange.objects.filter(deployment=deployment)
        .select_related("approved_by", "reviewed_by")
        .first(),
        "abortable": deployment.status in {DeploymentStatus.QUEUED, DeploymentStatus.RUNNING}
        and not deployment.is_rollback
        and not deployment.abort_requested_at,
    }
    if deployment.run is not None:
        context.update(progress_context(deployment.run, user=request.user))
    return context


@role_required(*READ_ROLES)
def deployment_detail(request, pk: int):
    deployment = _deployment(pk)
    context = _deployment_context(request, deployment)
    return render(request, "deployments/deployment.html", context)


@role_required(Role.RELEASE_MANAGER)
@require_POST
def deployment_cancel_view(request, pk: int):
    deployment = _deployment(pk)
    try:
        deployment_cancel(deployment=deployment, actor=request.user)
    except DomainError as exc:
        _refusal(request, exc)
    else:
        messages.success(request, f"Cancelling the deployment of v{deployment.version}.")
    return redirect(deployment.get_absolute_url())


@role_required(Role.RELEASE_MANAGER)
def deployment_abort_view(request, pk: int):
    """Abort and roll back: a GET asks (what is stopped, what comes back); the confirmed
    POST does it."""
    deployment = _deployment(pk)
    if request.method == "POST" and request.POST.get("confirmed"):
        try:
            deployment_abort(deployment=deployment, actor=request.user)
        except DomainError as exc:
            _refusal(request, exc)
        else:
            messages.success(
                request,
                f"Aborting v{deployment.version}: {deployment.environment.name} rolls back.",
            )
        return redirect(deployment.get_absolute_url())
    environment = deployment.environment
    target = rollback_target(environment=environment, current=deployment)
    context = {"deployment": deployment, "environment": environment, "target": target}
    return render(request, "deployments/abort_confirm.html", context)


# --- The release page: its Deployments section, tab and actions -------------------------


def _project_environments(release) -> list[Environment]:
    """The project's environments in order, read once per policy snapshot (the same key
    as the release policy's blocker, so the page reads them once)."""
    environments = memoized(
        ("environments", release.project_id),
        lambda: list(Environment.objects.filter(project_id=release.project_id)),
    )
    return sorted(environments, key=lambda e: (e.order, e.name))


def _project_board(release) -> dict:
    """Each environment's board row (what runs there, in progress, freezes in force)."""
    rows = memoized(
        ("deployments_board", release.project_id), lambda: board(projects=[release.project])
    )
    return {row.environment.pk: row for _, env_rows in rows for row in env_rows}


def _blockers(release, environment) -> list:
    return memoized(
        ("deployment_blockers", release.pk, environment.pk),
        lambda: deployment_blockers(release=release, environment=environment),
    )


def _may_override(user, release, row) -> bool:
    return (
        release.type == ReleaseType.HOTFIX and bool(row.freezes) and has_role(user, {Role.APPROVER})
    )


def release_deployments_context(*, user, release, errored=None) -> dict:
    """The release page's Deployments section: each environment with what runs there and,
    for a release manager, its Deploy form and what blocks it. `errored`: (environment
    pk, bound form) of a post that was refused, shown in that environment's place."""
    environments = _project_environments(release)
    if not environments:
        return {"deployment_rows": []}
    board_rows = _project_board(release)
    is_manager = has_role(user, {Role.RELEASE_MANAGER})
    rows = []
    for environment in environments:
        row = board_rows.get(environment.pk)
        entry = {"environment": environment, "row": row, "blockers": [], "form": None}
        # A release manager deploys; an approver only a hotfix into a frozen environment,
        # with the override (deployments.services.deployment_start decides the same).
        may_deploy = is_manager or (row is not None and _may_override(user, release, row))
        if may_deploy and row is not None:
            entry["blockers"] = _blockers(release, environment)
            if errored and errored[0] == environment.pk:
                entry["form"] = errored[1]
            else:
                entry["form"] = DeployForm(
                    auto_id=f"deploy-{environment.pk}-%s",
                    may_override=_may_override(user, release, row),
                )
        rows.append(entry)
    return {"deployment_rows": rows}


# The release phase that deploying to an environment of a phase moves it on from.
_DEPLOY_NEXT = {
    ReleaseStatus.READY: EnvironmentPhase.STAGING,
    ReleaseStatus.STAGING: EnvironmentPhase.PRODUCTION,
}


def deployment_actions(*, user, release) -> list[PageAction]:
    """The cockpit's next step: "Deploy to staging" once the release is ready, "Deploy to
    production" once it is in staging; only where nothing blocks it, nothing is in
    progress there and the head is not already verified there."""
    phase = _DEPLOY_NEXT.get(release.status)
    if phase is None or not has_role(user, {Role.RELEASE_MANAGER}):
        return []
    actions = []
    for environment in _project_environments(release):
        if environment.phase != phase:
            continue
        row = _project_board(release).get(environment.pk)
        if row is None or row.active is not None or _blockers(release, environment):
            continue
        if verified_on(environment=environment, commit=release.head_commit):
            continue
        url = reverse("deployments:release-deploy", args=[release.pk, environment.pk])
        actions.append(
            PageAction(
                name=f"deploy-{environment.name}",
                label=f"Deploy to {environment.name}",
                url=url,
                next_step=True,
                order=15,
            )
        )
    return actions


def _release_deployments_page(request, release, errored=None, status=200):
    with policy_snapshot():
        context = release_deployments_context(user=request.user, release=release, errored=errored)
    tabs = {"tabs": release_page_tabs(release), "current_tab": "deployments:release-deployments"}
    return render(
        request,
        "deployments/release_deployments.html",
        {**context, **tabs, "release": release, "standalone": True},
        status=status,
    )


@role_required(*READ_ROLES)
def release_deployments(request, release_id: int):
    release = release_get(release_id=release_id)
    return _release_deployments_page(request, release)


@role_required(Role.RELEASE_MANAGER, Role.APPROVER)  # an approver: a freeze override only
@require_POST
def release_deploy(request, release_id: int, environment_id: int):
    """Deploy now, or at the time given. A refusal re-renders the release's Deployments
    page with the form as typed and what is missing (400)."""
    release = release_get(release_id=release_id)
    environment = (
        Environment.objects.select_related("project")
        .filter(pk=environment_id, project_id=release.project_id)
        .first()
    )
    if environment is None:
        raise Http404("No such environment for this release.")
    form = DeployForm(
        request.POST,
        auto_id=f"deploy-{environment.pk}-%s",
        may_override="override_reason" in request.POST,
    )
    if form.is_valid():
        data = form.cleaned_data
        try:
            deployment = deployment_start(
                release=release,
                environment=environment,
                actor=request.user,
                at=data.get("at"),
                override_reason=data.get("override_reason") or "",
            )
        except Conflict as exc:
            form.add_error(None, exc.message)
            for blocker in exc.extra.get("missing") or []:
                form.add_error(None, str(blocker))
        except DomainError as exc:
            form_add_domain_errors(form, exc)
        else:
            if deployment.status == DeploymentStatus.SCHEDULED:
                when = deployment.scheduled_for.strftime("%Y-%m-%d %H:%M")
                messages.success(request, f"v{release.version} to {environment.name} at {when}.")
            else:
                messages.success(request, f"Deploying v{release.version} to {environment.name}.")
            return redirect(deployment.get_absolute_url())
    return _release_deployments_page(request, release, (environment.pk, form), status=400)
