from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response

from liftoff.api import API_CONFLICT
from liftoff.markdown import render_markdown
from liftoff.roles import READ_ROLES, Role, roles_allowed
from releases.selectors import (
    project_get,
    project_list,
    release_change_impact,
    release_get,
    release_list,
)
from releases.serializers import (
    ChangeImpactSerializer,
    NotesSerializer,
    ProjectCreateSerializer,
    ProjectSerializer,
    ReleaseCreateSerializer,
    ReleasePageSerializer,
    ReleaseSerializer,
    TransitionSerializer,
)
from releases.services import (
    project_create,
    project_sync,
    release_change_analysis_start,
    release_create,
    release_notes_update,
    release_prepare,
    release_ship,
    release_transition,
)
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
    responses={202: RunSerializer, 409: API_CONFLICT},
    summary="Sync the project's repository (starts a run)",
)
@api_view(["POST"])
@permission_classes([roles_allowed(read=READ_ROLES, write={Role.RELEASE_MANAGER})])
def project_sync_endpoint(request, slug: str):
    run = project_sync(project=project_get(slug=slug), actor=request.user)
    return Response(RunSerializer(run_get(run_id=run.pk)).data, status=status.HTTP_202_ACCEPTED)


# --- Releases ------------------------------------------------------------------------------


@extend_schema(
    methods=["GET"],
    responses=ReleasePageSerializer,
    operation_id="releases_list",
    parameters=[
        *(OpenApiParameter(n, str, required=False) for n in ("project", "status", "type")),
        OpenApiParameter("limit", int, required=False, description="Page size (default 50)."),
        OpenApiParameter("offset", int, required=False, description="Releases to skip."),
    ],
    summary="List releases (filters: project, status, type)",
)
@extend_schema(
    methods=["POST"],
    request=ReleaseCreateSerializer,
    responses={201: ReleaseSerializer, 409: API_CONFLICT},
    summary="Plan a release (409 until the project's repository has been synced once)",
)
@api_view(["GET", "POST"])
@permission_classes([roles_allowed(read=READ_ROLES, write={Role.RELEASE_MANAGER})])
def releases(request):
    if request.method == "GET":
        queryset = release_list(
            project_slug=request.query_params.get("project", ""),
            status=request.query_params.get("status", ""),
            release_type=request.query_params.get("type", ""),
        )
        paginator = LimitOffsetPagination()
        page = paginator.paginate_queryset(queryset, request)
        return paginator.get_paginated_response(ReleaseSerializer(page, many=True).data)
    incoming = ReleaseCreateSerializer(data=request.data)
    incoming.is_valid(raise_exception=True)
    data = incoming.validated_data
    release = release_create(
        actor=request.user,
        project=data["project"],
        release_type=data.get("type"),
        version=data.get("version") or None,
        codename=data["codename"],
        summary=data["summary"],
        target_date=data["target_date"],
    )
    return Response(ReleaseSerializer(release).data, status=status.HTTP_201_CREATED)


@extend_schema(responses=ReleaseSerializer, summary="Read a release")
@api_view(["GET"])
@permission_classes([roles_allowed(read=READ_ROLES)])
def release_detail(request, release_id: int):
    return Response(ReleaseSerializer(release_get(release_id=release_id)).data)


@extend_schema(
    request=None,
    responses={202: RunSerializer, 409: API_CONFLICT},
    summary="Prepare the release: branch, version bump, push, notes (a run)",
)
@api_view(["POST"])
@permission_classes([roles_allowed(read=READ_ROLES, write={Role.RELEASE_MANAGER})])
def release_prepare_endpoint(request, release_id: int):
    run = release_prepare(release=release_get(release_id=release_id), actor=request.user)
    return Response(RunSerializer(run_get(run_id=run.pk)).data, status=status.HTTP_202_ACCEPTED)


@extend_schema(
    request=None,
    responses={202: RunSerializer, 409: API_CONFLICT},
    summary="Ship: tag the release head and push the tag (a run)",
)
@api_view(["POST"])
@permission_classes([roles_allowed(read=READ_ROLES, write={Role.RELEASE_MANAGER})])
def release_ship_endpoint(request, release_id: int):
    run = release_ship(release=release_get(release_id=release_id), actor=request.user)
    return Response(RunSerializer(run_get(run_id=run.pk)).data, status=status.HTTP_202_ACCEPTED)


@extend_schema(
    request=TransitionSerializer,
    responses={200: ReleaseSerializer, 409: API_CONFLICT},
    summary="Move the release to another phase; 409 with `missing` when blocked",
)
@api_view(["POST"])
@permission_classes([roles_allowed(read=READ_ROLES, write={Role.RELEASE_MANAGER})])
def release_transition_endpoint(request, release_id: int):
    incoming = TransitionSerializer(data=request.data)
    incoming.is_valid(raise_exception=True)
    release = release_transition(
        release=release_get(release_id=release_id),
        to=incoming.validated_data["to"],
        actor=request.user,
    )
    return Response(ReleaseSerializer(release).data)


@extend_schema(methods=["GET"], responses=NotesSerializer, summary="Release notes")
@extend_schema(
    methods=["PUT"],
    request=NotesSerializer,
    responses=NotesSerializer,
    summary="Replace the release notes",
)
@api_view(["GET", "PUT"])
@permission_classes([roles_allowed(read=READ_ROLES, write={Role.RELEASE_MANAGER})])
def release_notes(request, release_id: int):
    release = release_get(release_id=release_id)
    if request.method == "PUT":
        incoming = NotesSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        release = release_notes_update(
            release=release, actor=request.user, markdown=incoming.validated_data["markdown"]
        )
    return Response({"markdown": release.notes, "html": str(render_markdown(release.notes))})


@extend_schema(
    methods=["GET"],
    responses=ChangeImpactSerializer,
    summary="What changed since the previous release: per top-level folder, migrations, "
    "dependency files and security-sensitive paths",
)
@extend_schema(
    methods=["POST"],
    request=None,
    responses={202: RunSerializer, 409: API_CONFLICT},
    summary="Analyse the change again (a run): after a failed analysis or one of an older head",
)
@api_view(["GET", "POST"])
@permission_classes([roles_allowed(read=READ_ROLES, write={Role.RELEASE_MANAGER})])
def release_impact(request, release_id: int):
    release = release_get(release_id=release_id)
    if request.method == "POST":
        run = release_change_analysis_start(release=release, actor=request.user)
        return Response(RunSerializer(run_get(run_id=run.pk)).data, status=status.HTTP_202_ACCEPTED)
    impact = release_change_impact(release=release)
    body = {name: impact.get(name) for name in ChangeImpactSerializer().fields}
    return Response(ChangeImpactSerializer(body).data)
