"""The API's edges: the error format, and the OpenAPI description of our auth.

Errors always look like `{"detail": "...", "errors": {"field": ["..."]}}`.
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from liftoff.errors import DomainError


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
