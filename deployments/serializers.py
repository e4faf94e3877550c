"""The API's shapes of environments and deployments (docs/api.md, "Deployments").

An environment's answer never holds a secret: not its secret variables, not its webhook
secret, not its commands (they may carry hosts and paths only operators need). What runs
there, its lock and its freeze come from the selectors, computed by the endpoint and
given here as an `EnvironmentState`, so a list costs a fixed number of queries.
"""

from dataclasses import dataclass

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from deployments.freezes import describe
from deployments.models import (
    Deployment,
    DeploymentKind,
    DeploymentStatus,
    Environment,
    FreezeWindow,
    HealthStatus,
)
from liftoff.roles import Role, has_role
from runs.selectors import redact_paths
from runs.serializers import RunSerializer, StepSerializer

MASK = "••••••"  # what the run engine writes in place of a secret (runs.engine)


@dataclass
class EnvironmentState:
    environment: Environment
    current: Deployment | None
    active: Deployment | None
    freezes: list[FreezeWindow]


def _operator(context) -> bool:
    """Whether the reader operates Liftoff: only they see the workers' paths (as runs)."""
    request = context.get("request")
    return request is not None and has_role(request.user, {Role.RELEASE_MANAGER})


def _absolute(context, path: str) -> str:
    request = context.get("request")
    return request.build_absolute_uri(path) if request is not None else path


class CurrentSerializer(serializers.Serializer):
    version = serializers.CharField()
    commit = serializers.CharField()
    deployment = serializers.IntegerField(source="pk", help_text="The deployment's id.")
    since = serializers.DateTimeField(source="finished_at", allow_null=True)


class HealthSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        source="health", choices=HealthStatus.choices, help_text="The last check's answer."
    )
    checked_at = serializers.DateTimeField(source="health_checked_at", allow_null=True)
    detail = serializers.CharField(source="health_detail")


class FreezeSerializer(serializers.Serializer):
    reason = serializers.CharField()
    description = serializers.SerializerMethodField(help_text="When the window holds.")

    def get_description(self, window) -> str:
        return describe(window)


class EnvironmentSerializer(serializers.Serializer):
    name = serializers.CharField(source="environment.name")
    order = serializers.IntegerField(source="environment.order")
    phase = serializers.CharField(
        source="environment.phase",
        help_text="The release phase it stands for: `staging`, `production` or empty.",
    )
    strategy = serializers.CharField(
        source="environment.strategy", help_text="`command`, `webhook` or `blue_green`."
    )
    url = serializers.CharField(source="environment.url")
    current = CurrentSerializer(
        allow_null=True, help_text="What runs there now (the newest verified deployment)."
    )
    in_progress = serializers.SerializerMethodField(
        help_text="The id of the deployment queued or running there, or null."
    )
    health = HealthSerializer(source="environment")
    lock = serializers.SerializerMethodField(help_text="The lock's reason, or null.")
    freeze = serializers.SerializerMethodField(help_text="The freeze window in force now, or null.")

    def get_in_progress(self, state) -> int | None:
        return state.active.pk if state.active else None

    def get_lock(self, state) -> str | None:
        environment = state.environment
        return (environment.locked_reason or "No reason given.") if environment.locked else None

    @extend_schema_field(FreezeSerializer(allow_null=True))
    def get_freeze(self, state):
        return FreezeSerializer(state.freezes[0]).data if state.freezes else None


class LockSerializer(serializers.Serializer):
    reason = serializers.CharField(min_length=1, max_length=500)


