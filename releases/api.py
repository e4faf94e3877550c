from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.response import Response

from liftoff.roles import READ_ROLES, Role, roles_allowed
from releases.selectors import project_get, project_list
from releases.serializers import ProjectCreateSerializer, ProjectSerializer
from releases.services import project_create, project_sync
from runs.selectors import run_get
from runs.serializers import RunSerializer


@extend_schema(methods=["GET"], responses=ProjectSerializer(many=True), summary="List projects")
@extend_schema(
    methods=["POST"],
    request=ProjectCreateSerializer,
    responses={201: ProjectSerializer},
    summary="Create a project (admin)",
)
@api_view(["GET", "POST"])
@permission_classes([roles_allowed(read=READ_ROLES, write={Role.ADMIN})])
def projects(request):
    if request.method == "GET":
        return Response(ProjectSerializer(project_list(), many=True).data)
    incoming = ProjectCreateSerializer(data=request.data)
    incoming.is_valid(raise_exception=True)
    project = project_create(actor=request.user, **incoming.validated_data)
    return Response(ProjectSerializer(project).data, status=status.HTTP_201_CREATED)


@extend_schema(responses=ProjectSerializer, summary="Read a project")
@api_view(["GET"])
@permission_classes([roles_allowed(read=READ_ROLES)])
def project_detail(request, slug: str):
    return Response(ProjectSerializer(project_get(slug=slug)).data)


@extend_schema(
    request=None,
    responses={202: RunSerializer},
    summary="Sync the project's repository (starts a run)",
)
@api_view(["POST"])
@permission_classes([roles_allowed(read=READ_ROLES, write={Role.RELEASE_MANAGER})])
def project_sync_endpoint(request, slug: str):
    run = project_sync(project=project_get(slug=slug), actor=request.user)
    return Response(RunSerializer(run_get(run_id=run.pk)).data, status=status.HTTP_202_ACCEPTED)
