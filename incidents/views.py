"""Incident pages: the list, opening one, an incident (timeline and actions) and its
countdown fragment.

Actions are plain forms posting to their own URL, so each works without JavaScript: a
form with wrong input comes back with its errors (400); a refusal that is not about the
input (someone moved it first) is a toast and a redirect. Only the countdown polls (htmx),
and it stops itself once the incident is acknowledged.
"""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseStopPolling

from deployments.models import Deployment, Environment
from deployments.selectors import environment_names
from incidents.forms import (
    DeploymentChangeForm,
    HotfixForm,
    IncidentFilterForm,
    IncidentOpenForm,
    IncidentSettingsForm,
    NoteForm,
    PostmortemForm,
    SecurityForm,
    SeverityPolicyForm,
    TransitionForm,
)
from incidents.models import TRANSITIONS, EnvironmentIncidentSetting, IncidentStatus, Severity
from incidents.selectors import (
    audience_candidates,
    incident_clock,
    incident_get,
    incident_list,
    incident_list_page_rows,
    incident_timeline,
    incidents_unresolved,
    may_change,
    severity_matrix,
    severity_policy,
    stakeholders_may_open,
    time_left,
)
from incidents.services import (
    incident_deployment_set,
    incident_hotfix_set,
    incident_hotfix_start,
    incident_note_add,
    incident_open,
    incident_postmortem_update,
    incident_security_set,
    incident_settings_update,
    incident_transition,
    severity_policy_update,
)
from liftoff.errors import DomainError, ValidationFailed
from liftoff.forms import form_add_domain_errors
from liftoff.kept import kept_html, rows_version
from liftoff.markdown import render_markdown
from liftoff.roles import READ_ROLES, Role, has_role, role_required
from releases.models import Release, ReleaseType
from releases.selectors import project_get, project_list

PAGE_SIZE = 25
# The actions offered from a status, with their button labels.
ACTION_LABELS = {
    IncidentStatus.ACKNOWLEDGED: "Acknowledge",
    IncidentStatus.MITIGATED: "Mark mitigated",
    IncidentStatus.RESOLVED: "Resolve",
}


@role_required(*READ_ROLES)
def index(request):
    """The list. A page of it is kept rendered per process under the version of the rows
    it shows (liftoff.kept), and until its first response clock's text changes."""
    projects = list(project_list().only("id", "slug", "name"))  # the filter, the links
    names = environment_names()
    form = IncidentFilterForm(request.GET or None, projects=projects, environment_names=names)
    filters = form.cleaned_data if form.is_valid() else {}
    page = Paginator(incident_list(filters=filters), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "list_html": _list_page(request, page),
        "projects": projects,
        "may_open": may_change(request.user),
        "may_configure": has_role(request.user, {Role.ADMIN}),
    }
    return render(request, "incidents/index.html", context, status=400 if form.errors else 200)


def _list_page(request, page) -> str:
    def render_rows(csrf_token):
        rows = [(incident, time_left(incident)) for incident in page.object_list]
        context = {"page": page, "rows": rows}
        return render_to_string("incidents/index.html#rows", context, request)

    key = (
        "incidents-list",
        rows_version(incident_list_page_rows(page.object_list)),
        page.number,
        page.paginator.count,
        request.GET.urlencode(),
        timezone.get_current_timezone_name(),
    )
    return kept_html(request, key=key, render=render_rows)


@role_required(*READ_ROLES)
def open_card(request):
    """The dashboard's "Open incidents" card (loaded by the card, refreshed every 30 s):
    unresolved incidents, most severe first, with their time left. One query of its own."""
    rows = [(incident, time_left(incident)) for incident in incidents_unresolved()]
    return render(request, "incidents/open_card.html", {"open_incidents": rows})


def _open_form(request):
    environments = Environment.objects.select_related("project").order_by("project__name", "order")
    return IncidentOpenForm(
        request.POST or None, projects=list(project_list()), environments=list(environments)
    )


@role_required(Role.RELEASE_MANAGER, Role.STAKEHOLDER)
def new(request):
    """Open an incident (stakeholders where their project allows it: the service decides)."""
    form = _open_form(request)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        project = next(p for p in project_list() if p.slug == data["project"])
        environment = (
            Environment.objects.filter(pk=data["environment"]).first()
            if data["environment"]
            else None
        )
        try:
            incident = incident_open(
                project=project,
                environment=environment,
                severity=data["severity"],
                title=data["title"],
                description=data["description"],
                started_at=data["started_at"],
                actor=request.user,
                security=data["security"],
            )
        except DomainError as exc:
            form_add_domain_errors(form, exc)
        else:
            messages.success(request, f"Incident #{incident.pk} is open.")
            return redirect(incident.get_absolute_url())
    status = 400 if request.method == "POST" else 200
    return render(request, "incidents/new.html", {"form": form}, status=status)


