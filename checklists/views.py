"""Checklist ticking, gates, approvals and validation pages.

A mutation answers htmx with the fragment it changed, re-read from the database (so a
colleague's ticks show up too), and a plain request with a redirect. A refusal from a
service (DomainError) is a toast and a redirect, or for htmx the fragment with the
message in it: htmx does not swap 4xx answers, so those fragments are 200s.
"""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from checklists.forms import DecisionForm, ItemUpdateForm, WaiverForm, safe_next
from checklists.models import GateKind, GateStatus, ItemResult
from checklists.selectors import (
    approvals_waiting,
    approvals_waiting_count,
    checklist_get,
    checklist_item_get,
    gate_get_by_id,
    release_checklists,
    release_gates,
    releases_checklist_progress,
)
from checklists.services import (
    approval_record,
    checklist_item_update,
    release_validate,
    waiver_grant,
    waiver_revoke,
)
from liftoff.errors import DomainError
from liftoff.roles import READ_ROLES, Role, has_role, role_required
from releases.selectors import release_get

_CLOSED = {"cancelled", "rolled_back"}
_WAIVABLE = {GateStatus.FAILED, GateStatus.NOT_MEASURED}


def _refusal(exc: DomainError) -> str:
    """The service's message with its field errors and what is missing, as one line."""
    details = [error for errors in exc.errors.values() for error in errors]
    return " ".join([exc.message, *details, *(exc.extra.get("missing") or [])])


# --- Context shared with the release page -----------------------------------------------


def release_checklists_context(*, user, release, phases=None) -> dict:
    """The release page's checklists section (two queries, or none if `phases` given)."""
    return {
        "checklist_phases": release_checklists(release=release) if phases is None else phases,
        "can_tick": has_role(user, {Role.RELEASE_MANAGER}) and release.status not in _CLOSED,
        "result_choices": ItemResult.choices,
    }


def gate_rows(*, user, release, gates) -> list[dict]:
    """Each gate's view with what this user may do about it (no query)."""
    may = release.status not in _CLOSED and user.pk != release.release_manager_id
    rows = []
    for view in gates:
        allowed = may and has_role(user, {view.gate.approver_role})
        rows.append(
            {
                "view": view,
                "mine": view.decided_by(user),
                "can_decide": allowed and view.gate.kind == GateKind.MANUAL,
                "can_waive": allowed and view.gate.is_automated and view.status in _WAIVABLE,
                "can_revoke": allowed and view.waiver is not None,
            }
        )
    return rows


def release_gates_context(*, user, release, gates=None) -> dict:
    gates = release_gates(release=release) if gates is None else gates
    return {"release": release, "gate_rows": gate_rows(user=user, release=release, gates=gates)}


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
            error = _refusal(exc)
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


# --- Gates ------------------------------------------------------------------------------


def _release_and_gate(release_id: int, gate_id: int):
    release = release_get(release_id=release_id)
    gate = gate_get_by_id(gate_id=gate_id)
    if gate.project_id != release.project_id:
        raise Http404("No such gate for this release.")
    return release, gate


def _gate_answer(request, release, action, success, next_url):
    """Run a gate action; answer htmx with the gates fragment, others with a redirect."""
    try:
        action()
    except DomainError as exc:
        error, done = _refusal(exc), None
    else:
        error, done = None, success
    if request.htmx:
        if done:
            messages.success(request, done)
        context = release_gates_context(user=request.user, release=release)
        return render(
            request,
            "checklists/release_gates.html#gates",
            {**context, "gate_error": error, "fragment": True},
        )
    messages.add_message(request, messages.ERROR if error else messages.SUCCESS, error or done)
    back = reverse("releases:release-detail", args=[release.pk]) + "#release-gates"
    return redirect(safe_next(request, next_url) or back)


@role_required(*READ_ROLES)
@vary_on_headers("HX-Request")
def release_gates_fragment(request, release_id: int):
    release = release_get(release_id=release_id)
    template = "checklists/release_gates.html" + ("#gates" if request.htmx else "")
    context = release_gates_context(user=request.user, release=release)
    return render(request, template, {**context, "fragment": True})


