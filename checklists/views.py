"""Checklist pages: a release's checklists, ticked in place.

A mutation answers htmx with the fragment it changed, re-read from the database (so a
colleague's ticks show up too), and a plain request with a redirect. A refusal from a
service (DomainError) is a toast and a redirect, or for htmx the fragment with the
message in it: htmx does not swap 4xx answers, so those fragments are 200s.
"""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from checklists.forms import ItemUpdateForm
from checklists.models import ItemResult
from checklists.selectors import (
    checklist_get,
    checklist_item_get,
    release_checklists,
)
from checklists.services import checklist_item_update
from liftoff.errors import DomainError
from liftoff.roles import READ_ROLES, Role, has_role, role_required
from releases.selectors import release_closed_reason

# --- Context shared with the release page -----------------------------------------------


def release_checklists_context(*, user, release, phases=None) -> dict:
    """The release page's checklists section (two queries, or none if `phases` given)."""
    return {
        "checklist_phases": release_checklists(release=release) if phases is None else phases,
        "can_tick": has_role(user, {Role.RELEASE_MANAGER}) and not release_closed_reason(release),
        "result_choices": ItemResult.choices,
    }


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
    if request.htmx:
        context = _checklist_context(
            request, item.checklist, item.release, fragment=True, oob_phase=True, item_error=error
        )
        return render(request, "checklists/checklist.html#checklist_body", context)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"Saved “{item.title}”.")
    url = reverse("releases:release-detail", args=[item.release_id])
    return redirect(f"{url}#checklist-{item.checklist_id}")
