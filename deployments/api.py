"""The API of environments and deployments (docs/api.md, "Deployments").

Thin like the pages: who may call, the access selector, the body's shape, one service
call, the answer. Reads are for every role; deploying, cancelling, aborting, rolling back
and locking are for release managers (the services check it again). Errors are
DomainErrors, turned into JSON by `liftoff.api`; an unknown name or id in a body is a 400
naming the field, in a path a 404.
"""

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response

from deployments.models import Deployment, Environment
from deployments.selectors import (
    board,
    deployment_get,
    deployment_list,
    deployment_secret_values,
    environment_active,
    environment_current,
    environment_get,
    freezes_in_force,
)
from deployments.serializers import (
    DeploymentConflictSerializer,
    DeploymentCreateSerializer,
    DeploymentDetailSerializer,
    DeploymentFilterSerializer,
    DeploymentPageSerializer,
    DeploymentSerializer,
    EnvironmentSerializer,
    EnvironmentState,
    LockSerializer,
)
from deployments.services import (
    deployment_abort,
    deployment_cancel,
    deployment_start,
    environment_lock,
    environment_rollback,
    environment_unlock,
)
from liftoff.api import API_CONFLICT, validated
from liftoff.errors import ValidationFailed
from liftoff.roles import READ_ROLES, Role, roles_allowed
from releases.models import Release
from releases.selectors import project_get

MANAGERS = roles_allowed(read=READ_ROLES, write={Role.RELEASE_MANAGER})
DEPLOYMENT_CONFLICT = OpenApiResponse(
    DeploymentConflictSerializer,
    description="Blocked: `missing` says by what; `deployment_id` names the deployment "
    "in progress when one holds the environment.",
)


def _environment(slug: str, name: str) -> Environment:
    try:
        return environment_get(project=project_get(slug=slug), name=name)
    except Environment.DoesNotExist:
        raise Http404(f"No environment “{name}” in {slug}.") from None


def _state(environment: Environment) -> EnvironmentState:
    return EnvironmentState(
        environment=environment,
        current=environment_current(environment=environment),
        active=environment_active(environment=environment),
        freezes=freezes_in_force(environment=environment),
    )


def _environment_answer(request, environment: Environment) -> Response:
    return Response(EnvironmentSerializer(_state(environment), context={"request": request}).data)


def _deployment(deployment_id: int) -> Deployment:
    try:
        return deployment_get(pk=deployment_id)
    except Deployment.DoesNotExist:
        raise Http404(f"No deployment #{deployment_id}.") from None


def _deployment_answer(request, deployment: Deployment, code=status.HTTP_200_OK) -> Response:
    deployment = _deployment(deployment.pk)  # fresh, with what the answer joins
    context = {
        "request": request,
        "secrets": deployment_secret_values(environment=deployment.environment),
    }
    return Response(DeploymentDetailSerializer(deployment, context=context).data, status=code)


# --- Environments ------------------------------------------------------------------------


@extend_schema(
    responses=EnvironmentSerializer(many=True),
    summary="List a project's environments: what runs there, health, lock, freeze",
)
@api_view(["GET"])
@permission_classes([roles_allowed(read=READ_ROLES)])
def environments(request, slug: str):
    project = project_get(slug=slug)
    # The board's selector: a fixed number of queries however many deployments there are.
    rows = next((rows for _, rows in board(projects=[project])), [])
    states = [
        EnvironmentState(
            environment=row.environment, current=row.current, active=row.active, freezes=row.freezes
        )
        for row in rows
    ]
    return Response(EnvironmentSerializer(states, many=True, context={"request": request}).data)


@extend_schema(responses=EnvironmentSerializer, summary="Read an environment")
@api_view(["GET"])
@permission_classes([roles_allowed(read=READ_ROLES)])
def environment_detail(request, slug: str, name: str):
    return _environment_answer(request, _environment(slug, name))


@extend_schema(
    request=None,
    responses={202: DeploymentDetailSerializer, 409: DEPLOYMENT_CONFLICT},
    summary="Emergency rollback: redeploy the environment's last verified version",
)
@api_view(["POST"])
@permission_classes([MANAGERS])
def environment_rollback_endpoint(request, slug: str, name: str):
    deployment = environment_rollback(environment=_environment(slug, name), actor=request.user)
    return _deployment_answer(request, deployment, status.HTTP_202_ACCEPTED)


