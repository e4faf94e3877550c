"""Notifications: the in-app inbox, each user's preferences, webhook endpoints, and the
outbox of deliveries (e-mail and webhooks) with every attempt logged.

A Delivery is written by an event handler in the transaction of the change it tells
about, and sent later by a Celery task (the transactional outbox, README "Architecture").
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from releases.models import Project


class Channel(models.TextChoices):
    IN_APP = "in_app", "In the app"
    EMAIL = "email", "E-mail"
    WEBHOOK = "webhook", "Webhook"


class Notification(models.Model):
    """One line of a user's inbox."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    event = models.CharField(max_length=64)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=500, blank=True)  # the object it is about
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            # The header's unread count: WHERE user_id = … AND read_at IS NULL.
            models.Index(fields=["user", "read_at"], name="notif_user_unread"),
            # The inbox page and the API: a user's newest first.
            models.Index(fields=["user", "-created_at"], name="notif_user_newest"),
        ]

    def __str__(self) -> str:
        return self.title


class Preference(models.Model):
    """A user's choice of channels for one event. No row: the defaults
    (`notifications.rules.default_channels`)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    event = models.CharField(max_length=64)
    in_app = models.BooleanField(default=True)
    email = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "event"], name="notif_pref_user_event")
        ]

    def __str__(self) -> str:
        return f"{self.event}: in-app {self.in_app}, e-mail {self.email}"


class WebhookFormat(models.TextChoices):
    STANDARD = "standard", "Standard Webhooks (signed JSON)"
    SLACK = "slack", "Slack-compatible"


class WebhookEndpoint(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=500)
    # Event names, or ["*"] for every event.
    events = models.JSONField(default=list)
    format = models.CharField(
        max_length=16, choices=WebhookFormat.choices, default=WebhookFormat.STANDARD
    )
    # `whsec_…`: kept to sign with, shown once when made, never logged or shown again.
    secret = models.CharField(max_length=100)
    # During a rotation both secrets sign (Standard Webhooks allows several signatures).
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_until = models.DateTimeField(null=True, blank=True)
    active = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    # Set only by an admin: lets the URL resolve to loopback, link-local or a cloud
    # metadata address (a receiver on the same machine; the tests' receivers).
    allow_private = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    # Until then its deliveries go on the slow lane: an attempt had no answer within
    # WEBHOOK_FAST_SECONDS (set and cleared by notifications.services.delivery_record).
    slow_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.url

    def listens_to(self, event: str) -> bool:
        return "*" in self.events or event in self.events


class Lane(models.TextChoices):
    """Which queue (and worker) sends a delivery: settings.NOTIFICATIONS_QUEUE or
    NOTIFICATIONS_SLOW_QUEUE."""

    FAST = "fast", "Fast"
    SLOW = "slow", "Slow"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"
    DISABLED = "disabled", "Endpoint disabled"


FINAL_DELIVERY_STATES = frozenset(
    {DeliveryStatus.DELIVERED, DeliveryStatus.FAILED, DeliveryStatus.DISABLED}
)


def _message_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


class Delivery(models.Model):
    """The outbox row: one e-mail to a user or one POST to an endpoint."""

    channel = models.CharField(
        max_length=16, choices=[(Channel.EMAIL, "E-mail"), (Channel.WEBHOOK, "Webhook")]
    )
    endpoint = models.ForeignKey(
        WebhookEndpoint, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notification_deliveries",
    )
    event = models.CharField(max_length=64)
    # Exactly what is sent (a webhook's JSON body; an e-mail's title, body and link), fixed
    # when the event happened, so that every retry sends the same thing.
    payload = models.JSONField(default=dict)
    # The `webhook-id` header: the same across retries, so receivers can drop duplicates.
    message_id = models.CharField(max_length=40, default=_message_id, unique=True)
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            # The sweeper: WHERE status IN ('pending', 'sending') AND next_attempt_at <= now
            # (for sending, claimed_at is compared too).
            models.Index(fields=["status", "next_attempt_at"], name="notif_delivery_due"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(channel=Channel.WEBHOOK, endpoint__isnull=False)
                    | models.Q(channel=Channel.EMAIL, user__isnull=False)
                ),
                name="notif_delivery_has_target",
            )
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.event} #{self.pk}"


class DeliveryAttempt(models.Model):
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.status_code or self.error} after {self.duration_ms} ms"


# --- Announcements -------------------------------------------------------------------------
class Tone(models.TextChoices):
    """The seed's three voices (RELEASE_PROCESS.md, "Personality-Specific Communications")."""

    ORACLE = "oracle", "🔮 Oracle"
    COMPLIANCE = "compliance", "📊 Compliance"
    COSMIC = "cosmic", "🌠 Cosmic"


class AnnouncementChannel(models.TextChoices):
    IN_APP = "in_app", "In the app (inbox)"
    EMAIL = "email", "E-mail"
    WEBHOOK = "webhook", "The project's webhooks"


class AnnouncementTemplate(models.Model):
    """A project's Markdown for one tone, with `{{ name }}` placeholders
    (notifications.announcements). A project without one uses the seed's."""

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="announcement_templates"
    )
    tone = models.CharField(max_length=16, choices=Tone.choices)
    markdown = models.TextField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["project", "tone"]
        constraints = [
            models.UniqueConstraint(fields=["project", "tone"], name="announce_template_tone")
        ]

    def __str__(self) -> str:
        return f"{self.tone} template"


class Announcement(models.Model):
    """A release's announcement in one tone: the draft as the manager saved it, then what
    was published (fixed from then on). No row: the draft is the project's template
    filled with the release's facts."""

    release = models.ForeignKey(
        "releases.Release", on_delete=models.CASCADE, related_name="announcements"
    )
    tone = models.CharField(max_length=16, choices=Tone.choices)
    markdown = models.TextField()
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)
    # Set once, by a conditional UPDATE (notifications.services.announcement_publish).
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    channels = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["release", "tone"]
        constraints = [
            models.UniqueConstraint(fields=["release", "tone"], name="announcement_release_tone")
        ]

    def __str__(self) -> str:
        return f"{self.tone} announcement of {self.release_id}"

    @property
    def published(self) -> bool:
        return self.published_at is not None
