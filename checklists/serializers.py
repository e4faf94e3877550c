"""The API's shapes for checklists, gates, gate results, approvals and waivers.

Input serializers check the shape and types of a request; the rules (which gate, who may
sign, what is already decided) are the services', so that the page, the API and the
command line refuse the same things with the same words. Output serializers read the
selectors' views (`GateView`, `PhaseView`, `ChecklistView`) and never query on their own.
"""

import math
import re

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from checklists.models import Decision, GateKind, GateStatus, ItemResult
from checklists.services import REPORT_KEEP_CHARS
from liftoff.errors import ValidationFailed

# One CI post is one CI run: a handful of gates, never an unbounded list.
MAX_RESULTS_PER_POST = 50


def validated(serializer_class, data) -> dict:
    """`serializer_class(data=data)`'s validated data, or ValidationFailed whose errors name
    nested fields as paths (`results[0].value`), like the services name them."""
    incoming = serializer_class(data=data)
    if incoming.is_valid():
        return incoming.validated_data
    errors = _flat(incoming.errors)
    message = errors.pop("non_field_errors", ["The request is not valid."])[0]
    raise ValidationFailed(message, errors=errors)


def _flat(detail, prefix: str = "") -> dict[str, list[str]]:
    if isinstance(detail, dict):
        out: dict[str, list[str]] = {}
        for key, value in detail.items():
            if isinstance(key, int) or str(key).isdigit():  # a list's item, by index
                path = f"{prefix}[{key}]"
            elif key == "non_field_errors" and prefix:  # about the nested field itself
                path = prefix
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            out.update(_flat(value, path))
        return out
    if isinstance(detail, list) and any(isinstance(d, dict | list) for d in detail):
        out = {}
        for index, value in enumerate(detail):
            if value:
                out.update(_flat(value, f"{prefix}[{index}]"))
        return out
    messages = detail if isinstance(detail, list) else [detail]
    return {prefix or "non_field_errors": [str(m) for m in messages]}


class ApiErrorSerializer(serializers.Serializer):
    """Every 4xx answer (`liftoff.api.exception_handler`)."""

    detail = serializers.CharField()
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text='Per field: {"results[0].gate": ["No gate “x” in this project."]}',
    )
    missing = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="409 only: what blocks the change.",
    )


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
    """A `checklists.selectors.GateView`."""

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
    gate = serializers.SlugField(max_length=50, help_text="The gate's key, e.g. coverage.")
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
    run_id = serializers.CharField(max_length=200, help_text="The CI system's id of its run.")
    commit = serializers.CharField(max_length=64, help_text="The commit measured (hex SHA).")
    results = GateResultEntrySerializer(many=True, allow_empty=False)

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
    gate = serializers.SlugField(max_length=50, help_text="The manual gate's key.")
    decision = serializers.ChoiceField(choices=Decision.values)
    comment = serializers.CharField(
        required=False, allow_blank=True, max_length=4000, help_text="Required to reject."
    )


class WaiverPostSerializer(serializers.Serializer):
    gate = serializers.SlugField(max_length=50, help_text="The automated gate's key.")
    reason = serializers.CharField(
        allow_blank=True, max_length=4000, help_text="Why it may pass; 10 characters or more."
    )


# --- Checklists -------------------------------------------------------------------------


class ChecklistItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    description = serializers.CharField()
    kind = serializers.CharField(help_text="check (ticked) or scenario (given a result)")
    required = serializers.BooleanField()
    done = serializers.BooleanField()
    result = serializers.CharField(help_text="pass, fail, blocked, na or empty")
    note = serializers.CharField()
    updated_by = serializers.CharField(source="updated_by.username", allow_null=True, default=None)
    updated_at = serializers.DateTimeField(allow_null=True)
    complete = serializers.BooleanField(source="is_complete")


class ChecklistSerializer(serializers.Serializer):
    """A `checklists.selectors.ChecklistView`."""

    id = serializers.IntegerField(source="checklist.id")
    name = serializers.CharField(source="checklist.name")
    description = serializers.CharField(source="checklist.description")
    done = serializers.IntegerField()
    total = serializers.IntegerField()
    percent = serializers.IntegerField()
    items = ChecklistItemSerializer(many=True)


class PhaseSerializer(serializers.Serializer):
    """A `checklists.selectors.PhaseView`."""

    phase = serializers.CharField(source="phase.value")
    label = serializers.CharField(source="phase.label")
    done = serializers.IntegerField()
    total = serializers.IntegerField()
    percent = serializers.IntegerField()
    checklists = ChecklistSerializer(many=True)


class ChecklistItemUpdateSerializer(serializers.Serializer):
    done = serializers.BooleanField(required=False, help_text="Tick or untick a check.")
    result = serializers.ChoiceField(
        choices=[*ItemResult.values, ""],
        required=False,
        allow_blank=True,
        help_text='A scenario\'s result: pass, fail, blocked, na, or "" to clear.',
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)
