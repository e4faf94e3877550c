"""The API's shapes of webhooks and the inbox (docs/api.md, "Notifications"). A webhook's
secret is in the answer that made it, and never again."""

from rest_framework import serializers

from notifications.models import (
    AnnouncementChannel,
    Notification,
    Tone,
    WebhookEndpoint,
    WebhookFormat,
)


class WebhookSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "events",
            "format",
            "allow_private",
            "active",
            "disabled_reason",
            "created_at",
        ]

    events = serializers.ListField(child=serializers.CharField())


class WebhookCreatedSerializer(WebhookSerializer):
    secret = serializers.CharField(help_text="`whsec_…`: shown in this answer only.")

    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "secret"]


class WebhookCreateSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=500)
    events = serializers.ListField(
        child=serializers.CharField(max_length=64),
        min_length=1,
        help_text='Event names, or ["*"] for every event.',
    )
    format = serializers.ChoiceField(choices=WebhookFormat.choices, default=WebhookFormat.STANDARD)
    allow_private = serializers.BooleanField(
        default=False,
        help_text=(
            "Let the URL resolve to this machine, a link-local or a cloud metadata address "
            "(a receiver on the same host). Off by default; only admins use this API."
        ),
    )


class NotificationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "event", "title", "body", "url", "created_at", "read_at"]


class InboxSerializer(serializers.Serializer):
    unread = serializers.IntegerField()
    notifications = NotificationSerializer(many=True, help_text="The newest 50.")


class AnnouncementSerializer(serializers.Serializer):
    """One tone's announcement: the draft as it would be published (placeholders filled),
    or what was published."""

    tone = serializers.ChoiceField(choices=Tone.choices)
    markdown = serializers.CharField()
    published = serializers.BooleanField()
    published_at = serializers.DateTimeField(allow_null=True)
    channels = serializers.ListField(child=serializers.CharField())

    def to_representation(self, draft):
        row = draft.announcement
        return {
            "tone": draft.tone,
            "markdown": draft.markdown,
            "published": draft.published,
            "published_at": row.published_at.isoformat() if draft.published else None,
            "channels": list(row.channels) if draft.published else [],
        }


class AnnouncementPublishSerializer(serializers.Serializer):
    channels = serializers.ListField(
        child=serializers.ChoiceField(choices=AnnouncementChannel.choices),
        min_length=1,
        help_text="Where it goes: in_app (every user's inbox), email, webhook (the "
        "project's webhooks that listen to announcement.published).",
    )
    markdown = serializers.CharField(
        required=False,
        trim_whitespace=False,
        help_text="The text to publish (saved as the draft first); the current draft if "
        "left out. {{ name }} placeholders are filled.",
    )
