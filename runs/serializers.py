from rest_framework import serializers

from runs.models import Run, Step
from runs.selectors import run_log_tail


class StepSerializer(serializers.ModelSerializer):
    class Meta:
        model = Step
        fields = ["order", "key", "name", "status", "started_at", "finished_at", "summary"]


class RunSerializer(serializers.ModelSerializer):
    steps = serializers.SerializerMethodField()
    log_tail = serializers.SerializerMethodField()
    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    subject = serializers.SerializerMethodField()
    cancel_requested = serializers.SerializerMethodField()

    class Meta:
        model = Run
        fields = [
            "id",
            "kind",
            "status",
            "subject",
            "scope",
            "requested_by",
            "created_at",
            "dispatched_at",
            "started_at",
            "finished_at",
            "heartbeat_at",
            "cancel_requested",
            "error",
            "retry_of",
            "steps",
            "log_tail",
        ]

    def get_steps(self, run) -> list[dict]:
        return StepSerializer(run.steps.order_by("order"), many=True).data

    def get_log_tail(self, run) -> str:
        return run_log_tail(run=run)

    def get_subject(self, run) -> dict:
        return {"type": run.subject_type.model, "id": run.subject_id}

    def get_cancel_requested(self, run) -> bool:
        return run.cancel_requested_at is not None
