"""A project's webhook endpoints (admins): list, add (the secret shown once), rotate,
disable or enable, delete, and each endpoint's attempt log."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from liftoff.errors import DomainError
from liftoff.forms import form_add_domain_errors
from liftoff.roles import Role, role_required
from notifications.forms import WebhookForm
from notifications.selectors import endpoint_attempts, webhook_get, webhooks_of
from notifications.services import (
    webhook_create,
    webhook_delete,
    webhook_rotate_secret,
    webhook_set_active,
)
from releases.selectors import project_get


def _page(request, project, form, *, secret=None, status=200):
    context = {
        "project": project,
        "form": form,
        "endpoints": webhooks_of(project=project),
        "new_secret": secret,
    }
    return render(request, "notifications/webhooks.html", context, status=status)


@role_required(Role.ADMIN)
@never_cache
def webhook_list(request, slug: str):
    project = project_get(slug=slug)
    if request.method != "POST":
        return _page(request, project, WebhookForm())
    form = WebhookForm(request.POST)
    if form.is_valid():
        try:
            _, secret = webhook_create(project=project, actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            form_add_domain_errors(form, exc)
        else:
            # Shown once, in this answer only; never stored elsewhere, never in a message.
            return _page(request, project, WebhookForm(), secret=secret)
    return _page(request, project, form, status=400)


@role_required(Role.ADMIN)
@require_POST
@never_cache
def webhook_rotate(request, slug: str, endpoint_id: int):
    project = project_get(slug=slug)
    endpoint = webhook_get(project=project, endpoint_id=endpoint_id)
    secret = webhook_rotate_secret(endpoint=endpoint, actor=request.user)
    return _page(request, project, WebhookForm(), secret=secret)


@role_required(Role.ADMIN)
@require_POST
def webhook_active(request, slug: str, endpoint_id: int):
    endpoint = webhook_get(project=project_get(slug=slug), endpoint_id=endpoint_id)
    active = request.POST.get("active") == "1"
    webhook_set_active(endpoint=endpoint, active=active, actor=request.user)
    messages.success(request, f"Webhook {'enabled' if active else 'disabled'}.")
    return redirect("webhooks:list", slug=slug)


@role_required(Role.ADMIN)
@require_POST
def webhook_remove(request, slug: str, endpoint_id: int):
    endpoint = webhook_get(project=project_get(slug=slug), endpoint_id=endpoint_id)
    webhook_delete(endpoint=endpoint, actor=request.user)
    messages.success(request, "Webhook deleted.")
    return redirect("webhooks:list", slug=slug)


@role_required(Role.ADMIN)
@never_cache
def webhook_attempts(request, slug: str, endpoint_id: int):
    """Every attempt at delivering to one endpoint, newest first, each linking to its
    delivery: what answered, how long it took, the error. Never the secret."""
    project = project_get(slug=slug)
    endpoint = webhook_get(project=project, endpoint_id=endpoint_id)
    page = Paginator(endpoint_attempts(endpoint=endpoint), 50).get_page(request.GET.get("page"))
    context = {"project": project, "endpoint": endpoint, "page": page}
    return render(request, "notifications/webhook_attempts.html", context)
