"""The API's shapes for incidents. Input serializers check shape and types; the rules
(who may open, which move is allowed, the summary) are the services'."""

from rest_framework import serializers

from incidents.models import IncidentStatus, Severity, Source


class IncidentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    project = serializers.CharField(source="project.slug", help_text="The project's slug.")
    environment = serializers.CharField(
        source="environment.name", allow_null=True, help_text="The environment's name, or null."
    )
    severity = serializers.ChoiceField(choices=Severity.values)
    security = serializers.BooleanField(
        help_text="A security incident: counted by the security issues KPI."
    )
    status = serializers.ChoiceField(choices=IncidentStatus.values)
    title = serializers.CharField()
    source = serializers.ChoiceField(choices=Source.values, help_text="ui, api or verification")
    deployment = serializers.IntegerField(
        source="deployment_id",
        allow_null=True,
        help_text="The deployment it is about, recorded when it was opened.",
    )
    opened_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField()
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    mitigated_at = serializers.DateTimeField(allow_null=True)
    resolved_at = serializers.DateTimeField(allow_null=True)
    respond_by = serializers.DateTimeField(
        allow_null=True, help_text="Acknowledge by then; null: no response clock (low)."
    )
    breached = serializers.BooleanField(help_text="Nobody acknowledged it by respond_by.")
    escalation_step = serializers.IntegerField()
    summary = serializers.CharField(help_text="How it was resolved (empty until then).")


class IncidentPageSerializer(serializers.Serializer):
    """A page of `GET /api/v1/incidents/` (limit/offset pagination)."""

    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = IncidentSerializer(many=True)


class IncidentFilterSerializer(serializers.Serializer):
    project = serializers.CharField(required=False, max_length=50, help_text="A project's slug.")
    environment = serializers.CharField(required=False, max_length=50)
    severity = serializers.ChoiceField(choices=Severity.values, required=False)
    status = serializers.ChoiceField(choices=IncidentStatus.values, required=False)
    breached = serializers.BooleanField(required=False, allow_null=True, default=None)
    security = serializers.BooleanField(required=False, allow_null=True, default=None)


class IncidentCreateSerializer(serializers.Serializer):
    project = serializers.SlugField(max_length=50, help_text="The project's slug.")
    environment = serializers.CharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        default=None,
        max_length=50,
        help_text="The name of an environment of the project (optional).",
    )
    severity = serializers.ChoiceField(choices=Severity.values)
    security = serializers.BooleanField(
        required=False,
        default=False,
        help_text="A security incident (a breach, an exposed secret, an exploited flaw).",
    )
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=20000
    )
    started_at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        default=None,
        help_text="When the impact began (ISO 8601); left out: now. It picks the deployment.",
    )


class IncidentTransitionSerializer(serializers.Serializer):
    to = serializers.ChoiceField(choices=[s for s in IncidentStatus.values if s != "open"])
    summary = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=20000,
        help_text="Required to resolve: at least 10 characters.",
    )
