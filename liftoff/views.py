import logging

from django.contrib import messages
from django.http import HttpResponseServerError, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template import loader
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from liftoff.errors import DomainError
from liftoff.forms import TokenCreateForm, form_add_domain_errors
from liftoff.health import health_report
from liftoff.models import ApiToken
from liftoff.roles import READ_ROLES, Role, has_role, public, role_required, roles_needed
from liftoff.tokens import token_create, token_revoke

logger = logging.getLogger(__name__)

# The API answers its errors in JSON (`{"detail": ...}`), even those that reach Django's
# handlers (a path no route matches, an exception outside DRF's own handling).
API_PREFIX = "/api/"


def _api_error(detail: str, status: int) -> JsonResponse:
    return JsonResponse({"detail": detail, "errors": {}}, status=status)


def permission_denied(request, exception=None):
    """handler403: the layout, what was refused and which roles may (RoleRequired)."""
    reason = str(exception or "") or "Your role does not allow this."
    if request.path.startswith(API_PREFIX):
        return _api_error(reason, 403)
    roles = getattr(exception, "roles", None)
    context = {"reason": reason, "roles_needed": roles_needed(roles) if roles else ""}
    return render(request, "403.html", context, status=403)


def page_not_found(request, exception=None):
    """handler404: the layout (with the navigation for a signed-in user)."""
    if request.path.startswith(API_PREFIX):
        return _api_error(f"No endpoint at {request.path}; see /api/v1/openapi.json.", 404)
    return render(request, "404.html", {"request_path": request.path}, status=404)


def server_error(request):
    """handler500: rendered without the request, so without the context processors and
    the database (which may be what failed); a plain page if even that fails."""
    if request.path.startswith(API_PREFIX):
        return _api_error("Something went wrong on the server.", 500)
    try:
        return HttpResponseServerError(loader.get_template("500.html").render())
    except Exception:
        logger.exception("The 500 page could not be rendered.")
        return HttpResponseServerError(
            "<!doctype html><title>Server error · Liftoff</title>"
            "<h1>Something went wrong on the server</h1>"
        )


@public
@never_cache
@require_GET
def healthz(request):
    report = health_report()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)


def _token_page(request, form, new_secret=None, status=200):
    tokens = ApiToken.objects.select_related("project").filter(user=request.user)
    project_tokens = None
    if has_role(request.user, {Role.ADMIN}):
        project_tokens = ApiToken.objects.select_related("project", "created_by").filter(
            project__isnull=False
        )
    context = {
        "form": form,
        "tokens": tokens,
        "project_tokens": project_tokens,
        "new_secret": new_secret,
    }
    return render(request, "account/tokens.html", context, status=status)


def _token_form(request, data=None):
    return TokenCreateForm(data, with_projects=has_role(request.user, {Role.ADMIN}))


@role_required(*READ_ROLES)
@never_cache
def token_list(request):
    if request.method != "POST":
        return _token_page(request, _token_form(request))
    form = _token_form(request, request.POST)
    if form.is_valid():
        project = form.cleaned_data.get("project")
        try:
            _, secret = token_create(
                actor=request.user,
                name=form.cleaned_data["name"],
                user=None if project else request.user,
                project=project,
            )
        except DomainError as exc:
            form_add_domain_errors(form, exc)
        else:
            # Shown once, in this response only; never stored, never in a message cookie.
            return _token_page(request, _token_form(request), new_secret=secret)
    return _token_page(request, form, status=400)


@role_required(*READ_ROLES)
@require_POST
def token_revoke_view(request, token_id: int):
    # Outsiders get 404: another user's token id says nothing about whether it exists.
    visible = (
        ApiToken.objects.all()
        if has_role(request.user, {Role.ADMIN})
        else (ApiToken.objects.filter(user=request.user))
    )
    token = get_object_or_404(visible, pk=token_id)
    try:
        token_revoke(actor=request.user, token=token)
    except DomainError as exc:
        messages.error(request, exc.summary())
    else:
        messages.success(request, f"Token “{token.name}” revoked.")
    return redirect("account-tokens")
