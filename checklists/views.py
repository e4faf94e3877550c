"""Checklist ticking, gates, approvals and validation pages. (Being written.)"""

from django.http import HttpResponse

from liftoff.roles import READ_ROLES, Role, role_required


@role_required(*READ_ROLES)
def approvals(request):
    from django.shortcuts import render

    return render(request, "checklists/approvals.html")


def _todo(name, *roles):
    @role_required(*roles)
    def view(request, **kwargs):
        return HttpResponse(f"{name}: not built yet", status=501)

    view.__name__ = name
    return view


item_update = _todo("item_update", Role.RELEASE_MANAGER)
checklist_fragment = _todo("checklist_fragment", *READ_ROLES)
release_gates_fragment = _todo("release_gates_fragment", *READ_ROLES)
gate_approve = _todo("gate_approve", Role.APPROVER)
gate_waive = _todo("gate_waive", Role.APPROVER)
gate_evidence = _todo("gate_evidence", *READ_ROLES)
release_validate_view = _todo("release_validate_view", Role.RELEASE_MANAGER)
