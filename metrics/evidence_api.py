"""`GET /api/v1/releases/{id}/evidence/`, `…/attestation/` and `…/sbom/` (docs/api.md,
"Evidence"): the latest snapshot's exact bytes (their SHA-256 in `X-Evidence-SHA256`),
the in-toto statement over it, and the release's CycloneDX SBOM. Every role reads."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.decorators import api_view, permission_classes

from liftoff.api import API_ERROR
from liftoff.roles import READ_ROLES, roles_allowed
from metrics.evidence import release_sbom_made, snapshot_get
from metrics.evidence_views import attestation_response, sbom_response, snapshot_response
from releases.selectors import release_get

_ERRORS = {401: API_ERROR, 403: API_ERROR, 404: API_ERROR}


@extend_schema(
    responses={
        200: OpenApiResponse(
            OpenApiTypes.OBJECT,
            description="The snapshot's exact bytes (canonical JSON); their SHA-256 in the "
            "X-Evidence-SHA256 header.",
        ),
        **_ERRORS,
    },
    operation_id="release_evidence",
    summary="The release's latest evidence snapshot, byte for byte",
)
@api_view(["GET"])
@permission_classes([roles_allowed(read=READ_ROLES)])
def release_evidence(request, release_id: int):
    release = release_get(release_id=release_id)
    return snapshot_response(snapshot_get(release=release), release)


@extend_schema(
    responses={
        200: OpenApiResponse(OpenApiTypes.OBJECT, description="in-toto Statement v1"),
        **_ERRORS,
    },
    operation_id="release_attestation",
    summary="An in-toto Statement v1 over the latest evidence snapshot",
)
@api_view(["GET"])
@permission_classes([roles_allowed(read=READ_ROLES)])
def release_attestation(request, release_id: int):
    release = release_get(release_id=release_id)
    return attestation_response(snapshot_get(release=release), release)


@extend_schema(
    responses={
        (200, "application/vnd.cyclonedx+json"): OpenApiResponse(
            OpenApiTypes.OBJECT, description="CycloneDX 1.6 JSON"
        ),
        **_ERRORS,
    },
    operation_id="release_sbom",
    summary="The CycloneDX SBOM of the release's Python dependencies (404 until it is made)",
)
@api_view(["GET"])
@permission_classes([roles_allowed(read=READ_ROLES)])
def release_sbom(request, release_id: int):
    release = release_get(release_id=release_id)
    return sbom_response(release_sbom_made(release=release), release)
