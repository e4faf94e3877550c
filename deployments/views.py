from django.shortcuts import render

from liftoff.roles import READ_ROLES, role_required


@role_required(*READ_ROLES)
def index(request):
    return render(request, "deployments/index.html")