def _detail(request, incident, *, status=200, **forms):
    deployments = (
        Deployment.objects.select_related("environment")
        .only("id", "version", "environment__name")
        .filter(environment__project=incident.project)
        .order_by("-created_at")[:50]
    )
    initial_deployment = {"deployment": str(incident.deployment_id or "")}
    hotfixes = _hotfixes(incident)
    context = {
        "incident": incident,
        "timeline": incident_timeline(incident=incident),
        "clock": time_left(incident),
        "policy": severity_policy(project=incident.project, severity=incident.severity),
        "may_change": may_change(request.user),
        "actions": [(to, ACTION_LABELS[to]) for to in sorted(TRANSITIONS[incident.status])],
        "transition_form": forms.get("transition_form") or TransitionForm(),
        "note_form": forms.get("note_form") or NoteForm(),
        "deployment_form": forms.get("deployment_form")
        or DeploymentChangeForm(initial=initial_deployment, deployments=deployments),
        "security_form": forms.get("security_form")
        or SecurityForm(initial={"security": "no" if incident.security else "yes"}),
        "postmortem_form": forms.get("postmortem_form")
        or PostmortemForm(initial={"postmortem": incident.postmortem}),
        "hotfix_form": forms.get("hotfix_form")
        or HotfixForm(
            initial={"release": str(incident.hotfix_release_id or "")}, releases=hotfixes
        ),
        "has_hotfixes": bool(hotfixes),
        "postmortem_html": render_markdown(incident.postmortem),
        "description_html": render_markdown(incident.description),
    }
    return render(request, "incidents/detail.html", context, status=status)


def _hotfixes(incident) -> list[Release]:
    return list(
        Release.objects.filter(project=incident.project, type=ReleaseType.HOTFIX).order_by("-id")[
            :50
        ]
    )


@role_required(*READ_ROLES)
def detail(request, pk: int):
    return _detail(request, incident_get(pk=pk))


@role_required(*READ_ROLES)
def clock(request, pk: int):
    """The countdown, polled by htmx: one query of its own, plus the user with their roles
    (the session is read from the shared cache); it stops the polling once the clock no
    longer runs."""
    incident = incident_clock(pk=pk)
    context = {"incident": incident, "clock": time_left(incident)}
    response = render(request, "incidents/detail.html#clock", context)
    if not context["clock"]["clock"]:
        response.status_code = HttpResponseStopPolling.status_code
    return response


def _act(request, pk: int, form_class, form_name: str, act, done: str, **form_kwargs):
    """One action form: its service call, a toast and a redirect; wrong input comes back on
    the page (400); a refusal not about the input is a toast."""
    incident = incident_get(pk=pk)
    form = form_class(request.POST, **form_kwargs)
    if form.is_valid():
        try:
            act(incident, form.cleaned_data)
        except ValidationFailed as exc:
            form_add_domain_errors(form, exc)
        except DomainError as exc:
            messages.error(request, exc.summary())
            return redirect(incident.get_absolute_url())
        else:
            messages.success(request, done)
            return redirect(incident.get_absolute_url())
    return _detail(request, incident, status=400, **{form_name: form})


@role_required(Role.RELEASE_MANAGER)
@require_POST
def transition(request, pk: int):
    return _act(
        request,
        pk,
        TransitionForm,
        "transition_form",
        lambda incident, data: incident_transition(
            incident=incident, to=data["to"], actor=request.user, summary=data["summary"]
        ),
        "The incident's status changed.",
    )


@role_required(Role.RELEASE_MANAGER)
@require_POST
def note(request, pk: int):
    return _act(
        request,
        pk,
        NoteForm,
        "note_form",
        lambda incident, data: incident_note_add(
            incident=incident, actor=request.user, text=data["text"]
        ),
        "Note added.",
    )


@role_required(Role.RELEASE_MANAGER)
@require_POST
def deployment(request, pk: int):
    incident = incident_get(pk=pk)
    deployments = Deployment.objects.select_related("environment").filter(
        environment__project=incident.project
    )

    def act(incident, data):
        chosen = deployments.filter(pk=data["deployment"]).first() if data["deployment"] else None
        incident_deployment_set(
            incident=incident, deployment=chosen, actor=request.user, reason=data["reason"]
        )

    return _act(
        request,
        pk,
        DeploymentChangeForm,
        "deployment_form",
        act,
        "The incident's deployment changed.",
        deployments=deployments.order_by("-created_at")[:200],
    )


@role_required(Role.RELEASE_MANAGER)
@require_POST
def security(request, pk: int):
    return _act(
        request,
        pk,
        SecurityForm,
        "security_form",
        lambda incident, data: incident_security_set(
            incident=incident,
            security=data["security"] == "yes",
            actor=request.user,
            reason=data["reason"],
        ),
        "The incident's classification changed.",
    )


