"""Configuration pages of deployments (admins): a project's environments, their health
checks and secret variables, its freeze windows; and the review of emergency changes
(approvers) on the approvals page.

Each page first finds the project (404 for an unknown slug), then the environment or row
inside it (404 for one of another project), then calls one service. A webhook's signing
secret is in the answer to the POST that made it (create, rotate) and nowhere else: no
redirect carries it, no session keeps it, no later page shows it.
"""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_POST

from deployments.config_forms import (
    EnvironmentForm,
    FreezeWindowForm,
    HealthCheckFormSet,
    SecretVariableForm,
)
from deployments.freezes import describe, freeze_in_force
from deployments.models import EmergencyChange, Environment, FreezeWindow
from deployments.selectors import (
    emergency_changes_unreviewed,
    project_freeze_windows,
)
from deployments.services import (
    ENVIRONMENT_FIELDS,
    emergency_change_review,
    environment_create,
    environment_update,
    environment_webhook_secret_rotate,
    freeze_window_create,
    freeze_window_delete,
    health_check_set,
    secret_variable_delete,
    secret_variable_set,
)
from liftoff.errors import DomainError
from liftoff.forms import delete_page, form_save
from liftoff.roles import Role, has_role, role_required
from releases.selectors import project_get

T = "deployments/config/"


def _environment_get(project, name: str) -> Environment:
    return get_object_or_404(
        Environment.objects.select_related("project"), project=project, name=name
    )


def _form_page(request, template, context):
    status = 400 if request.method == "POST" else 200
    return render(request, T + template, context, status=status)


def _secret_page(request, environment, secret: str, done: str):
    """The one page that shows a webhook's signing secret: the answer to its POST."""
    messages.success(request, done)
    response = render(
        request, T + "secret_once.html", {"environment": environment, "secret": secret}
    )
    add_never_cache_headers(response)
    return response


# --- Environments -----------------------------------------------------------------------


@role_required(Role.ADMIN)
def environment_new(request, project: str):
    project = project_get(slug=project)
    form = EnvironmentForm(request.POST or None, initial={"strategy": "command"})
    if request.method == "POST" and form.is_valid():
        made = form_save(
            request,
            form,
            lambda d: environment_create(
                project=project, actor=request.user, **form.service_fields()
            ),
            "Environment “{0[0].name}” added to " + project.name + ".",
        )
        if made:
            environment, secret = made
            if secret:
                return _secret_page(request, environment, secret, "Copy the signing secret now.")
            return redirect(environment.get_absolute_url())
    return _form_page(request, "environment_form.html", {"project": project, "form": form})


@role_required(Role.ADMIN)
def environment_edit(request, project: str, name: str):
    project = project_get(slug=project)
    environment = _environment_get(project, name)
    initial = {f: getattr(environment, f) for f in ENVIRONMENT_FIELDS}
    form = EnvironmentForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        saved = form_save(
            request,
            form,
            lambda d: environment_update(
                environment=environment, actor=request.user, **form.service_fields()
            ),
            "Environment “{.name}” saved.",
        )
        if saved:
            return redirect("deployments:environment-edit", project=project.slug, name=saved.name)
    context = {"project": project, "environment": environment, "form": form}
    return _form_page(request, "environment_form.html", context)


@role_required(Role.ADMIN)
@require_POST
def environment_secret_rotate(request, project: str, name: str):
    environment = _environment_get(project_get(slug=project), name)
    try:
        secret = environment_webhook_secret_rotate(environment=environment, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.summary())
        return redirect("deployments:environment-edit", project=project, name=name)
    done = "New signing secret made: the old one no longer verifies. Copy it now."
    return _secret_page(request, environment, secret, done)


# --- Health checks ----------------------------------------------------------------------

_CHECK_FIELDS = ("url", "expected_status", "json_field", "json_value", "timeout_seconds", "retries")


@role_required(Role.ADMIN)
def health_checks_edit(request, project: str, name: str):
    project = project_get(slug=project)
    environment = _environment_get(project, name)
    initial = [{f: getattr(c, f) for f in _CHECK_FIELDS} for c in environment.health_checks.all()]
    formset = HealthCheckFormSet(request.POST or None, initial=initial, prefix="checks")
    if request.method == "POST" and formset.is_valid():
        checks = [
            f.cleaned_data
            for f in formset.forms
            if f.cleaned_data and f not in formset.deleted_forms
        ]
        try:
            health_check_set(environment=environment, actor=request.user, checks=checks)
        except DomainError as exc:
            messages.error(request, exc.summary())
        else:
            messages.success(request, f"Health checks of {environment.name} saved.")
            return redirect(
                "deployments:environment-health-checks", project=project.slug, name=name
            )
    context = {"project": project, "environment": environment, "formset": formset}
    return _form_page(request, "health_checks.html", context)


