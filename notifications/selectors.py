"""Reads of the notifications app, and who may see what."""

from django.shortcuts import get_object_or_404

from notifications.models import (
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    Notification,
    Preference,
    WebhookEndpoint,
)
from notifications.rules import RULES, default_channels
from releases.models import Project


def unread_count(*, user) -> int:
    """The header's count: one query on the (user, read_at) index."""
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def inbox(*, user):
    """A user's notifications, newest first (the page paginates, the API slices)."""
    return Notification.objects.filter(user=user)


def preferences_table(*, user) -> list[dict]:
    """Every notifying event with the user's channels (their choice or the default)."""
    chosen = {p.event: p for p in Preference.objects.filter(user=user)}
    rows = []
    for event, rule in RULES.items():
        pref = chosen.get(event)
        channels = {"in_app": pref.in_app, "email": pref.email} if pref else default_channels(event)
        rows.append({"event": event, "label": rule.label, **channels})
    return rows


def webhooks_of(*, project: Project):
    return WebhookEndpoint.objects.filter(project=project)


def webhook_get(*, project: Project, endpoint_id: int) -> WebhookEndpoint:
    """404 for an endpoint of another project."""
    return get_object_or_404(WebhookEndpoint, project=project, pk=endpoint_id)


def deliveries_failed():
    """The admin's page: what gave up or was stopped, newest first."""
    return Delivery.objects.filter(
        status__in=[DeliveryStatus.FAILED, DeliveryStatus.DISABLED]
    ).select_related("endpoint__project", "user")


def delivery_get(*, delivery_id: int) -> Delivery:
    return get_object_or_404(Delivery, pk=delivery_id)


def delivery_with_target(*, delivery_id: int) -> Delivery:
    """A delivery with its endpoint's project or its user (the delivery's page)."""
    return get_object_or_404(
        Delivery.objects.select_related("endpoint__project", "user"), pk=delivery_id
    )


def delivery_attempts(*, delivery: Delivery):
    """Every attempt of one delivery, oldest first (the FK's index)."""
    return DeliveryAttempt.objects.filter(delivery=delivery).order_by("at", "pk")


def endpoint_attempts(*, endpoint: WebhookEndpoint):
    """The attempts of an endpoint's deliveries, newest first, with the delivery each
    belongs to (the webhook's attempt log; the page paginates)."""
    return (
        DeliveryAttempt.objects.filter(delivery__endpoint=endpoint)
        .select_related("delivery")
        .order_by("-at", "-pk")
    )
