"""Project configuration pages (admins): checklist templates, gates, validation commands.
(Being written.)"""

from django.http import HttpResponse

from liftoff.roles import READ_ROLES, Role, role_required


def _todo(name, *roles):
    @role_required(*roles)
    def view(request, **kwargs):
        return HttpResponse(f"{name}: not built yet", status=501)

    view.__name__ = name
    return view


template_index = _todo("template_index", *READ_ROLES)
template_edit = _todo("template_edit", Role.ADMIN)
template_delete = _todo("template_delete", Role.ADMIN)
gate_index = _todo("gate_index", *READ_ROLES)
gate_edit = _todo("gate_edit", Role.ADMIN)
command_index = _todo("command_index", *READ_ROLES)
command_edit = _todo("command_edit", Role.ADMIN)
command_delete = _todo("command_delete", Role.ADMIN)
