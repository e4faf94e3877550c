"""A shipped release's retrospective: the project's questions, the team's answers (one per
question and person), the action items; and the project's editable questions."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from liftoff.errors import DomainError, NotAllowed
from liftoff.forms import form_add_domain_errors
from liftoff.roles import READ_ROLES, Role, has_role, role_required
from releases.forms import ActionItemForm, ActionItemStatusForm, RetroAnswerForm, RetroTemplateForm
from releases.models import ActionItemStatus
from releases.retro import retro_groups_to_text
from releases.sections import release_page_tabs
from releases.selectors import (
    action_item_get,
    project_get,
    release_get,
    retro_template_groups,
    retrospective_is_open,
    retrospective_view,
)
from releases.services import (
    action_item_create,
    action_item_may_change,
    action_item_set_status,
    retro_answer_save,
    retro_template_update,
)

MANAGERS = (Role.RELEASE_MANAGER,)


def _owners():
    """Who may own an action item: every active user with a role."""
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(groups__name__in=[r.value for r in Role]))
        .distinct()
        .order_by("username")
    )


def _page(request, release, *, answer_error=None, action_form=None, status=200):
    user = request.user
    context = {
        "release": release,
        "tabs": release_page_tabs(release),
        "current_tab": "releases:release-retrospective",
        "is_open": retrospective_is_open(release),
        "may_manage": has_role(user, MANAGERS),
        "answer_error": answer_error or {},
        "statuses": ActionItemStatus.choices,
    }
    if context["is_open"]:
        context.update(retrospective_view(release=release, user=user))
        for item in context["action_items"]:
            item.may_change = action_item_may_change(item=item, user=user)
        if context["may_manage"]:
            context["action_form"] = action_form or ActionItemForm(owners=_owners())
    return render(request, "releases/retrospective.html", context, status=status)


@role_required(*READ_ROLES)
@never_cache
def retrospective(request, release_id: int):
    return _page(request, release_get(release_id=release_id))


@role_required(*READ_ROLES)
@require_POST
def retrospective_answer(request, release_id: int):
    """Anyone signed in with a role answers; answering again edits, empty withdraws."""
    release = release_get(release_id=release_id)
    form = RetroAnswerForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            retro_answer_save(
                release=release, actor=request.user, question=data["question"], text=data["text"]
            )
        except DomainError as exc:
            form_add_domain_errors(form, exc)
        else:
            messages.success(request, "Your answer is saved.")
            return redirect("releases:release-retrospective", release_id=release.pk)
    errors = [e for field_errors in form.errors.values() for e in field_errors]
    answer_error = {
        "question": request.POST.get("question", ""),
        "text": request.POST.get("text", ""),
        "errors": errors,
    }
    messages.error(request, "Your answer is not saved: " + " ".join(errors))
    return _page(request, release, answer_error=answer_error, status=400)


@role_required(*MANAGERS)
@require_POST
def action_item_new(request, release_id: int):
    release = release_get(release_id=release_id)
    form = ActionItemForm(request.POST, owners=_owners())
    if form.is_valid():
        try:
            action_item_create(release=release, actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            form_add_domain_errors(form, exc)
        else:
            messages.success(request, "Action item added.")
            return redirect("releases:release-retrospective", release_id=release.pk)
    messages.error(request, "The action item is not added: see the form.")
    return _page(request, release, action_form=form, status=400)


@role_required(*READ_ROLES)
@require_POST
def action_item_status(request, release_id: int, pk: int):
    """The owner, or a release manager, moves an item (the service decides who may)."""
    release = release_get(release_id=release_id)
    item = action_item_get(release=release, pk=pk)
    form = ActionItemStatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a status from the list.")
        return _page(request, release, status=400)
    try:
        action_item_set_status(item=item, actor=request.user, status=form.cleaned_data["status"])
    except DomainError as exc:
        messages.error(request, exc.message)
        return _page(request, release, status=403 if isinstance(exc, NotAllowed) else 409)
    messages.success(request, f"“{item.title}” is now {item.get_status_display().lower()}.")
    return redirect("releases:release-retrospective", release_id=release.pk)


@role_required(*MANAGERS)
@never_cache
def retro_template_edit(request, slug: str):
    """The project's retrospective questions (release managers and admins)."""
    project = project_get(slug=slug)
    if request.method == "POST":
        form = RetroTemplateForm(request.POST)
        if form.is_valid():
            try:
                retro_template_update(project=project, actor=request.user, **form.cleaned_data)
            except DomainError as exc:
                form_add_domain_errors(form, exc)
            else:
                messages.success(
                    request, "Questions saved: retrospectives begun from now ask them."
                )
                return redirect("releases:retro-template", slug=project.slug)
        status = 400
    else:
        text = retro_groups_to_text(retro_template_groups(project=project))
        form, status = RetroTemplateForm(initial={"text": text}), 200
    context = {"project": project, "form": form}
    return render(request, "releases/retro_template.html", context, status=status)
