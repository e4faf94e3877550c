"""The API of webhooks (admins) and the inbox (everyone, their own). Thin like the pages."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.response import Response

from liftoff.api import validated
from liftoff.roles import READ_ROLES, Role, roles_allowed
from notifications.selectors import inbox, unread_count, webhooks_of
from notifications.serializers import (
    InboxSerializer,
    WebhookCreatedSerializer,
    WebhookCreateSerializer,
    WebhookSerializer,
)
from notifications.services import webhook_create
from releases.selectors import project_get

ADMINS = roles_allowed(read={Role.ADMIN}, write={Role.ADMIN})
INBOX_SIZE = 50


@extend_schema(
    methods=["GET"],
    responses=WebhookSerializer(many=True),
    summary="List a project's webhooks (never their secrets)",
)
@extend_schema(
    methods=["POST"],
    request=WebhookCreateSerializer,
    responses={201: WebhookCreatedSerializer},
    summary="Add a webhook; its `whsec_` secret is in this answer only",
)
@api_view(["GET", "POST"])
@permission_classes([ADMINS])
def webhooks(request, slug: str):
    project = project_get(slug=slug)
    if request.method == "GET":
        return Response(WebhookSerializer(webhooks_of(project=project), many=True).data)
    data = validated(WebhookCreateSerializer, request.data)
    endpoint, secret = webhook_create(project=project, actor=request.user, **data)
    endpoint.secret = secret
    return Response(WebhookCreatedSerializer(endpoint).data, status=status.HTTP_201_CREATED)


@extend_schema(responses=InboxSerializer, summary="Your unread count and newest notifications")
@api_view(["GET"])
@permission_classes([roles_allowed(read=READ_ROLES)])
def inbox_endpoint(request):
    answer = {
        "unread": unread_count(user=request.user),
        "notifications": inbox(user=request.user)[:INBOX_SIZE],
    }
    return Response(InboxSerializer(answer).data)
