"""`GET /api/v1/metrics/` (docs/api.md, "Metrics"): the page's figures for a project or
all, over a window. Every role reads; a project token reads its own project's only."""

from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view, permission_classes
from rest_framework.response import Response

from liftoff.api import API_ERROR, validated
from liftoff.errors import NotAllowed, ValidationFailed
from liftoff.roles import READ_ROLES, roles_allowed
from metrics.export import report_data
from metrics.selectors import MAX_DAYS, metrics_report_cached, metrics_window
from metrics.serializers import MetricsFilterSerializer, MetricsSerializer
from releases.models import Project


def _project(principal, slug: str | None) -> Project | None:
    token_project = principal.project if getattr(principal, "is_project_token", False) else None
    if not slug:
        return token_project
    project = Project.objects.filter(slug=slug).first()
    if project is None:
        raise ValidationFailed("Unknown project.", errors={"project": [f"No project “{slug}”."]})
    if token_project is not None and token_project.pk != project.pk:
        raise NotAllowed("This project token belongs to another project.")
    return project


@extend_schema(
    parameters=[MetricsFilterSerializer],
    responses={200: MetricsSerializer, 400: API_ERROR, 403: API_ERROR},
    operation_id="metrics_read",
    summary="The KPIs (value, target, met) and the five DORA metrics (value, band) with "
    "the counts behind each, per week too, for a project or all, over a window",
)
@api_view(["GET"])
@permission_classes([roles_allowed(read=READ_ROLES, project_token=True)])
def metrics(request):
    data = validated(MetricsFilterSerializer, request.query_params)
    project = _project(request.user, data.get("project"))
    window = metrics_window(since=data.get("since"), until=data.get("until"))
    if window.since > window.until:
        raise ValidationFailed(
            "The window is empty.", errors={"since": ["Since comes on or before until."]}
        )
    if window.days > MAX_DAYS:
        raise ValidationFailed(
            "The window is too long.", errors={"since": [f"At most {MAX_DAYS} days."]}
        )
    return Response(report_data(metrics_report_cached(project=project, window=window)))
