"""The API of incidents (docs/api.md, "Incidents").

Reads are for every role; a project token reads and opens its own project's incidents
(CI or monitoring reporting one); moves are for release managers (the services check it
again). Errors are DomainErrors, turned into JSON by `liftoff.api`.
"""

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response

from deployments.models import Environment
from incidents.models import Incident, Source
from incidents.selectors import incident_get, incident_list
from incidents.serializers import (
    IncidentCreateSerializer,
    IncidentFilterSerializer,
    IncidentPageSerializer,
    IncidentSerializer,
    IncidentTransitionSerializer,
)
from incidents.services import incident_open, incident_transition
from liftoff.api import API_CONFLICT, API_ERROR, validated
from liftoff.errors import NotAllowed, ValidationFailed
from liftoff.roles import READ_ROLES, Role, roles_allowed
from releases.models import Project


def _token_project(principal):
    """The project a project token belongs to, or None for a person."""
    return principal.project if getattr(principal, "is_project_token", False) else None


def _incident(principal, incident_id: int) -> Incident:
    incident = incident_get(pk=incident_id)
    project = _token_project(principal)
    if project is not None and project.pk != incident.project_id:
        raise Http404("No such incident.")  # another project's: nothing to learn here
    return incident


def _project_and_environment(principal, data: dict) -> tuple[Project, Environment | None]:
    project = Project.objects.filter(slug=data["project"]).first()
    if project is None:
        raise ValidationFailed(
            "Unknown project.", errors={"project": [f"No project “{data['project']}”."]}
        )
    token_project = _token_project(principal)
    if token_project is not None and token_project.pk != project.pk:
        raise NotAllowed("This project token belongs to another project.")
    environment = None
    if data["environment"]:
        environment = Environment.objects.filter(project=project, name=data["environment"]).first()
        if environment is None:
            raise ValidationFailed(
                "Unknown environment.",
                errors={
                    "environment": [f"No environment “{data['environment']}” in {project.name}."]
                },
            )
    return project, environment


@extend_schema(
    methods=["GET"],
    responses=IncidentPageSerializer,
    operation_id="incidents_list",
    parameters=[
        IncidentFilterSerializer,
        OpenApiParameter("limit", int, required=False, description="Page size (default 50)."),
        OpenApiParameter("offset", int, required=False, description="Incidents to skip."),
    ],
    summary="List incidents, newest first (filters: project, environment, severity, status, "
    "breached, security); a project token sees its project's only",
)
@extend_schema(
    methods=["POST"],
    request=IncidentCreateSerializer,
    responses={201: IncidentSerializer, 400: API_ERROR, 403: API_ERROR},
    summary="Open an incident (release managers, or a project token for its project); the "
    "deployment it is about is recorded now",
)
@api_view(["GET", "POST"])
@permission_classes(
    [roles_allowed(read=READ_ROLES, write={Role.RELEASE_MANAGER}, project_token=True)]
)
def incidents(request):
    if request.method == "GET":
        filters = validated(IncidentFilterSerializer, request.query_params)
        queryset = incident_list(filters=filters)
        if (project := _token_project(request.user)) is not None:
            queryset = queryset.filter(project=project)
        paginator = LimitOffsetPagination()
        page = paginator.paginate_queryset(queryset, request)
        return paginator.get_paginated_response(IncidentSerializer(page, many=True).data)
    data = validated(IncidentCreateSerializer, request.data)
    project, environment = _project_and_environment(request.user, data)
    incident = incident_open(
        project=project,
        environment=environment,
        severity=data["severity"],
        title=data["title"],
        description=data["description"],
        started_at=data["started_at"],
        actor=request.user,
        source=Source.API,
        security=data["security"],
    )
    answer = IncidentSerializer(incident_get(pk=incident.pk)).data
    return Response(answer, status=status.HTTP_201_CREATED)


@extend_schema(responses=IncidentSerializer, summary="Read an incident")
@api_view(["GET"])
@permission_classes([roles_allowed(read=READ_ROLES, project_token=True)])
def incident_detail(request, incident_id: int):
    return Response(IncidentSerializer(_incident(request.user, incident_id)).data)


@extend_schema(
    request=IncidentTransitionSerializer,
    responses={200: IncidentSerializer, 400: API_ERROR, 409: API_CONFLICT},
    summary="Acknowledge, mitigate or resolve an incident (resolve needs a summary); 409 "
    "when it has moved past that",
)
@api_view(["POST"])
@permission_classes([roles_allowed(read=READ_ROLES, write={Role.RELEASE_MANAGER})])
def incident_transition_endpoint(request, incident_id: int):
    incident = _incident(request.user, incident_id)
    data = validated(IncidentTransitionSerializer, request.data)
    incident_transition(
        incident=incident, to=data["to"], actor=request.user, summary=data["summary"]
    )
    return Response(IncidentSerializer(incident_get(pk=incident.pk)).data)