# --- Secret variables -------------------------------------------------------------------


@role_required(Role.ADMIN)
def secrets_edit(request, project: str, name: str):
    project = project_get(slug=project)
    environment = _environment_get(project, name)
    form = SecretVariableForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        form_save(
            request,
            form,
            lambda d: secret_variable_set(environment=environment, actor=request.user, **d),
            f"Secret {form.cleaned_data['name'].strip()} set.",
        )
        if not form.errors:  # the service returns nothing: a refusal leaves its errors
            return redirect("deployments:environment-secrets", project=project.slug, name=name)
    # Names only: the values stay in the database (values_list never reads them).
    names = environment.secrets.order_by("name").values_list("name", "updated_at")
    context = {"project": project, "environment": environment, "form": form, "names": names}
    return _form_page(request, "secrets.html", context)


@role_required(Role.ADMIN)
def secret_delete(request, project: str, name: str, secret: str):
    project = project_get(slug=project)
    environment = _environment_get(project, name)
    back = reverse("deployments:environment-secrets", args=[project.slug, name])
    return delete_page(
        request,
        delete=lambda: secret_variable_delete(
            environment=environment, actor=request.user, name=secret
        ),
        done=f"Secret {secret} deleted.",
        back=back,
        template=T + "secret_delete.html",
        context={"project": project, "environment": environment, "secret": secret},
    )


# --- Freeze windows ---------------------------------------------------------------------


@role_required(Role.ADMIN)
def freeze_index(request, project: str):
    project = project_get(slug=project)
    now = timezone.now()
    rows = [
        {"window": w, "when": describe(w), "in_force": freeze_in_force(w, now)}
        for w in project_freeze_windows(project=project)
    ]
    return render(request, T + "freezes.html", {"project": project, "rows": rows})


@role_required(Role.ADMIN)
def freeze_new(request, project: str):
    project = project_get(slug=project)
    environments = Environment.objects.filter(project=project).order_by("order", "name")
    form = FreezeWindowForm(request.POST or None, environments=environments)
    if request.method == "POST" and form.is_valid():
        saved = form_save(
            request,
            form,
            lambda d: freeze_window_create(
                project=project, actor=request.user, **form.service_fields()
            ),
            "Freeze window “{}” added.",
        )
        if saved:
            return redirect("deployments:freeze-index", project=project.slug)
    return _form_page(request, "freeze_form.html", {"project": project, "form": form})


@role_required(Role.ADMIN)
def freeze_delete(request, project: str, pk: int):
    project = project_get(slug=project)
    window = get_object_or_404(FreezeWindow, project=project, pk=pk)
    return delete_page(
        request,
        delete=lambda: freeze_window_delete(window=window, actor=request.user),
        done=f"Freeze window “{window.reason}” deleted.",
        back=reverse("deployments:freeze-index", args=[project.slug]),
        template=T + "freeze_delete.html",
        context={"project": project, "window": window, "when": describe(window)},
    )


# --- Emergency changes (the approvals page) ---------------------------------------------


def emergency_changes_section(*, user) -> dict | None:
    """The approvals page's "Emergency changes to review" (registered in apps.py)."""
    changes = list(emergency_changes_unreviewed())
    if not changes:
        return None
    now = timezone.now()
    may_review = has_role(user, {Role.APPROVER})
    rows = [
        {
            "change": c,
            "overdue": c.review_due < now,
            "own": c.approved_by_id == user.pk,
            "may_review": may_review and c.approved_by_id != user.pk,
        }
        for c in changes
    ]
    return {"rows": rows, "may_review": may_review}


@role_required(Role.APPROVER)
@require_POST
def emergency_change_review_view(request, pk: int):
    change = get_object_or_404(EmergencyChange.objects.select_related("deployment"), pk=pk)
    note = request.POST.get("note", "").strip()[:2000]
    try:
        emergency_change_review(change=change, actor=request.user, note=note)
    except DomainError as exc:
        messages.error(request, exc.summary())
    else:
        messages.success(
            request, f"Reviewed the emergency change of deployment #{change.deployment_id}."
        )
    return redirect(reverse("gates:approvals") + "#emergency-changes")
