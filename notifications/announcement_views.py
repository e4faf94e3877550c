"""A release's announcements (everyone reads; release managers and admins edit, preview
and publish) and a project's notes and announcement templates (release managers and
admins)."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from liftoff.errors import DomainError
from liftoff.forms import form_add_domain_errors
from liftoff.markdown import render_markdown
from liftoff.roles import READ_ROLES, Role, has_role, role_required
from notifications.announcements import PLACEHOLDERS, fill, placeholder_problems
from notifications.forms import AnnouncementForm, AnnouncementTemplatesForm, NotesTemplateForm
from notifications.models import AnnouncementChannel, Tone
from notifications.selectors import (
    announcement_drafts,
    announcement_facts,
    announcement_templates_of,
)
from notifications.services import (
    announcement_publish,
    announcement_save,
    announcement_templates_update,
)
from releases.notes import sections_to_text
from releases.sections import release_page_tabs
from releases.selectors import notes_template_of, project_get, release_get
from releases.services import notes_template_update

MANAGERS = (Role.RELEASE_MANAGER,)  # and admins


def _page(request, release, *, tone: str = "", form=None, status: int = 200):
    """The announcements page; `form` (of `tone`) when a save or publish was refused."""
    rows = []
    for draft in announcement_drafts(release=release):
        mine = form if draft.tone == tone else None
        text = mine.data.get("markdown", "") if mine is not None else draft.text
        html = render_markdown(draft.markdown)
        rows.append({"draft": draft, "text": text, "form": mine, "html": html})
    context = {
        "release": release,
        "rows": rows,
        "channels": AnnouncementChannel.choices,
        "can_manage": has_role(request.user, MANAGERS),
        "tabs": release_page_tabs(release),
        "current_tab": "announcements",
    }
    return render(request, "notifications/announcements.html", context, status=status)


@role_required(*READ_ROLES)
@never_cache
def release_announcements(request, release_id: int):
    return _page(request, release_get(release_id=release_id))


def _act(request, release_id: int, tone: str, act, done: str):
    release = release_get(release_id=release_id)
    form = AnnouncementForm(request.POST)
    if form.is_valid():
        try:
            act(release, form.cleaned_data)
        except DomainError as exc:
            form_add_domain_errors(form, exc)
        else:
            messages.success(request, done)
            url = reverse("announcements:release", args=[release.pk])
            return redirect(f"{url}#tone-{tone}")
    return _page(request, release, tone=tone, form=form, status=400)


@role_required(*MANAGERS)
@require_POST
def save(request, release_id: int, tone: str):
    return _act(
        request,
        release_id,
        tone,
        lambda release, data: announcement_save(
            release=release, tone=tone, markdown=data["markdown"], actor=request.user
        ),
        "Draft saved.",
    )


@role_required(*MANAGERS)
@require_POST
def publish(request, release_id: int, tone: str):
    return _act(
        request,
        release_id,
        tone,
        lambda release, data: announcement_publish(
            release=release,
            tone=tone,
            markdown=data["markdown"],
            channels=data["channels"],
            actor=request.user,
        ),
        f"The {Tone(tone).label if tone in Tone.values else tone} announcement is published.",
    )


@role_required(*MANAGERS)
@require_POST
def preview(request, release_id: int, tone: str):
    """The live preview (htmx): the draft with the facts in, sanitised, and what is wrong
    with its placeholders."""
    release = release_get(release_id=release_id)
    if tone not in Tone.values:
        raise Http404("No such tone.")
    text = request.POST.get("markdown", "")
    context = {
        "tone": tone,
        "problems": placeholder_problems(text),
        "html": render_markdown(fill(text, announcement_facts(release=release))),
    }
    return render(request, "notifications/announcements.html#preview", context)


# --- The project's templates -----------------------------------------------------------
def _settings_page(request, project, *, notes_form=None, templates_form=None, status=200):
    if notes_form is None:
        template = notes_template_of(project=project)
        notes_form = NotesTemplateForm(
            initial={
                "sections": sections_to_text(template.sections),
                "quote": template.quote,
                "footer": template.footer,
                "contributors": template.contributors,
                "contributors_heading": template.contributors_heading,
            }
        )
    if templates_form is None:
        templates_form = AnnouncementTemplatesForm(
            initial=announcement_templates_of(project=project)
        )
    context = {
        "project": project,
        "notes_form": notes_form,
        "templates_form": templates_form,
        "placeholders": PLACEHOLDERS,
    }
    return render(request, "notifications/communication.html", context, status=status)


@role_required(*MANAGERS)
@never_cache
def communication(request, slug: str):
    """The notes template (POST here) and the announcement templates (POST to
    `communication-announcements`)."""
    project = project_get(slug=slug)
    if request.method != "POST":
        return _settings_page(request, project)
    form = NotesTemplateForm(request.POST)
    if form.is_valid():
        try:
            notes_template_update(project=project, actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            form_add_domain_errors(form, exc)
        else:
            messages.success(request, "Notes template saved: notes drafted from now on follow it.")
            return redirect("announcements:communication", slug=project.slug)
    return _settings_page(request, project, notes_form=form, status=400)


@role_required(*MANAGERS)
@require_POST
def communication_announcements(request, slug: str):
    project = project_get(slug=slug)
    form = AnnouncementTemplatesForm(request.POST)
    if form.is_valid():
        try:
            announcement_templates_update(
                project=project, actor=request.user, templates=form.cleaned_data
            )
        except DomainError as exc:
            form_add_domain_errors(form, exc)
        else:
            messages.success(request, "Announcement templates saved.")
            return redirect("announcements:communication", slug=project.slug)
    return _settings_page(request, project, templates_form=form, status=400)
