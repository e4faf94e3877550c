"""The shape of `GET /api/v1/metrics/` (docs/api.md, "Metrics"): the body itself is
`metrics.export.report_data`, the same document as the page's JSON export."""

from rest_framework import serializers

from metrics.selectors import MAX_DAYS


class MetricsFilterSerializer(serializers.Serializer):
    project = serializers.SlugField(
        required=False, max_length=50, help_text="A project's slug; all projects without it."
    )
    since = serializers.DateField(
        required=False, help_text="First day (included); default: 29 days before until."
    )
    until = serializers.DateField(required=False, help_text="Last day (included); default today.")

    def validate(self, data):
        since, until = data.get("since"), data.get("until")
        if since and until:
            if since > until:
                raise serializers.ValidationError({"until": ["Until comes on or after since."]})
            if (until - since).days + 1 > MAX_DAYS:
                raise serializers.ValidationError({"since": [f"At most {MAX_DAYS} days."]})
        return data


class _FigureSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    unit = serializers.CharField(help_text="%, minutes, hours, /5, issues or per week.")
    value = serializers.FloatField(allow_null=True, help_text="Null: nothing to measure.")
    numerator = serializers.IntegerField(
        allow_null=True, help_text="A rate's counted items (null for a median)."
    )
    denominator = serializers.IntegerField(allow_null=True, help_text="A rate's whole.")
    count = serializers.IntegerField(allow_null=True, help_text="The values behind a median.")
    definition = serializers.CharField()
    trend = serializers.ListField(
        child=serializers.FloatField(allow_null=True), help_text="The figure per week (`weeks`)."
    )


class KpiSerializer(_FigureSerializer):
    target = serializers.FloatField()
    comparison = serializers.ChoiceField(
        choices=[">", "<", "≤"], help_text="Met when value … target."
    )
    met = serializers.BooleanField(allow_null=True, help_text="Null: no value to judge.")


class SecurityKpiSerializer(KpiSerializer):
    findings = serializers.IntegerField(
        help_text="High and critical findings of the security gates (latest result each)."
    )
    security_incidents = serializers.IntegerField(
        help_text="Security incidents opened in the window."
    )


class DoraFigureSerializer(_FigureSerializer):
    band = serializers.ChoiceField(
        choices=["elite", "high", "medium", "low"],
        allow_null=True,
        help_text="The DORA level of the project's report year; null without a value.",
    )


class FrequencySerializer(DoraFigureSerializer):
    cadence = serializers.ChoiceField(
        choices=["daily", "weekly", "monthly", "yearly"], allow_null=True
    )
    days_with_deployment = serializers.IntegerField()


class RecoverySerializer(DoraFigureSerializer):
    failed = serializers.IntegerField(help_text="Deployments that needed intervention.")
    unrecovered = serializers.IntegerField(help_text="Of those, not recovered yet.")
    time_to_restore = serializers.FloatField(
        allow_null=True, help_text="Incidents opened → resolved, median, hours."
    )
    time_to_restore_count = serializers.IntegerField()


class KpisSerializer(serializers.Serializer):
    deployment_success_rate = KpiSerializer()
    rollback_frequency = KpiSerializer()
    deployment_time = KpiSerializer()
    user_satisfaction = KpiSerializer()
    security_issues = SecurityKpiSerializer()
    performance_regression = KpiSerializer()


class DoraSerializer(serializers.Serializer):
    deployment_frequency = FrequencySerializer()
    lead_time = DoraFigureSerializer()
    change_fail_rate = DoraFigureSerializer()
    recovery_time = RecoverySerializer()
    rework_rate = DoraFigureSerializer()


class MetricsSerializer(serializers.Serializer):
    project = serializers.CharField(allow_null=True, help_text="Null: all projects.")
    since = serializers.DateField()
    until = serializers.DateField()
    dora_year = serializers.IntegerField()
    weeks = serializers.ListField(
        child=serializers.DateField(), help_text="The first day of each week of the trends."
    )
    kpis = KpisSerializer()
    dora = DoraSerializer()
