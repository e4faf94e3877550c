from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from liftoff.roles import Role, has_role
from runs.models import Run, Step
from runs.selectors import redact_paths, run_log_tail


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
            "outcome",
            "retry_of",
            "steps",
            "log_tail",
        ]

    def get_steps(self, run) -> list[dict]:
        return StepSerializer(run.steps.order_by("order"), many=True).data

    def _operator(self) -> bool:
        """Whether the reader operates Liftoff: only they see the workers' paths."""
        request = self.context.get("request")
        return request is not None and has_role(request.user, {Role.RELEASE_MANAGER})

    def get_log_tail(self, run) -> str:
        tail = run_log_tail(run=run)
        return tail if self._operator() else redact_paths(tail)

    def to_representation(self, run):
        data = super().to_representation(run)
        if not self._operator():
            data["error"] = redact_paths(data["error"])
            for step in data["steps"]:
                step["summary"] = redact_paths(step["summary"])
        return data

    @extend_schema_field(
        {
            "type": "object",
            "properties": {
                "type": {"type": "string"},
                "id": {"type": "string"},
                "label": {"type": "string"},
                "url": {"type": "string"},
            },
            "required": ["type", "id", "label", "url"],
        }
    )
    def get_subject(self, run) -> dict:
        return {
            "type": run.subject_type.model,
            "id": run.subject_id,
            "label": run.subject_label,
            "url": run.subject_url,
        }

    def get_cancel_requested(self, run) -> bool:
        return run.cancel_requested_at is not None
