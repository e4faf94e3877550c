"""Project configuration pages: quality gates and validation commands.

Every role reads them (the team sees the rules its releases follow); only admins edit.
Each page first finds the project (404 for an unknown slug), then the row inside that
project (404 for a row of another project), then calls one service.
"""

from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from gates.config_forms import GateForm, LicencePolicyForm, ValidationCommandForm
from gates.licences import DEFAULT_ALLOWED
from gates.models import GateKind
from gates.selectors import (
    gate_signer_role,
    project_allowed_licences,
    project_gates,
    project_validation_commands,
)
from gates.services import (
    gate_delete,
    gate_save,
    licence_policy_save,
    validation_command_delete,
    validation_command_save,
)
from liftoff.forms import delete_page, form_save
from liftoff.roles import READ_ROLES, ROLE_LABELS, Role, role_required
from releases.selectors import project_get


def _gate_get(project, gate_id):
    return get_object_or_404(project.quality_gates, pk=gate_id)


def _command_get(project, command_id):
    return get_object_or_404(project.validation_commands, pk=command_id)


def _form_page(request, name, context, form):
    status = 400 if request.method == "POST" else 200
    return render(request, f"gates/{name}", {**context, "form": form}, status=status)


# --- Quality gates ----------------------------------------------------------------------


def _gate_requirement(gate) -> str:
    if gate.kind == GateKind.AUTOMATED:
        return gate.threshold_label or "no threshold"
    role = ROLE_LABELS[gate_signer_role(gate)].lower()
    plural = "s" if gate.required_approvals != 1 else ""
    return f"{gate.required_approvals} approval{plural} from {role}"


@role_required(*READ_ROLES)
def gate_index(request, slug: str):
    project = project_get(slug=slug)
    gates = project_gates(project=project)
    rows = [(gate, _gate_requirement(gate)) for gate in gates]
    unfed = [gate for gate in gates if gate.unfed]
    allowed = project_allowed_licences(project=project)
    context = {"project": project, "rows": rows, "unfed": unfed, "allowed_licences": allowed}
    return render(request, "gates/config_gates.html", context)


_GATE_FIELDS = ("key", "name", "description", "kind", "comparator", "threshold", "unit")
_GATE_FIELDS += ("required_approvals", "approver_role", "order", "active")


@role_required(Role.ADMIN)
def gate_edit(request, slug: str, gate_id: int | None = None):
    project = project_get(slug=slug)
    gate = _gate_get(project, gate_id) if gate_id else None
    initial = {f: getattr(gate, f) for f in _GATE_FIELDS} if gate else {"kind": GateKind.AUTOMATED}
    form = GateForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        saved = form_save(
            request,
            form,
            lambda d: gate_save(actor=request.user, project=project, gate=gate, **d),
            "Quality gate “{}” saved.",
        )
        if saved:
            return redirect("gates:gate-index", slug=project.slug)
    return _form_page(request, "config_gate_form.html", {"project": project, "gate": gate}, form)


@role_required(Role.ADMIN)
def gate_delete_view(request, slug: str, gate_id: int):
    project = project_get(slug=slug)
    gate = _gate_get(project, gate_id)
    return delete_page(
        request,
        delete=lambda: gate_delete(actor=request.user, gate=gate),
        done=f"Quality gate “{gate.name}” deleted.",
        back=reverse("gates:gate-index", args=[project.slug]),
        refused=reverse("gates:gate-edit", args=[project.slug, gate.pk]),
        template="gates/config_gate_delete.html",
        context={"project": project, "gate": gate},
    )


@role_required(Role.ADMIN)
def licence_policy_edit(request, slug: str):
    project = project_get(slug=slug)
    allowed = project_allowed_licences(project=project)
    form = LicencePolicyForm(request.POST or None, initial={"allowed": "\n".join(allowed)})
    if request.method == "POST" and form.is_valid():
        saved = form_save(
            request,
            form,
            lambda d: licence_policy_save(actor=request.user, project=project, **d),
            "Allowed licences saved.",
        )
        if saved:
            return redirect("gates:gate-index", slug=project.slug)
    context = {"project": project, "defaults": DEFAULT_ALLOWED}
    return _form_page(request, "config_licences.html", context, form)


# --- Validation commands ----------------------------------------------------------------


@role_required(*READ_ROLES)
def command_index(request, slug: str):
    project = project_get(slug=slug)
    commands = project_validation_commands(project=project)
    return render(request, "gates/config_commands.html", {"project": project, "commands": commands})


_COMMAND_FIELDS = ("name", "report_format", "report_path", "gate", "timeout_seconds", "order")
_COMMAND_FIELDS += ("active",)


@role_required(Role.ADMIN)
def command_edit(request, slug: str, command_id: int | None = None):
    project = project_get(slug=slug)
    command = _command_get(project, command_id) if command_id else None
    initial = {f: getattr(command, f) for f in _COMMAND_FIELDS} if command else {}
    if command:
        initial["argv"] = "\n".join(command.argv)
    gates = project.quality_gates.filter(kind=GateKind.AUTOMATED)
    form = ValidationCommandForm(request.POST or None, initial=initial, gates=gates)
    if request.method == "POST" and form.is_valid():
        saved = form_save(
            request,
            form,
            lambda d: validation_command_save(
                actor=request.user, project=project, command=command, **d
            ),
            "Validation command “{}” saved.",
        )
        if saved:
            return redirect("gates:command-index", slug=project.slug)
    context = {"project": project, "command": command}
    return _form_page(request, "config_command_form.html", context, form)


@role_required(Role.ADMIN)
def command_delete(request, slug: str, command_id: int):
    project = project_get(slug=slug)
    command = _command_get(project, command_id)
    return delete_page(
        request,
        delete=lambda: validation_command_delete(actor=request.user, command=command),
        done=f"Validation command “{command.name}” deleted.",
        back=reverse("gates:command-index", args=[project.slug]),
        template="gates/config_command_delete.html",
        context={"project": project, "command": command},
    )
