"""The API of webhooks (admins) and the inbox (everyone, their own). Thin like the pages."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.response import Response

from liftoff.api import API_ERROR, ApiErrorSerializer, validated
from liftoff.roles import READ_ROLES, Role, roles_allowed
from notifications.selectors import (
    announcement_draft,
    announcement_drafts,
    inbox,
    unread_count,
    webhooks_of,
)
from notifications.serializers import (
    AnnouncementPublishSerializer,
    AnnouncementSerializer,
    InboxSerializer,
    WebhookCreatedSerializer,
    WebhookCreateSerializer,
    WebhookSerializer,
)
from notifications.services import announcement_publish, webhook_create
from releases.selectors import project_get, release_get

ADMINS = roles_allowed(read={Role.ADMIN}, write={Role.ADMIN})
ANNOUNCERS = roles_allowed(read=READ_ROLES, write={Role.RELEASE_MANAGER})
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


@extend_schema(
    responses=AnnouncementSerializer(many=True),
    summary="A release's announcements, one per tone (oracle, compliance, cosmic): the "
    "draft with its placeholders filled, or what was published",
)
@api_view(["GET"])
@permission_classes([ANNOUNCERS])
def release_announcements(request, release_id: int):
    drafts = announcement_drafts(release=release_get(release_id=release_id))
    return Response(AnnouncementSerializer(drafts, many=True).data)


@extend_schema(
    request=AnnouncementPublishSerializer,
    responses={
        200: AnnouncementSerializer,
        400: API_ERROR,
        409: OpenApiResponse(ApiErrorSerializer, description="Published already."),
    },
    summary="Publish one tone's announcement to the channels given (release managers); "
    "409 if it is published already",
)
@api_view(["POST"])
@permission_classes([ANNOUNCERS])
def release_announcement_publish(request, release_id: int, tone: str):
    release = release_get(release_id=release_id)
    data = validated(AnnouncementPublishSerializer, request.data)
    announcement_publish(release=release, tone=tone, actor=request.user, **data)
    return Response(AnnouncementSerializer(announcement_draft(release=release, tone=tone)).data)
