"""Project configuration pages: checklist templates (gates and validation commands are in
gates/config_views.py).

Every role reads them (the team sees the rules its releases follow); only admins edit.
Each page first finds the project (404 for an unknown slug), then the row inside that
project (404 for a row of another project), then calls one service.
"""

from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from checklists.config_forms import ChecklistTemplateForm
from checklists.models import AutoKey, Phase
from checklists.selectors import project_templates
from checklists.services import checklist_template_delete, checklist_template_save, items_as_text
from liftoff.forms import delete_page, form_save
from liftoff.roles import READ_ROLES, Role, role_required
from releases.selectors import project_get


def _template_get(project, template_id):
    return get_object_or_404(project.checklist_templates.prefetch_related("items"), pk=template_id)


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
        saved = form_save(
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
    context = {"project": project, "template": template, "auto_keys": AutoKey.choices}
    return _form_page(request, "config_template_form.html", context, form)


@role_required(Role.ADMIN)
def template_delete(request, slug: str, template_id: int):
    project = project_get(slug=slug)
    template = _template_get(project, template_id)
    return delete_page(
        request,
        delete=lambda: checklist_template_delete(actor=request.user, template=template),
        done=f"Checklist template “{template.name}” deleted.",
        back=reverse("checklists:template-index", args=[project.slug]),
        template="checklists/config_template_delete.html",
        context={"project": project, "template": template},
    )
