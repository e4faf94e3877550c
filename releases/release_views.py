"""Release pages: list, new (with the proposal), detail, phase moves, prepare, ship, notes."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from liftoff.audit import audit_for_object
from liftoff.errors import Conflict, DomainError
from liftoff.forms import form_add_domain_errors
from liftoff.markdown import render_markdown
from liftoff.roles import READ_ROLES, Role, role_required
from releases.forms import NotesForm, ReleaseFilterForm, ReleaseForm
from releases.models import RELEASE_PHASES, RELEASE_TRANSITIONS, ReleaseStatus
from releases.policy import policy_snapshot, release_blockers
from releases.sections import release_sections
from releases.selectors import (
    project_latest_sync,
    project_list,
    release_get,
    release_latest_run,
    release_list,
)
from releases.services import (
    release_create,
    release_notes_update,
    release_prepare,
    release_proposal,
    release_ship,
    release_transition,
)
from runs.views import progress_context


@role_required(*READ_ROLES)
def release_index(request):
    projects = list(project_list())
    form = ReleaseFilterForm(request.GET or None, projects=projects)
    f = form.cleaned_data if form.is_valid() else {}
    releases = release_list(
        project_slug=f.get("project", ""),
        status=f.get("status", ""),
        release_type=f.get("type", ""),
        query=f.get("q", ""),
        date_from=f.get("date_from"),
        date_to=f.get("date_to"),
    )
    page = Paginator(releases, 25).get_page(request.GET.get("page"))
    return render(
        request, "releases/index.html", {"form": form, "page": page, "projects": projects}
    )


def _new_form(request, data=None):
    """The plan form with the proposal, or, before the project's first sync has finished,
    why there is none yet and that sync's live progress (the form reloads when it ends)."""
    projects = project_list()
    project = projects.filter(slug=request.GET.get("project") or "").first() or projects.first()
    proposal, context = None, {}
    if project:
        try:
            proposal = release_proposal(
                project=project, release_type=request.GET.get("type") or None
            )
        except Conflict as exc:
            context["waiting"] = {"project": project, "missing": exc.extra.get("missing", [])}
            if run := project_latest_sync(project=project):
                context.update(progress_context(run))
    initial = {"project": project.slug if project else None}
    if proposal:
        initial.update(
            type=proposal["type"], version=proposal["version"], codename=proposal["codename"]
        )
    form = ReleaseForm(data, initial=initial, projects=projects)
    return form, {"form": form, "proposal": proposal, **context}


@role_required(Role.RELEASE_MANAGER)
def release_new(request):
    form, context = _new_form(request, request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            release = release_create(
                actor=request.user,
                project=data["project"],
                release_type=data["type"],
                version=data["version"],
                codename=data["codename"],
                summary=data["summary"],
                target_date=data["target_date"],
            )
        except DomainError as exc:
            form_add_domain_errors(form, exc)
        else:
            messages.success(request, f"Release v{release.version} planned.")
            return redirect("releases:release-detail", release_id=release.pk)
    template = "releases/release_new.html#form" if request.htmx else "releases/release_new.html"
    status = 400 if request.method == "POST" else 200
    return render(request, template, context, status=status)


# While a release is in these phases, the page lists what blocks the next one.
_BLOCKERS_FOR = {
    ReleaseStatus.VALIDATING: ReleaseStatus.READY,
    ReleaseStatus.STAGING: ReleaseStatus.PRODUCTION,
}


def _detail_context(release, user):
    """The page, its sections (gates, checklists, …: registered by their apps) and what
    blocks the next phase, all read once inside one policy snapshot."""
    run = release_latest_run(release=release)
    blocked_to = _BLOCKERS_FOR.get(release.status)
    with policy_snapshot():
        section_templates, context = release_sections(user=user, release=release)
        blockers = release_blockers(release=release, to=blocked_to) if blocked_to else []
    context.update(
        {
            "section_templates": section_templates,
            "blocked_to": blocked_to,
            "blockers": blockers,
            "release": release,
            "phases": RELEASE_PHASES,
            "phase_index": RELEASE_PHASES.index(release.status)
            if release.status in RELEASE_PHASES
            else -1,
            "next_phases": [ReleaseStatus(s) for s in sorted(RELEASE_TRANSITIONS[release.status])],
            "notes_html": render_markdown(release.notes),
            "events": audit_for_object(object_type="releases.release", object_id=release.pk),
        }
    )
    if run:
        context.update(progress_context(run))
    return context


@role_required(*READ_ROLES)
def release_detail(request, release_id: int):
    release = release_get(release_id=release_id)
    return render(request, "releases/release_detail.html", _detail_context(release, request.user))


def _act(request, release, action, success):
    try:
        result = action()
    except DomainError as exc:
        messages.error(request, exc.summary())
    else:
        messages.success(request, success(result))
    return redirect("releases:release-detail", release_id=release.pk)


@role_required(Role.RELEASE_MANAGER)
@require_POST
def release_prepare_view(request, release_id: int):
    release = release_get(release_id=release_id)
    return _act(
        request,
        release,
        lambda: release_prepare(release=release, actor=request.user),
        lambda run: f"Preparing v{release.version} (run #{run.pk}).",
    )


@role_required(Role.RELEASE_MANAGER)
@require_POST
def release_ship_view(request, release_id: int):
    release = release_get(release_id=release_id)
    return _act(
        request,
        release,
        lambda: release_ship(release=release, actor=request.user),
        lambda run: f"Tagging v{release.version} (run #{run.pk}).",
    )


@role_required(Role.RELEASE_MANAGER)
@require_POST
def release_transition_view(request, release_id: int):
    release = release_get(release_id=release_id)
    to = request.POST.get("to", "")
    return _act(
        request,
        release,
        lambda: release_transition(release=release, to=to, actor=request.user),
        lambda r: f"v{r.version} is now {r.get_status_display().lower()}.",
    )


@role_required(Role.RELEASE_MANAGER)
def release_notes_edit(request, release_id: int):
    release = release_get(release_id=release_id)
    form = NotesForm(request.POST or None, initial={"markdown": release.notes})
    if request.method == "POST" and form.is_valid():
        release_notes_update(
            release=release, actor=request.user, markdown=form.cleaned_data["markdown"]
        )
        messages.success(request, "Release notes saved.")
        return redirect("releases:release-detail", release_id=release.pk)
    return render(
        request,
        "releases/release_notes_edit.html",
        {"release": release, "form": form, "preview": render_markdown(release.notes)},
    )


@role_required(Role.RELEASE_MANAGER)
@require_POST
def release_notes_preview(request, release_id: int):
    release_get(release_id=release_id)
    return render(
        request,
        "releases/release_notes_edit.html#preview",
        {"preview": render_markdown(request.POST.get("markdown", ""))},
    )


@role_required(*READ_ROLES)
def release_notes_download(request, release_id: int):
    release = release_get(release_id=release_id)
    response = HttpResponse(release.notes, content_type="text/markdown; charset=utf-8")
    filename = f"{release.project.slug}-v{release.version}-release-notes.md"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
