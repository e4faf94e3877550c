"""Project configuration pages: checklist templates, quality gates, validation commands.

Every role reads them (the team sees the rules its releases follow); only admins edit.
Each page first finds the project (404 for an unknown slug), then the row inside that
project (404 for a row of another project), then calls one service.
"""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render

from checklists.config_forms import ChecklistTemplateForm, GateForm, ValidationCommandForm
from checklists.models import GateKind, Phase
from checklists.selectors import project_gates, project_templates, project_validation_commands
from checklists.services import (
    checklist_template_delete,
    checklist_template_save,
    gate_save,
    items_as_text,
    validation_command_delete,
    validation_command_save,
)
from liftoff.errors import DomainError
from liftoff.roles import READ_ROLES, ROLE_LABELS, Role, role_required
from releases.selectors import project_get


def _template_get(project, template_id):
    return get_object_or_404(project.checklist_templates.prefetch_related("items"), pk=template_id)


def _gate_get(project, gate_id):
    return get_object_or_404(project.quality_gates, pk=gate_id)


def _command_get(project, command_id):
    return get_object_or_404(project.validation_commands, pk=command_id)


def _form_errors(form, exc: DomainError) -> None:
    """Put a service's errors on the form: per field where the form has it."""
    for field, errors in exc.errors.items():
        for error in errors:
            form.add_error(field if field in form.fields else None, error)
    if not exc.errors:
        form.add_error(None, exc.message)


def _save(request, form, save, success: str):
    """Run the service with the form's data; None when it refused (errors on the form)."""
    try:
        result = save(form.cleaned_data)
    except DomainError as exc:
        _form_errors(form, exc)
        return None
    messages.success(request, success.format(result))
    return result


def _form_page(request, name, context, form):
    status = 400 if request.method == "POST" else 200
    return render(request, f"checklists/{name}", {**context, "form": form}, status=status)


# --- Checklist templates ----------------------------------------------------------------


@role_required(*READ_ROLES)
def template_index(request, slug: str):
    project = project_get(slug=slug)
    templates = project_templates(project=project)
    phases = [(v, label, [t for t in templates if t.phase == v]) for v, label in Phase.choices]
    return render(
        request, "checklists/config_templates.html", {"project": project, "phases": phases}
    )


@role_required(Role.ADMIN)
def template_edit(request, slug: str, template_id: int | None = None):
    project = project_get(slug=slug)
    template = _template_get(project, template_id) if template_id else None
    initial = {"phase": request.GET.get("phase") or Phase.PREPARATION}
    if template:
        initial = {
            f: getattr(template, f) for f in ("name", "phase", "description", "order", "active")
        }
        initial["items"] = items_as_text(template.items.all())
    form = ChecklistTemplateForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        saved = _save(
            request,
            form,
            lambda d: checklist_template_save(
                actor=request.user,
                project=project,
                template=template,
                name=d["name"],
                phase=d["phase"],
                items_text=d["items"],
                description=d["description"],
                order=d["order"],
                active=d["active"],
            ),
            "Checklist template “{}” saved. Releases planned from now on get it.",
        )
        if saved:
            return redirect("checklists:template-index", slug=project.slug)
    context = {"project": project, "template": template}
    return _form_page(request, "config_template_form.html", context, form)


@role_required(Role.ADMIN)
def template_delete(request, slug: str, template_id: int):
    project = project_get(slug=slug)
    template = _template_get(project, template_id)
    if request.method == "POST":
        try:
            checklist_template_delete(actor=request.user, template=template)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Checklist template “{template.name}” deleted.")
        return redirect("checklists:template-index", slug=project.slug)
    context = {"project": project, "template": template}
    return render(request, "checklists/config_template_delete.html", context)


# --- Quality gates ----------------------------------------------------------------------


def _gate_requirement(gate) -> str:
    if gate.kind == GateKind.AUTOMATED:
        return gate.threshold_label or "no threshold"
    role = ROLE_LABELS.get(gate.approver_role, gate.approver_role).lower()
    plural = "s" if gate.required_approvals != 1 else ""
    return f"{gate.required_approvals} approval{plural} from {role}"


@role_required(*READ_ROLES)
def gate_index(request, slug: str):
    project = project_get(slug=slug)
    rows = [(gate, _gate_requirement(gate)) for gate in project_gates(project=project)]
    return render(request, "checklists/config_gates.html", {"project": project, "rows": rows})


_GATE_FIELDS = ("key", "name", "description", "kind", "comparator", "threshold", "unit")
_GATE_FIELDS += ("required_approvals", "approver_role", "order", "active")


@role_required(Role.ADMIN)
def gate_edit(request, slug: str, gate_id: int | None = None):
    project = project_get(slug=slug)
    gate = _gate_get(project, gate_id) if gate_id else None
    initial = {f: getattr(gate, f) for f in _GATE_FIELDS} if gate else {"kind": GateKind.AUTOMATED}
    form = GateForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        saved = _save(
            request,
            form,
            lambda d: gate_save(actor=request.user, project=project, gate=gate, **d),
            "Quality gate “{}” saved.",
        )
        if saved:
            return redirect("checklists:gate-index", slug=project.slug)
    return _form_page(request, "config_gate_form.html", {"project": project, "gate": gate}, form)


# --- Validation commands ----------------------------------------------------------------


@role_required(*READ_ROLES)
def command_index(request, slug: str):
    project = project_get(slug=slug)
    commands = project_validation_commands(project=project)
    return render(
        request, "checklists/config_commands.html", {"project": project, "commands": commands}
    )


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
        saved = _save(
            request,
            form,
            lambda d: validation_command_save(
                actor=request.user, project=project, command=command, **d
            ),
            "Validation command “{}” saved.",
        )
        if saved:
            return redirect("checklists:command-index", slug=project.slug)
    context = {"project": project, "command": command}
    return _form_page(request, "config_command_form.html", context, form)


@role_required(Role.ADMIN)
def command_delete(request, slug: str, command_id: int):
    project = project_get(slug=slug)
    command = _command_get(project, command_id)
    if request.method == "POST":
        try:
            validation_command_delete(actor=request.user, command=command)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Validation command “{command.name}” deleted.")
        return redirect("checklists:command-index", slug=project.slug)
    context = {"project": project, "command": command}
    return render(request, "checklists/config_command_delete.html", context)
