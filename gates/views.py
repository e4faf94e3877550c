"""Gate, approval and validation pages.

A gate action answers htmx with the gates fragment re-read from the database (so a
colleague's sign-off shows up too), and a plain request with a redirect. A refusal from
a service (DomainError) is a toast and a redirect, or for htmx the fragment with the
message in it: htmx does not swap 4xx answers, so those fragments are 200s.
"""

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import trigger_client_event

# The approvals page shows each release's checklist progress beside what waits: the one
# read of checklists/ that gates/ makes (checklists/ never imports gates/, so no cycle).
from checklists.selectors import releases_checklist_progress
from gates.approvals_sections import approvals_sections
from gates.forms import DecisionForm, WaiverForm, safe_next
from gates.models import GateKind, GateStatus
from gates.reports import coverage_summary
from gates.selectors import (
    APPROVALS_UPCOMING,
    approvals_waiting,
    approvals_waiting_count,
    gate_get_by_id,
    gate_result_get,
    may_sign,
    release_gates,
    release_judgement,
    waiver_problem,
)
from gates.services import (
    VALIDATABLE,
    approval_record,
    release_validate,
    waiver_grant,
    waiver_revoke,
)
from liftoff.errors import DomainError
from liftoff.roles import READ_ROLES, Role, role_required
from releases.sections import release_page_tabs
from releases.selectors import release_get

# The htmx event a change of what blocks a release sends (approve, reject, waive, revoke).
RELEASE_CHANGED = "liftoff:release-changed"


# --- Context shared with the release page -----------------------------------------------


def gate_rows(*, user, release, gates) -> list[dict]:
    """Each gate's view with what this user may do about it (no query): the buttons
    show only where `may_sign` (the services' own rule) lets the user sign."""
    rows = []
    for view in gates:
        allowed = may_sign(user=user, release=release, gate=view.gate)
        rows.append(
            {
                "view": view,
                # Before validation a manual gate's sign-off is not asked for yet.
                "upcoming": view.gate.kind == GateKind.MANUAL
                and view.status == GateStatus.PENDING
                and release.status in APPROVALS_UPCOMING,
                "mine": view.decided_by(user),
                "can_decide": allowed and view.gate.kind == GateKind.MANUAL,
                "can_waive": allowed and waiver_problem(release=release, view=view) is None,
                "can_revoke": allowed and view.waiver is not None,
            }
        )
    return rows


def release_gates_context(*, user, release, gates=None) -> dict:
    """A release no longer in flight shows the gates it was judged by, as recorded then
    (`release_judgement`); one in flight shows the project's gates as they are now."""
    if gates is None and (judgement := release_judgement(release=release)):
        return {"release": release, "gate_rows": [], "gate_judgement": judgement}
    gates = release_gates(release=release) if gates is None else gates
    return {
        "release": release,
        "gate_rows": gate_rows(user=user, release=release, gates=gates),
        "validatable_phases": VALIDATABLE,
    }


# --- Gates ------------------------------------------------------------------------------


def _release_and_gate(release_id: int, gate_id: int):
    release = release_get(release_id=release_id)
    gate = gate_get_by_id(gate_id=gate_id)
    if gate.project_id != release.project_id:
        raise Http404("No such gate for this release.")
    return release, gate


def _gate_answer(request, release, action, success, next_url, gate=None):
    """Run a gate action; answer htmx with the gates fragment, others with a redirect.
    A refusal about a field of `gate`'s form (a waiver's reason) is shown beside that
    field, with what was typed kept."""
    field_errors = {}
    try:
        action()
    except DomainError as exc:
        error, done = exc.summary(), None
        if request.htmx and gate is not None and exc.errors:
            error, field_errors = exc.message, exc.errors
    else:
        error, done = None, success
    if request.htmx:
        if done:
            messages.success(request, done)
        context = release_gates_context(user=request.user, release=release)
        response = render(
            request,
            "gates/release_gates.html#gates",
            {
                **context,
                "gate_error": error,
                "fragment": True,
                "error_gate_id": gate.pk if field_errors else None,
                "error_fields": field_errors,
                "typed": request.POST,
            },
        )
        if done:
            # What blocks the release may have changed: the release page refreshes its
            # blockers panel on this event (nothing changed after a refusal).
            trigger_client_event(response, RELEASE_CHANGED, {"release": release.pk})
        return response
    messages.add_message(request, messages.ERROR if error else messages.SUCCESS, error or done)
    back = reverse("releases:release-detail", args=[release.pk]) + "#release-gates"
    return redirect(safe_next(request, next_url) or back)


@role_required(*READ_ROLES)
@vary_on_headers("HX-Request")
def release_gates_fragment(request, release_id: int):
    release = release_get(release_id=release_id)
    template = "gates/release_gates.html" + ("#gates" if request.htmx else "")
    context = release_gates_context(user=request.user, release=release)
    tabs = {"tabs": release_page_tabs(release), "current_tab": "gates:release-gates"}
    # The gates page offers Validate itself; on the release page the action bar does.
    standalone = not request.htmx
    return render(
        request, template, {**context, **tabs, "fragment": True, "standalone": standalone}
    )


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
        gate=gate,
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
def gate_result_report(request, release_id: int, gate_id: int, result_id: int):
    """A result's report as the tool wrote it (or its stored start), as plain text: the
    evidence page summarises it and links here."""
    release, gate = _release_and_gate(release_id, gate_id)
    result = gate_result_get(release=release, gate=gate, result_id=result_id)
    response = HttpResponse(result.report, content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = "inline"
    return response


@role_required(*READ_ROLES)
def gate_evidence(request, release_id: int, gate_id: int):
    release, gate = _release_and_gate(release_id, gate_id)
    (view,) = release_gates(release=release, gates=[gate], reports=True)
    row = gate_rows(user=request.user, release=release, gates=[view])[0]
    context = {"release": release, "view": view, "row": row, "next": request.path}
    if judgement := release_judgement(release=release, reports=True):
        context.update(judgement=judgement, judged=judgement.by_gate.get(gate.pk))
    shown = view.result or view.older_result
    if shown is not None and shown.report:
        context["coverage"] = coverage_summary(shown.report)
    return render(request, "gates/gate_evidence.html", context)


# --- Validation and approvals -----------------------------------------------------------


@role_required(Role.RELEASE_MANAGER)
@require_POST
def release_validate_view(request, release_id: int):
    """Like Prepare: the release page shows the new run's live progress at its top."""
    release = release_get(release_id=release_id)
    try:
        run = release_validate(release=release, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.summary())
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
    # What apps above gates ask approvers for (deployments: emergency changes to review).
    context["sections"] = approvals_sections(user=request.user)
    # The navigation's count from the list already read (the context processor's lazy
    # count is then never evaluated): the same number as the rows below, by construction.
    context["approvals_waiting"] = approvals_waiting_count(user=request.user, waiting=waiting)
    return render(request, "gates/approvals.html", context)
