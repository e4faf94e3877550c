"""The API of a release's checklists and their items (docs/api.md).

Thin like the pages: who may call, the access selector, the body's shape, one service
call, the answer. Errors are DomainErrors, turned into JSON by `liftoff.api`.
"""

from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view, permission_classes
from rest_framework.response import Response

from checklists.selectors import checklist_item_get, release_checklists
from checklists.serializers import (
    ChecklistItemSerializer,
    ChecklistItemUpdateSerializer,
    PhaseSerializer,
)
from checklists.services import checklist_item_update
from liftoff.api import API_CONFLICT, API_ERROR, validated
from liftoff.roles import READ_ROLES, Role, roles_allowed
from releases.selectors import release_get


@extend_schema(
    responses=PhaseSerializer(many=True),
    summary="A release's checklists by phase, with their items and progress",
)
@api_view(["GET"])
@permission_classes([roles_allowed(read=READ_ROLES)])
def release_checklists_endpoint(request, release_id: int):
    release = release_get(release_id=release_id)
    return Response(PhaseSerializer(release_checklists(release=release), many=True).data)


@extend_schema(
    request=ChecklistItemUpdateSerializer,
    responses={200: ChecklistItemSerializer, 400: API_ERROR, 409: API_CONFLICT},
    summary="Tick, untick, give a result or a note (only the fields sent change)",
)
@api_view(["POST"])
@permission_classes([roles_allowed(read=READ_ROLES, write={Role.RELEASE_MANAGER})])
def checklist_item_endpoint(request, item_id: int):
    item = checklist_item_get(item_id=item_id)
    data = validated(ChecklistItemUpdateSerializer, request.data)
    item = checklist_item_update(
        item=item,
        actor=request.user,
        done=data.get("done"),
        result=data.get("result"),
        note=data.get("note"),
    )
    return Response(ChecklistItemSerializer(item).data)
