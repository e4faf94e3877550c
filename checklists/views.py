from django.shortcuts import render

from liftoff.roles import READ_ROLES, role_required


@role_required(*READ_ROLES)
def approvals(request):
    return render(request, "checklists/approvals.html")