class DeploymentSerializer(serializers.ModelSerializer):
    release = serializers.IntegerField(source="release_id", help_text="The release's id.")
    project = serializers.CharField(source="environment.project.slug")
    environment = serializers.CharField(source="environment.name")
    requested_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    rolled_back_by = serializers.SerializerMethodField(
        help_text="The rollback that undid it, or null."
    )
    rollback_of = serializers.IntegerField(
        source="rollback_of_id", allow_null=True, help_text="The deployment it undoes, or null."
    )
    run = serializers.IntegerField(source="run_id", allow_null=True)
    new_commits = serializers.ListField(
        child=serializers.DictField(child=serializers.CharField()),
        help_text='The commits it brought there first: [{"sha": …, "committed_at": …}].',
    )
    url = serializers.SerializerMethodField(help_text="The deployment's page.")

    class Meta:
        model = Deployment
        fields = [
            "id",
            "release",
            "project",
            "version",
            "commit",
            "environment",
            "kind",
            "status",
            "trigger",
            "requested_by",
            "verified",
            "rolled_back_by",
            "rollback_of",
            "replaced_version",
            "new_commits",
            "scheduled_for",
            "created_at",
            "started_at",
            "finished_at",
            "error",
            "run",
            "url",
        ]

    def get_rolled_back_by(self, deployment) -> int | None:
        rollback = getattr(deployment, "rolled_back_by", None)  # reverse one-to-one
        return rollback.pk if rollback else None

    def get_url(self, deployment) -> str:
        return _absolute(self.context, deployment.get_absolute_url())

    def to_representation(self, deployment):
        data = super().to_representation(deployment)
        if not _operator(self.context):
            data["error"] = redact_paths(data["error"])
        return data


class DeploymentDetailSerializer(DeploymentSerializer):
    """One deployment with its run's steps and log tail. The run engine masks secrets as
    it stores the log; the values the environment holds now are masked again here (a
    secret set after the deployment ran), and the workers' paths are redacted for
    readers who do not operate Liftoff, as the runs' answer does."""

    steps = serializers.SerializerMethodField()
    log_tail = serializers.SerializerMethodField()

    class Meta(DeploymentSerializer.Meta):
        fields = [*DeploymentSerializer.Meta.fields, "steps", "log_tail"]

    def _run_data(self, deployment) -> dict:
        if not hasattr(self, "_run_cache"):
            run = deployment.run
            self._run_cache = (
                RunSerializer(run, context=self.context).data
                if run is not None
                else {"steps": [], "log_tail": ""}
            )
        return self._run_cache

    @extend_schema_field(StepSerializer(many=True))
    def get_steps(self, deployment) -> list[dict]:
        return self._run_data(deployment)["steps"]

    def get_log_tail(self, deployment) -> str:
        return self._run_data(deployment)["log_tail"]

    def to_representation(self, deployment):
        data = super().to_representation(deployment)
        secrets = sorted(self.context.get("secrets", []), key=len, reverse=True)
        if secrets:
            data["log_tail"] = _mask(data["log_tail"], secrets)
            data["error"] = _mask(data["error"], secrets)
            for step in data["steps"]:
                step["summary"] = _mask(step["summary"], secrets)
        return data


def _mask(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return text


class DeploymentPageSerializer(serializers.Serializer):
    """A page of `GET /api/v1/deployments/` (limit/offset pagination)."""

    count = serializers.IntegerField(help_text="Deployments matching the filters, all pages.")
    next = serializers.URLField(allow_null=True, help_text="The next page, or null.")
    previous = serializers.URLField(allow_null=True, help_text="The previous page, or null.")
    results = DeploymentSerializer(many=True)


class DeploymentFilterSerializer(serializers.Serializer):
    project = serializers.CharField(required=False, max_length=50, help_text="A project's slug.")
    environment = serializers.CharField(
        required=False, max_length=50, help_text="An environment's name."
    )
    status = serializers.ChoiceField(choices=DeploymentStatus.values, required=False)
    kind = serializers.ChoiceField(choices=DeploymentKind.values, required=False)
    since = serializers.DateField(required=False, help_text="Made on or after this day.")
    until = serializers.DateField(required=False, help_text="Made on or before this day.")
    release = serializers.IntegerField(required=False, min_value=1, max_value=2**31 - 1)


class DeploymentCreateSerializer(serializers.Serializer):
    release = serializers.IntegerField(
        min_value=1, max_value=2**31 - 1, help_text="The release's id."
    )
    environment = serializers.CharField(
        min_length=1, max_length=50, help_text="The name of an environment of its project."
    )
    at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        default=None,
        help_text="ISO 8601; later than now: a scheduled deployment. Left out: now.",
    )
    override_reason = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=2000,
        help_text="A hotfix inside a freeze window, by an approver: why it cannot wait.",
    )


class DeploymentConflictSerializer(serializers.Serializer):
    """409 of a deployment: what blocks it; when another deployment holds the
    environment, which one."""

    detail = serializers.CharField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
    missing = serializers.ListField(child=serializers.CharField())
    deployment_id = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="The deployment in progress there, when that is what blocks it.",
    )
