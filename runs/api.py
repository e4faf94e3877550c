from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.response import Response

from liftoff.api import API_CONFLICT
from liftoff.roles import READ_ROLES, Role, roles_allowed
from runs.selectors import run_get
from runs.serializers import RunSerializer
from runs.services import run_cancel, run_retry


@extend_schema(responses=RunSerializer, summary="Read a run: status, steps, log tail")
@api_view(["GET"])
@permission_classes([roles_allowed(read=READ_ROLES)])
def run_detail(request, run_id: int):
    run = run_get(run_id=run_id)
    return Response(RunSerializer(run, context={"request": request}).data)


@extend_schema(
    request=None,
    responses={202: RunSerializer, 409: API_CONFLICT},
    summary="Cancel a run (queued: at once; running: within seconds)",
)
@api_view(["POST"])
@permission_classes([roles_allowed(read=READ_ROLES, write={Role.RELEASE_MANAGER})])
def run_cancel_endpoint(request, run_id: int):
    run = run_cancel(run=run_get(run_id=run_id), actor=request.user)
    return Response(RunSerializer(run_get(run_id=run.pk)).data, status=status.HTTP_202_ACCEPTED)


@extend_schema(
    request=None,
    responses={202: RunSerializer, 409: API_CONFLICT},
    summary="Retry a failed or cancelled run as a new run",
)
@api_view(["POST"])
@permission_classes([roles_allowed(read=READ_ROLES, write={Role.RELEASE_MANAGER})])
def run_retry_endpoint(request, run_id: int):
    new = run_retry(run=run_get(run_id=run_id), actor=request.user)
    return Response(RunSerializer(run_get(run_id=new.pk)).data, status=status.HTTP_202_ACCEPTED)
