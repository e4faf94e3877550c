"""The API's shapes of webhooks and the inbox (docs/api.md, "Notifications"). A webhook's
secret is in the answer that made it, and never again."""

from rest_framework import serializers

from notifications.models import Notification, WebhookEndpoint, WebhookFormat


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
