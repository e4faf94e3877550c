from django.shortcuts import get_object_or_404, render

from deployments.models import Deployment, Environment
from liftoff.roles import READ_ROLES, role_required


@role_required(*READ_ROLES)
def index(request):
    return render(request, "deployments/index.html")


@role_required(*READ_ROLES)
def deployment_detail(request, pk: int):
    deployment = get_object_or_404(Deployment.objects.select_related("environment"), pk=pk)
    return render(request, "deployments/index.html", {"deployment": deployment})


@role_required(*READ_ROLES)
def environment_detail(request, project: str, name: str):
    environment = get_object_or_404(Environment, project__slug=project, name=name)
    return render(request, "deployments/index.html", {"environment": environment})
