"""The API of quality gates, CI reports, validation, approvals and waivers (docs/api.md).

Thin like the pages: who may call, the access selector, the body's shape, one service
call, the answer. Errors are DomainErrors, turned into JSON by `liftoff.api`.
"""

from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.response import Response

from gates.selectors import gate_get, release_gates
from gates.serializers import (
    ApprovalPostSerializer,
    GateResultsAnswerSerializer,
    GateResultsPostSerializer,
    GateSerializer,
    WaiverPostSerializer,
)
from gates.services import (
    approval_record,
    gate_results_post,
    release_validate,
    waiver_grant,
    waiver_revoke,
)
from liftoff.api import API_CONFLICT, API_ERROR, validated
from liftoff.errors import NotAllowed, ValidationFailed
from liftoff.roles import READ_ROLES, Role, roles_allowed
from releases.selectors import release_get
from runs.selectors import run_get
from runs.serializers import RunSerializer


def _gate_by_key(release, key: str, *, in_path: bool = False):
    """The release's active gate by key; an unknown key is a mistake in the body (400),
    or, named by the URL (`in_path`), a missing page (404). A switched-off gate no longer
    counts, so it takes no decisions."""
    try:
        gate = gate_get(release=release, key=key)
    except Http404:
        gate = None
    if (gate is None or not gate.active) and in_path:
        raise Http404(f"No gate “{key}” in {release.project.name}.")
    if gate is None or not gate.active:
        raise ValidationFailed(
            "Unknown gate.", errors={"gate": [f"No gate “{key}” in {release.project.name}."]}
        )
    return gate


def _release_for_poster(principal, release_id: int):
    """The release a CI report is for. A project token of another project is refused
    before its body is read: it learns nothing about this project's gates."""
    release = release_get(release_id=release_id)
    project = getattr(principal, "project", None)
    if project is not None and project.pk != release.project_id:
        raise NotAllowed("This project token belongs to another project.")
    return release


def _gate_view(release, gate):
    return next(v for v in release_gates(release=release) if v.gate.pk == gate.pk)


@extend_schema(
    responses=GateSerializer(many=True),
    summary="A release's quality gates: status, value, threshold, approvals, evidence",
)
@api_view(["GET"])
@permission_classes([roles_allowed(read=READ_ROLES)])
def release_gates_endpoint(request, release_id: int):
    release = release_get(release_id=release_id)
    return Response(GateSerializer(release_gates(release=release), many=True).data)


@extend_schema(
    request=None,
    responses={202: RunSerializer, 409: API_CONFLICT},
    summary="Validate the release head: a run that measures the automated gates",
)
@api_view(["POST"])
@permission_classes([roles_allowed(read=READ_ROLES, write={Role.RELEASE_MANAGER})])
def release_validate_endpoint(request, release_id: int):
    run = release_validate(release=release_get(release_id=release_id), actor=request.user)
    return Response(RunSerializer(run_get(run_id=run.pk)).data, status=status.HTTP_202_ACCEPTED)


@extend_schema(
    request=GateResultsPostSerializer,
    responses={
        201: GateResultsAnswerSerializer,
        200: OpenApiResponse(
            GateResultsAnswerSerializer,
            description="This run id was posted before: nothing changed; what was recorded.",
        ),
        400: API_ERROR,
        403: API_ERROR,
    },
    summary="CI report: gate results of one CI run (project token); idempotent by run_id",
)
@api_view(["POST"])
@permission_classes(
    [roles_allowed(read=READ_ROLES, write={Role.RELEASE_MANAGER}, project_token=True)]
)
def release_gate_results_endpoint(request, release_id: int):
    release = _release_for_poster(request.user, release_id)
    data = validated(GateResultsPostSerializer, request.data)
    results, created = gate_results_post(
        release=release,
        principal=request.user,
        ci_run_id=data["run_id"],
        commit=data["commit"],
        results=data["results"],
    )
    gates = release_gates(release=release)
    known = {view.gate.pk: view.gate for view in gates}
    results = sorted(results, key=lambda r: r.pk)  # In the order posted, first time or not.
    for result in results:  # A repeated post's rows: their gates without a query each.
        if result.gate_id in known:
            result.gate = known[result.gate_id]
    answer = {"run_id": data["run_id"], "created": created, "results": results, "gates": gates}
    return Response(
        GateResultsAnswerSerializer(answer).data,
        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
    )


@extend_schema(
    request=ApprovalPostSerializer,
    responses={201: GateSerializer, 400: API_ERROR, 403: API_ERROR, 409: API_CONFLICT},
    summary="Approve or reject a manual gate; answers the gate's new state (N of M)",
)
@api_view(["POST"])
@permission_classes([roles_allowed(read=READ_ROLES, write={Role.APPROVER})])
def release_approvals_endpoint(request, release_id: int):
    release = release_get(release_id=release_id)
    data = validated(ApprovalPostSerializer, request.data)
    gate = _gate_by_key(release, data["gate"])
    approval_record(
        release=release,
        gate=gate,
        actor=request.user,
        decision=data["decision"],
        comment=data.get("comment", ""),
    )
    return Response(GateSerializer(_gate_view(release, gate)).data, status=status.HTTP_201_CREATED)


@extend_schema(
    request=WaiverPostSerializer,
    responses={201: GateSerializer, 400: API_ERROR, 403: API_ERROR, 409: API_CONFLICT},
    summary=(
        "Waive an automated gate that failed, could not be measured or is not measured yet "
        "(pending), with a written reason"
    ),
)
@api_view(["POST"])
@permission_classes([roles_allowed(read=READ_ROLES, write={Role.APPROVER})])
def release_waivers_endpoint(request, release_id: int):
    release = release_get(release_id=release_id)
    data = validated(WaiverPostSerializer, request.data)
    gate = _gate_by_key(release, data["gate"])
    waiver_grant(release=release, gate=gate, actor=request.user, reason=data["reason"])
    return Response(GateSerializer(_gate_view(release, gate)).data, status=status.HTTP_201_CREATED)


@extend_schema(
    request=None,
    responses={200: GateSerializer, 403: API_ERROR, 404: API_ERROR, 409: API_CONFLICT},
    summary="Revoke a gate's waiver: it counts as failed, unmeasured or pending again",
)
@api_view(["DELETE"])
@permission_classes([roles_allowed(read=READ_ROLES, write={Role.APPROVER})])
def release_waiver_endpoint(request, release_id: int, gate_key: str):
    release = release_get(release_id=release_id)
    gate = _gate_by_key(release, gate_key, in_path=True)
    waiver_revoke(release=release, gate=gate, actor=request.user)
    return Response(GateSerializer(_gate_view(release, gate)).data)
