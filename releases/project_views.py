from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from liftoff.errors import DomainError, ValidationFailed
from liftoff.forms import form_add_domain_errors
from liftoff.roles import READ_ROLES, Role, role_required
from releases.forms import ProjectForm, SecurityPatternsForm
from releases.selectors import (
    project_cadence,
    project_get,
    project_latest_sync,
    project_list,
    project_refs,
    project_releases,
)
from releases.services import project_create, project_security_patterns_set, project_sync
from runs.views import progress_context


@role_required(*READ_ROLES)
def project_index(request):
    return render(request, "releases/projects.html", {"projects": project_list()})


@role_required(*READ_ROLES)
def project_detail(request, slug: str):
    project = project_get(slug=slug)
    sync_run = project_latest_sync(project=project)
    releases = project_releases(project=project)
    context = {
        "project": project,
        "refs": project_refs(project=project),
        "releases": releases,
        "cadence": project_cadence(project=project, releases=releases),
    }
    if sync_run:
        context.update(progress_context(sync_run, user=request.user, compact=True))
    return render(request, "releases/project_detail.html", context)


@role_required(*READ_ROLES)
def project_refs_fragment(request, slug: str):
    """The refs section alone: reloaded when a sync run on the page finishes."""
    project = project_get(slug=slug)
    context = {"project": project, "refs": project_refs(project=project)}
    return render(request, "releases/project_detail.html#refs", context)


@role_required(Role.RELEASE_MANAGER)
@require_POST
def project_sync_view(request, slug: str):
    project = project_get(slug=slug)
    try:
        run = project_sync(project=project, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.summary())
        run = project_latest_sync(project=project)
    else:
        messages.success(request, f"Sync of {project.name} started (run #{run.pk}).")
    if request.htmx and run:
        context = progress_context(run, user=request.user, compact=True)
        return render(request, "components/run_progress.html", context)
    return redirect("releases:project-detail", slug=project.slug)


@role_required(Role.ADMIN)
def project_new(request):
    form = ProjectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            project = project_create(actor=request.user, **form.cleaned_data)
        except ValidationFailed as exc:
            form_add_domain_errors(form, exc)
        else:
            messages.success(request, f"Project “{project.name}” created.")
            return redirect("releases:project-detail", slug=project.slug)
    status = 400 if request.method == "POST" else 200
    return render(request, "releases/project_new.html", {"form": form}, status=status)


@role_required(Role.ADMIN)
def project_impact_settings(request, slug: str):
    """The project's security-sensitive path patterns, which each release's change impact
    calls out (admins)."""
    project = project_get(slug=slug)
    initial = {"patterns": "\n".join(project.security_patterns)}
    form = SecurityPatternsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            project_security_patterns_set(
                project=project, actor=request.user, patterns=form.cleaned_data["patterns"]
            )
        except ValidationFailed as exc:
            form_add_domain_errors(form, exc)
        else:
            messages.success(request, "Saved: releases analysed from now on use these patterns.")
            return redirect("releases:impact-settings", slug=project.slug)
    status = 400 if request.method == "POST" else 200
    context = {"project": project, "form": form}
    return render(request, "releases/impact_settings.html", context, status=status)