# A gate names the role that signs it (approver by default, or release manager, or
# admin): the service checks that role; the page only keeps read-only users out.
@role_required(Role.APPROVER, Role.RELEASE_MANAGER)
@require_POST
def gate_approve(request, release_id: int, gate_id: int):
    release, gate = _release_and_gate(release_id, gate_id)
    form = DecisionForm(request.POST)
    form.is_valid()
    data = form.cleaned_data
    verb = "Approved" if data["decision"] == "approve" else "Rejected"
    return _gate_answer(
        request,
        release,
        lambda: approval_record(
            release=release,
            gate=gate,
            actor=request.user,
            decision=data["decision"],
            comment=data["comment"],
        ),
        f"{verb} “{gate.name}” for v{release.version}.",
        data["next"],
    )


@role_required(Role.APPROVER, Role.RELEASE_MANAGER)
@require_POST
def gate_waive(request, release_id: int, gate_id: int):
    release, gate = _release_and_gate(release_id, gate_id)
    form = WaiverForm(request.POST)
    form.is_valid()
    return _gate_answer(
        request,
        release,
        lambda: waiver_grant(
            release=release, gate=gate, actor=request.user, reason=form.cleaned_data["reason"]
        ),
        f"Waived “{gate.name}” for v{release.version}.",
        form.cleaned_data["next"],
    )


@role_required(Role.APPROVER, Role.RELEASE_MANAGER)
@require_POST
def gate_waiver_revoke(request, release_id: int, gate_id: int):
    release, gate = _release_and_gate(release_id, gate_id)
    form = WaiverForm(request.POST)
    form.is_valid()
    return _gate_answer(
        request,
        release,
        lambda: waiver_revoke(release=release, gate=gate, actor=request.user),
        f"Revoked the waiver of “{gate.name}” for v{release.version}.",
        form.cleaned_data["next"],
    )


@role_required(*READ_ROLES)
def gate_evidence(request, release_id: int, gate_id: int):
    release, gate = _release_and_gate(release_id, gate_id)
    (view,) = release_gates(release=release, gates=[gate])
    row = gate_rows(user=request.user, release=release, gates=[view])[0]
    context = {"release": release, "view": view, "row": row, "next": request.path}
    return render(request, "checklists/gate_evidence.html", context)


# --- Validation and approvals -----------------------------------------------------------


@role_required(Role.RELEASE_MANAGER)
@require_POST
def release_validate_view(request, release_id: int):
    """Like Prepare: the release page shows the new run's live progress at its top."""
    release = release_get(release_id=release_id)
    try:
        run = release_validate(release=release, actor=request.user)
    except DomainError as exc:
        messages.error(request, _refusal(exc))
    else:
        messages.success(request, f"Validating v{release.version} (run #{run.pk}).")
    return redirect("releases:release-detail", release_id=release.pk)


def _by_release(waiting, user) -> list[dict]:
    """Group what waits by release, in the selector's order, with each release's progress."""
    progress = releases_checklist_progress(release_ids={w.release.pk for w in waiting})
    groups: dict[int, dict] = {}
    for entry in waiting:
        release = entry.release
        group = groups.setdefault(
            release.pk, {"release": release, "progress": progress.get(release.pk), "rows": []}
        )
        group["rows"] += gate_rows(user=user, release=release, gates=[entry.view])
    return list(groups.values())


@role_required(*READ_ROLES)
def approvals(request):
    waiting = approvals_waiting(user=request.user)
    context = {"groups": _by_release(waiting, request.user), "next": request.path}
    if has_role(request.user, {Role.APPROVER}):
        # The navigation's count from the list already read (the context processor's
        # lazy count is then never evaluated: five queries saved).
        context["approvals_waiting"] = approvals_waiting_count(user=request.user, waiting=waiting)
    return render(request, "checklists/approvals.html", context)
