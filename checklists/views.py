"""Checklist pages: a release's checklists, ticked in place.

A mutation answers htmx with the fragment it changed, re-read from the database (so a
colleague's ticks show up too), and a plain request with a redirect. A refusal from a
service (DomainError) is a toast and a redirect, or for htmx the fragment with the
message in it: htmx does not swap 4xx answers, so those fragments are 200s.

Every htmx answer to a change carries `HX-Trigger: liftoff:release-changed`
(`RELEASE_CHANGED`): the release page listens for it to refresh what blocks the release.
"""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import trigger_client_event

from checklists.forms import CompleteAllForm, ItemUpdateForm
from checklists.models import ItemResult
from checklists.selectors import (
    checklist_get,
    checklist_item_get,
    release_checklists,
)
from checklists.services import checklist_complete_all, checklist_item_update
from liftoff.errors import DomainError
from liftoff.forms import form_add_domain_errors
from liftoff.roles import READ_ROLES, Role, has_role, role_required
from releases.sections import release_page_tabs
from releases.selectors import release_closed_reason, release_get

# The client event a checklist change sends (the release page refreshes its blockers).
RELEASE_CHANGED = "liftoff:release-changed"

# --- Context shared with the release page -----------------------------------------------


def release_checklists_context(*, user, release, phases=None) -> dict:
    """The release page's checklists section (two queries, or none if `phases` given):
    the phases worked on now first, then the others in the order they block the release."""
    if phases is None:
        phases = release_checklists(release=release)
    return {
        "checklist_phases": sorted(phases, key=lambda phase: not phase.current),
        "can_tick": has_role(user, {Role.RELEASE_MANAGER}) and not release_closed_reason(release),
        "result_choices": ItemResult.choices,
    }


@role_required(*READ_ROLES)
def release_checklists_page(request, release_id: int):
    """A release's checklists as a page of their own (a tab of the release's pages)."""
    release = release_get(release_id=release_id)
    context = {
        **release_checklists_context(user=request.user, release=release),
        "release": release,
        "tabs": release_page_tabs(release),
        "current_tab": "checklists:release-checklists",
    }
    return render(request, "checklists/release_checklists_page.html", context)


def _checklist_context(request, checklist, release, **extra) -> dict:
    phases = release_checklists(release=release)
    phase = next(p for p in phases if p.phase == checklist.phase)
    view = next(c for c in phase.checklists if c.checklist.pk == checklist.pk)
    context = release_checklists_context(user=request.user, release=release, phases=phases)
    return {**context, "release": release, "cl": view, "phase": phase, **extra}


# --- Checklists -------------------------------------------------------------------------


@role_required(*READ_ROLES)
@vary_on_headers("HX-Request")
def checklist_fragment(request, checklist_id: int):
    checklist = checklist_get(checklist_id=checklist_id)
    template = "checklists/checklist.html" + ("#checklist" if request.htmx else "")
    context = _checklist_context(request, checklist, checklist.release, fragment=True)
    return render(request, template, context)


def _changed_answer(request, checklist, release, *, changed: bool, **extra):
    """The answer to a change: for htmx the checklist's body (re-read) with the phase's
    progress out of band, and the release-changed event if something changed; else a
    redirect back to the checklist on the release page (messages say what happened)."""
    if request.htmx:
        context = _checklist_context(
            request, checklist, release, fragment=True, oob_phase=True, **extra
        )
        response = render(request, "checklists/checklist.html#checklist_body", context)
        return trigger_client_event(response, RELEASE_CHANGED) if changed else response
    url = reverse("releases:release-detail", args=[release.pk])
    return redirect(f"{url}#checklist-{checklist.pk}")


@role_required(Role.RELEASE_MANAGER)
@require_POST
def item_update(request, item_id: int):
    item = checklist_item_get(item_id=item_id)
    form = ItemUpdateForm(request.POST)
    form.is_valid()  # Every field is optional text: the service judges the values.
    error = None
    if changes := form.changes():
        try:
            checklist_item_update(item=item, actor=request.user, **changes)
        except DomainError as exc:
            error = exc.summary()
    if not request.htmx:
        messages.add_message(
            request,
            messages.ERROR if error else messages.SUCCESS,
            error or f"Saved “{item.title}”.",
        )
    return _changed_answer(
        request,
        item.checklist,
        item.release,
        changed=bool(changes) and not error,
        item_error=error,
    )


@role_required(Role.RELEASE_MANAGER)
@require_POST
def checklist_complete(request, checklist_id: int):
    """ "Mark all done": every open check item of the checklist, with one optional note."""
    checklist = checklist_get(checklist_id=checklist_id)
    form = CompleteAllForm(request.POST)
    ticked = []
    if form.is_valid():
        try:
            ticked = checklist_complete_all(
                checklist=checklist, actor=request.user, note=form.cleaned_data["note"]
            )
        except DomainError as exc:
            form_add_domain_errors(form, exc)
    if form.errors:
        error = " ".join([*form.non_field_errors(), *form.errors.get("note", [])])
        messages.error(request, f"“{checklist.name}” was not marked done: {error}")
    elif ticked:
        items = f"{len(ticked)} item{pluralize(len(ticked))}"
        messages.success(request, f"Marked {items} of “{checklist.name}” done.")
    else:
        messages.info(request, f"Every check of “{checklist.name}” was done already.")
    # The form goes back only with its errors (and what was typed); after a success the
    # note field is empty again.
    return _changed_answer(
        request,
        checklist,
        checklist.release,
        changed=bool(ticked),
        complete_form=form if form.errors else None,
    )
