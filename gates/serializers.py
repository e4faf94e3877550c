"""The API's shapes for quality gates, gate results, approvals and waivers.

Input serializers check the shape and types of a request; the rules (which gate, who may
sign, what is already decided) are the services', so that the page, the API and the
command line refuse the same things with the same words. Output serializers read the
selectors' views (`GateView`) and never query on their own.
"""

import math
import re

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from gates.models import Decision, GateKind, GateStatus
from gates.services import REPORT_KEEP_CHARS

# One CI post is one CI run: a handful of gates, never an unbounded list.
MAX_RESULTS_PER_POST = 50


# --- Gates ------------------------------------------------------------------------------


class GateStatusField(serializers.ChoiceField):
    """pending, passed, failed, waived or not_measured."""

    def __init__(self, **kwargs):
        super().__init__(choices=GateStatus.choices, **kwargs)


class ApprovalsSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Current approvals (stale ones do not count).")
    required = serializers.IntegerField()
    label = serializers.CharField(help_text='"N of M"')
    approved_by = serializers.ListField(child=serializers.CharField())
    rejected_by = serializers.ListField(child=serializers.CharField())


class EvidenceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = GateStatusField()
    value = serializers.FloatField(allow_null=True)
    threshold = serializers.CharField(help_text="The threshold when it was measured.")
    source = serializers.CharField(help_text="validation (a Liftoff run) or ci")
    run_id = serializers.IntegerField(allow_null=True, help_text="The Liftoff validation run.")
    ci_run_id = serializers.CharField(help_text="The CI system's run id (CI reports).")
    commit = serializers.CharField()
    reason = serializers.CharField()
    report_name = serializers.CharField()
    measured_at = serializers.DateTimeField()


class WaiverSerializer(serializers.Serializer):
    by = serializers.CharField(source="approver.username")
    reason = serializers.CharField()
    at = serializers.DateTimeField(source="created_at")


class GateSerializer(serializers.Serializer):
    """A `gates.selectors.GateView`."""

    key = serializers.CharField(source="gate.key")
    name = serializers.CharField(source="gate.name")
    description = serializers.CharField(source="gate.description")
    kind = serializers.ChoiceField(source="gate.kind", choices=GateKind.choices)
    status = GateStatusField()
    value = serializers.FloatField(allow_null=True, help_text="The current measured value.")
    threshold = serializers.CharField(
        source="gate.threshold_label", help_text='e.g. "≥ 90 %"; empty for manual gates.'
    )
    approvals = serializers.SerializerMethodField()
    evidence = serializers.SerializerMethodField()
    waiver = serializers.SerializerMethodField()
    stale_approvals = serializers.SerializerMethodField()
    blocker = serializers.SerializerMethodField()

    @extend_schema_field(ApprovalsSerializer(allow_null=True))
    def get_approvals(self, view) -> dict | None:
        if view.gate.kind != GateKind.MANUAL:
            return None
        return {
            "count": view.approvals_count,
            "required": view.required,
            "label": view.approvals_label,
            "approved_by": [a.approver.get_username() for a in view.approvals],
            "rejected_by": [a.approver.get_username() for a in view.rejections],
        }

    @extend_schema_field(EvidenceSerializer(allow_null=True))
    def get_evidence(self, view) -> dict | None:
        result = view.result
        if result is None:
            return None
        return {
            "id": result.pk,
            "status": result.status,
            "value": result.value,
            "threshold": result.threshold,
            "source": result.source,
            "run_id": result.run_id,
            "ci_run_id": result.ci_run_id,
            "commit": result.commit,
            "reason": result.reason,
            "report_name": result.report_name,
            "measured_at": result.measured_at,
        }

    @extend_schema_field(WaiverSerializer(allow_null=True))
    def get_waiver(self, view) -> dict | None:
        return WaiverSerializer(view.waiver).data if view.waiver else None

    def get_stale_approvals(self, view) -> int:
        """Approvals given for an older release head: shown, not counted."""
        return len(view.stale)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_blocker(self, view) -> str | None:
        if view.status in {GateStatus.PASSED, GateStatus.WAIVED}:
            return None
        return view.blocker


@extend_schema_field({"type": "number", "nullable": True})
class MeasuredValueField(serializers.Field):
    """A JSON number or null. "93" or true are a CI script's bug, not a measurement."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | float):
            raise serializers.ValidationError("Send a number, or null when not measured.")
        if not math.isfinite(data):
            raise serializers.ValidationError("Send a finite number.")
        return float(data)

    def to_representation(self, value):
        return value


class GateResultEntrySerializer(serializers.Serializer):
    gate = serializers.SlugField(
        min_length=1, max_length=50, help_text="The gate's key, e.g. coverage."
    )
    value = MeasuredValueField(
        allow_null=True,
        help_text="A number, or null when the tool could not measure (never a pass).",
    )
    report = serializers.CharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        max_length=REPORT_KEEP_CHARS,
        help_text=f"The tool's report or log, at most {REPORT_KEEP_CHARS:,} characters.",
    )
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class GateResultsPostSerializer(serializers.Serializer):
    run_id = serializers.CharField(
        min_length=1, max_length=200, help_text="The CI system's id of its run."
    )
    commit = serializers.CharField(
        min_length=7, max_length=64, help_text="The commit measured (hex SHA)."
    )
    results = GateResultEntrySerializer(many=True, allow_empty=False, min_length=1)

    def validate_commit(self, value: str) -> str:
        value = value.strip().lower()
        if not re.fullmatch(r"[0-9a-f]{7,64}", value):
            raise serializers.ValidationError("Give the commit as a hexadecimal SHA.")
        return value

    def validate_results(self, value: list) -> list:
        if len(value) > MAX_RESULTS_PER_POST:
            raise serializers.ValidationError(
                f"Send at most {MAX_RESULTS_PER_POST} results in one post."
            )
        return value

    def validate(self, attrs):
        # One result per gate and CI run (the unique constraint): say which one repeats.
        seen: set[str] = set()
        for index, entry in enumerate(attrs["results"]):
            if entry["gate"] in seen:
                raise serializers.ValidationError(
                    {f"results[{index}].gate": [f"“{entry['gate']}” appears twice."]}
                )
            seen.add(entry["gate"])
        return attrs


class RecordedResultSerializer(serializers.Serializer):
    gate = serializers.CharField(source="gate.key")
    status = GateStatusField()
    value = serializers.FloatField(allow_null=True)
    threshold = serializers.CharField()
    reason = serializers.CharField()
    commit = serializers.CharField()
    measured_at = serializers.DateTimeField()


class GateStatusSerializer(serializers.Serializer):
    key = serializers.CharField(source="gate.key")
    status = GateStatusField()


class GateResultsAnswerSerializer(serializers.Serializer):
    run_id = serializers.CharField()
    created = serializers.BooleanField(help_text="False when this run id was posted before.")
    results = RecordedResultSerializer(many=True)
    gates = GateStatusSerializer(many=True, help_text="Every gate's status after the post.")


class ApprovalPostSerializer(serializers.Serializer):
    gate = serializers.SlugField(min_length=1, max_length=50, help_text="The manual gate's key.")
    decision = serializers.ChoiceField(choices=Decision.values)
    comment = serializers.CharField(
        required=False, allow_blank=True, max_length=4000, help_text="Required to reject."
    )


class WaiverPostSerializer(serializers.Serializer):
    gate = serializers.SlugField(
        min_length=1,
        max_length=50,
        help_text="The key of an automated gate that failed, is not measured or is pending.",
    )
    reason = serializers.CharField(
        allow_blank=True, max_length=4000, help_text="Why it may pass; 10 characters or more."
    )
