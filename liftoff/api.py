"""The API's edges: the error format, and the OpenAPI description of our auth.

Errors always look like `{"detail": "...", "errors": {"field": ["..."]}}`.
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from liftoff.errors import DomainError, ValidationFailed


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "liftoff.api_auth.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "A Liftoff API token."}


def _flatten(detail) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {
            str(k): [str(m) for m in (v if isinstance(v, list) else [v])]
            if not isinstance(v, dict)
            else [str(v)]
            for k, v in detail.items()
        }
    return {}


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        body = {"detail": exc.message, "errors": exc.errors, **exc.extra}
        return Response(body, status=exc.status_code)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # A bug: let Django log it and answer 500.
    detail = exc.detail if isinstance(exc, exceptions.APIException) else response.data
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten(detail)
        non_field = errors.pop("non_field_errors", None)
        message = non_field[0] if non_field else "The request is not valid."
        if isinstance(detail, list):
            message = str(detail[0]) if detail else message
        response.data = {"detail": message, "errors": errors}
    else:
        response.data = {
            "detail": str(detail.get("detail", detail))
            if isinstance(detail, dict)
            else str(detail),
            "errors": {},
        }
    if response.status_code == status.HTTP_401_UNAUTHORIZED:
        response["WWW-Authenticate"] = "Bearer"
    return response


def validated(serializer_class, data) -> dict:
    """`serializer_class(data=data)`'s validated data, or ValidationFailed whose errors name
    nested fields as paths (`results[0].value`), like the services name them."""
    incoming = serializer_class(data=data)
    if incoming.is_valid():
        return incoming.validated_data
    errors = _flat(incoming.errors)
    message = errors.pop("non_field_errors", ["The request is not valid."])[0]
    raise ValidationFailed(message, errors=errors)


def _flat(detail, prefix: str = "") -> dict[str, list[str]]:
    if isinstance(detail, dict):
        out: dict[str, list[str]] = {}
        for key, value in detail.items():
            if isinstance(key, int) or str(key).isdigit():  # a list's item, by index
                path = f"{prefix}[{key}]"
            elif key == "non_field_errors" and prefix:  # about the nested field itself
                path = prefix
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            out.update(_flat(value, path))
        return out
    if isinstance(detail, list) and any(isinstance(d, dict | list) for d in detail):
        out = {}
        for index, value in enumerate(detail):
            if value:
                out.update(_flat(value, f"{prefix}[{index}]"))
        return out
    messages = detail if isinstance(detail, list) else [detail]
    return {prefix or "non_field_errors": [str(m) for m in messages]}


class ApiErrorSerializer(serializers.Serializer):
    """Every 4xx answer (`liftoff.api.exception_handler`)."""

    detail = serializers.CharField()
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text='Per field: {"results[0].gate": ["No gate “x” in this project."]}',
    )
    missing = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="409 only: what blocks the change.",
    )


API_ERROR = OpenApiResponse(ApiErrorSerializer, description="Refused; `errors` names the fields.")
API_CONFLICT = OpenApiResponse(ApiErrorSerializer, description="Blocked; `missing` says by what.")


# The refusals every operation may answer, added to each operation of the document by
# `ApiSchemaGenerator`, so that an endpoint a later issue adds documents them too without
# repeating them: (status, when it applies, description).
_COMMON_ERRORS = [
    (
        "400",
        "input",
        "The request is not valid: a missing field, a wrong type, an unknown value; "
        "`errors` names the fields.",
    ),
    (
        "401",
        "always",
        "No credentials, or a token that is unknown, revoked or expired "
        "(`WWW-Authenticate: Bearer`).",
    ),
    ("403", "always", "Your role (or this project token) does not allow this."),
    ("404", "path", "No such object (or no such URL under /api/v1/)."),
]


class ApiSchemaGenerator(SchemaGenerator):
    """The OpenAPI document of /api/v1/: drf-spectacular's, plus the refusals every
    operation may answer (the shared error shape), where the operation does not say more.

    400 is listed where the operation reads input (a body or query parameters), 404 where
    its path names an object; 401 and 403 everywhere, since every endpoint checks who
    calls. An operation's own `responses` (e.g. 409 with `missing`) are kept as written."""

    def get_schema(self, request=None, public=False):
        schema = super().get_schema(request=request, public=public)
        error = {"$ref": "#/components/schemas/ApiError"}
        schema.setdefault("components", {}).setdefault("schemas", {}).setdefault(
            "ApiError", _API_ERROR_COMPONENT
        )
        for path, operations in schema.get("paths", {}).items():
            for operation in operations.values():
                params = operation.get("parameters", [])
                reads_input = "requestBody" in operation or any(
                    p.get("in") == "query" for p in params
                )
                applies = {"always": True, "input": reads_input, "path": "{" in path}
                responses = operation.setdefault("responses", {})
                for code, when, description in _COMMON_ERRORS:
                    if applies[when] and code not in responses:
                        responses[code] = {
                            "description": description,
                            "content": {"application/json": {"schema": error}},
                        }
        return schema


# The error shape as a component, for a document in which no operation names it itself.
_API_ERROR_COMPONENT = {
    "type": "object",
    "properties": {
        "detail": {"type": "string"},
        "errors": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
        "missing": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["detail", "errors"],
}


@extend_schema(exclude=True)
@api_view(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
@authentication_classes([])
@permission_classes([AllowAny])
def api_not_found(request, rest: str = ""):
    """Any URL under /api/v1/ that no endpoint matches (the last route of the API): the
    JSON error shape, not the site's HTML 404 page, so a client always reads one format.
    It needs no credentials: it says nothing about any object."""
    raise exceptions.NotFound(f"No endpoint at {request.path}; see /api/v1/openapi.json.")