@role_required(Role.RELEASE_MANAGER)
@require_POST
def postmortem(request, pk: int):
    return _act(
        request,
        pk,
        PostmortemForm,
        "postmortem_form",
        lambda incident, data: incident_postmortem_update(
            incident=incident, actor=request.user, postmortem=data["postmortem"]
        ),
        "Postmortem saved.",
    )


@role_required(Role.RELEASE_MANAGER)
@require_POST
def hotfix(request, pk: int):
    incident = incident_get(pk=pk)
    releases = _hotfixes(incident)

    def act(incident, data):
        release = next(r for r in releases if str(r.pk) == data["release"])
        incident_hotfix_set(incident=incident, release=release, actor=request.user)

    return _act(
        request, pk, HotfixForm, "hotfix_form", act, "Hotfix release linked.", releases=releases
    )


def _settings(request, project, *, form=None, policy_forms=None, status=200):
    """The settings page: the project's incident settings and its response matrix (one
    form per severity, each posting to its own URL)."""
    environments = list(Environment.objects.filter(project=project).order_by("order", "name"))
    if form is None:
        form = IncidentSettingsForm(initial=_settings_initial(project), environments=environments)
    users = list(audience_candidates())
    rows = []
    for policy in severity_matrix(project=project):
        bound = (policy_forms or {}).get(policy.severity)
        rows.append((policy, bound or _policy_form(policy, users)))
    context = {"project": project, "form": form, "matrix": rows}
    return render(request, "incidents/settings.html", context, status=status)


def _settings_initial(project) -> dict:
    return {
        "stakeholders_may_open": stakeholders_may_open(project=project),
        "auto_open": [
            str(pk)
            for pk in EnvironmentIncidentSetting.objects.filter(
                environment__project=project, open_on_failed_verification=True
            ).values_list("environment_id", flat=True)
        ],
    }


def _policy_form(policy, users, data=None) -> SeverityPolicyForm:
    initial = {
        "respond_minutes": policy.respond_minutes,
        "action": policy.action,
        "audience_roles": list(policy.audience_roles),
        "audience_users": [str(u.pk) for u in policy.audience_users.all()] if policy.pk else [],
        "escalate_after_minutes": policy.escalate_after_minutes,
        "max_escalations": policy.max_escalations,
    }
    return SeverityPolicyForm(data, initial=initial, users=users, prefix=policy.severity)


@role_required(Role.RELEASE_MANAGER)
@require_POST
def hotfix_start(request, pk: int):
    """Plan a hotfix release for this incident and link it (the critical banner's button
    and the incident page's): the new release's page, where its work starts."""
    incident = incident_get(pk=pk)
    try:
        release = incident_hotfix_start(incident=incident, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.summary())
        return redirect(incident.get_absolute_url())
    messages.success(request, f"Hotfix v{release.version} planned for incident #{incident.pk}.")
    return redirect(release.get_absolute_url())


@role_required(Role.ADMIN)
def settings_page(request, slug: str):
    """A project's incident settings (admins): who may open, where a failed verification
    opens one, and the severity matrix (saved by severity_edit)."""
    project = project_get(slug=slug)
    if request.method != "POST":
        return _settings(request, project)
    environments = list(Environment.objects.filter(project=project).order_by("order", "name"))
    form = IncidentSettingsForm(request.POST, environments=environments)
    if form.is_valid():
        chosen = [e for e in environments if str(e.pk) in form.cleaned_data["auto_open"]]
        incident_settings_update(
            project=project,
            actor=request.user,
            stakeholders_may_open=form.cleaned_data["stakeholders_may_open"],
            auto_open_environments=chosen,
        )
        messages.success(request, f"Incident settings of {project.name} saved.")
        return redirect("incidents:settings", slug=project.slug)
    return _settings(request, project, form=form, status=400)


@role_required(Role.ADMIN)
@require_POST
def severity_edit(request, slug: str, severity: str):
    """One row of the response matrix (admins); wrong input comes back on the page (400)."""
    project = project_get(slug=slug)
    if severity not in Severity.values:
        raise Http404("No such severity.")
    users = list(audience_candidates())
    policy = severity_policy(project=project, severity=severity)
    form = _policy_form(policy, users, data=request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            severity_policy_update(
                project=project,
                severity=severity,
                actor=request.user,
                respond_minutes=data["respond_minutes"],
                action=data["action"],
                audience_roles=data["audience_roles"],
                audience_users=[u for u in users if str(u.pk) in data["audience_users"]],
                escalate_after_minutes=data["escalate_after_minutes"],
                max_escalations=data["max_escalations"],
            )
        except ValidationFailed as exc:
            form_add_domain_errors(form, exc)
        else:
            label = Severity(severity).label
            messages.success(request, f"The {label.lower()} row of the matrix is saved.")
            return redirect("incidents:settings", slug=project.slug)
    return _settings(request, project, policy_forms={severity: form}, status=400)