@extend_schema(
    request=LockSerializer,
    responses={200: EnvironmentSerializer},
    summary="Lock an environment (or change the lock's reason): deployments are refused",
)
@api_view(["POST"])
@permission_classes([MANAGERS])
def environment_lock_endpoint(request, slug: str, name: str):
    environment = _environment(slug, name)
    data = validated(LockSerializer, request.data)
    environment = environment_lock(environment=environment, actor=request.user, **data)
    return _environment_answer(request, environment)


@extend_schema(
    request=None,
    responses={200: EnvironmentSerializer, 409: API_CONFLICT},
    summary="Unlock an environment (409 when it is not locked)",
)
@api_view(["POST"])
@permission_classes([MANAGERS])
def environment_unlock_endpoint(request, slug: str, name: str):
    environment = environment_unlock(environment=_environment(slug, name), actor=request.user)
    return _environment_answer(request, environment)


# --- Deployments -------------------------------------------------------------------------


def _release_and_environment(data: dict) -> tuple[Release, Environment]:
    """The body's release (by id) and environment (by name, in the release's project)."""
    release = Release.objects.select_related("project").filter(pk=data["release"]).first()
    if release is None:
        raise ValidationFailed(
            "Unknown release.", errors={"release": [f"No release #{data['release']}."]}
        )
    environment = Environment.objects.filter(
        project_id=release.project_id, name=data["environment"]
    ).first()
    if environment is None:
        raise ValidationFailed(
            "Unknown environment.",
            errors={
                "environment": [
                    f"No environment “{data['environment']}” in {release.project.name}."
                ]
            },
        )
    return release, environment


@extend_schema(
    methods=["GET"],
    responses=DeploymentPageSerializer,
    operation_id="deployments_list",
    parameters=[
        DeploymentFilterSerializer,
        OpenApiParameter("limit", int, required=False, description="Page size (default 50)."),
        OpenApiParameter("offset", int, required=False, description="Deployments to skip."),
    ],
    summary="List deployments, newest first (filters: project, environment, status, kind, "
    "since, until, release)",
)
@extend_schema(
    methods=["POST"],
    request=DeploymentCreateSerializer,
    responses={202: DeploymentDetailSerializer, 409: DEPLOYMENT_CONFLICT},
    summary="Deploy a release to an environment, now or at a time; 409 with `missing` when blocked",
)
@api_view(["GET", "POST"])
@permission_classes([MANAGERS])
def deployments(request):
    if request.method == "GET":
        filters = validated(DeploymentFilterSerializer, request.query_params)
        queryset = deployment_list(filters=filters).select_related("rolled_back_by")
        paginator = LimitOffsetPagination()
        page = paginator.paginate_queryset(queryset, request)
        answer = DeploymentSerializer(page, many=True, context={"request": request})
        return paginator.get_paginated_response(answer.data)
    data = validated(DeploymentCreateSerializer, request.data)
    release, environment = _release_and_environment(data)
    deployment = deployment_start(
        release=release,
        environment=environment,
        actor=request.user,
        at=data["at"],
        override_reason=data["override_reason"],
    )
    return _deployment_answer(request, deployment, status.HTTP_202_ACCEPTED)


@extend_schema(
    responses=DeploymentDetailSerializer,
    summary="Read a deployment, with its run's steps and log tail",
)
@api_view(["GET"])
@permission_classes([roles_allowed(read=READ_ROLES)])
def deployment_detail(request, deployment_id: int):
    return _deployment_answer(request, _deployment(deployment_id))


@extend_schema(
    request=None,
    responses={202: DeploymentDetailSerializer, 409: API_CONFLICT},
    summary="Cancel a deployment (scheduled or queued: at once; running: within seconds)",
)
@api_view(["POST"])
@permission_classes([MANAGERS])
def deployment_cancel_endpoint(request, deployment_id: int):
    deployment = deployment_cancel(deployment=_deployment(deployment_id), actor=request.user)
    return _deployment_answer(request, deployment, status.HTTP_202_ACCEPTED)


@extend_schema(
    request=None,
    responses={202: DeploymentDetailSerializer, 409: API_CONFLICT},
    summary="Abort and roll back: stop the deployment, then redeploy what was verified before",
)
@api_view(["POST"])
@permission_classes([MANAGERS])
def deployment_abort_endpoint(request, deployment_id: int):
    deployment = deployment_abort(deployment=_deployment(deployment_id), actor=request.user)
    return _deployment_answer(request, deployment, status.HTTP_202_ACCEPTED)
