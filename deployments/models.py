"""Environments, deployments, health checks, freeze windows and emergency changes.

An environment is a place a project's releases run (staging, production, ...), in order.
A deployment is a run of the run engine (`deployments.run_kinds`) that puts one release
there and verifies it by health checks; a rollback is a deployment too (kind rollback),
linked to the deployment it undoes. Every write goes through `deployments.services`.

What runs in an environment now is not stored: it is the newest deployment there that
succeeded and was verified (`deployments.selectors.environment_current`), so a worker
killed half-way through never leaves a version on the board that is not really there.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse


class Strategy(models.TextChoices):
    COMMAND = "command", "Commands"
    WEBHOOK = "webhook", "Webhook"
    BLUE_GREEN = "blue_green", "Blue-green"


class EnvironmentPhase(models.TextChoices):
    """The release phase an environment stands for: a verified deployment to a staging
    environment moves a ready release to staging; one to production makes it released."""

    STAGING = "staging", "Staging"
    PRODUCTION = "production", "Production"
    OTHER = "", "No phase"


class HealthStatus(models.TextChoices):
    OK = "ok", "Healthy"
    FAILING = "failing", "Failing"
    UNKNOWN = "unknown", "Unknown"


class Color(models.TextChoices):
    BLUE = "blue", "Blue"
    GREEN = "green", "Green"


def other_color(color: str) -> str:
    return Color.GREEN if color == Color.BLUE else Color.BLUE


class Environment(models.Model):
    project = models.ForeignKey(
        "releases.Project", on_delete=models.CASCADE, related_name="environments"
    )
    name = models.SlugField(max_length=50)
    order = models.PositiveIntegerField(default=0)
    phase = models.CharField(
        max_length=20, choices=EnvironmentPhase.choices, blank=True, default=""
    )
    strategy = models.CharField(max_length=20, choices=Strategy.choices, default=Strategy.COMMAND)
    url = models.URLField(max_length=500, blank=True, help_text="Where people reach it.")
    # command / blue-green: argument lists run in the release checkout, in order. Values
    # come to them in LIFTOFF_* environment variables, never interpolated.
    deploy_commands = models.JSONField(default=list, blank=True)
    rollback_commands = models.JSONField(default=list, blank=True)
    # blue-green: the traffic switch (LIFTOFF_COLOR names the colour to switch to), and
    # each colour's own base URL to verify it on before the switch.
    switch_commands = models.JSONField(default=list, blank=True)
    blue_url = models.URLField(max_length=500, blank=True)
    green_url = models.URLField(max_length=500, blank=True)
    # The colour that serves the public URL now ("" before the first blue-green deploy).
    # Written only by a deployment's switch step.
    active_color = models.CharField(max_length=10, choices=Color.choices, blank=True)
    # webhook: a signed POST (Standard Webhooks); the secret is shown once, when made.
    webhook_url = models.URLField(max_length=500, blank=True)
    webhook_secret = models.CharField(max_length=200, blank=True)
    command_timeout_seconds = models.PositiveIntegerField(default=600)
    # Verification: every health check passes, then keeps passing for this long.
    verify_seconds = models.PositiveIntegerField(default=0)
    verify_interval_seconds = models.PositiveIntegerField(default=2)
    auto_rollback = models.BooleanField(
        default=True, help_text="Roll back to the last verified version when verification fails."
    )
    lock_after_rollback = models.BooleanField(
        default=True, help_text="After an automatic rollback, lock until a manager unlocks."
    )
    locked_reason = models.CharField(max_length=500, blank=True)
    locked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    locked_at = models.DateTimeField(null=True, blank=True)
    # The periodic health check's last answer (deployments.services.environment_health_record).
    health = models.CharField(
        max_length=10, choices=HealthStatus.choices, default=HealthStatus.UNKNOWN
    )
    health_detail = models.CharField(max_length=500, blank=True)
    health_checked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["project", "order", "name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="environment_project_name"),
        ]

    def __str__(self):
        return f"{self.project.slug}/{self.name}" if self.project_id else self.name

    def get_absolute_url(self) -> str:
        return reverse("deployments:environment", args=[self.project.slug, self.name])

    @property
    def locked(self) -> bool:
        return bool(self.locked_at)


class HealthCheck(models.Model):
    """One URL that must answer for the environment to count as healthy. For blue-green,
    the same path is also asked of a colour's own URL before the switch."""

    environment = models.ForeignKey(
        Environment, on_delete=models.CASCADE, related_name="health_checks"
    )
    url = models.URLField(max_length=500)
    expected_status = models.PositiveSmallIntegerField(default=200)
    # Optional: a top-level field of the JSON answer and the value it must have. "{version}"
    # stands for the version being deployed (the seed's health endpoints report it).
    json_field = models.CharField(max_length=100, blank=True)
    json_value = models.CharField(max_length=200, blank=True)
    timeout_seconds = models.FloatField(default=5)
    retries = models.PositiveSmallIntegerField(default=3)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["environment", "order", "id"]

    def __str__(self):
        return self.url


class HealthSample(models.Model):
    """A periodic health check's outcome: the board's short history."""

    environment = models.ForeignKey(
        Environment, on_delete=models.CASCADE, related_name="health_samples"
    )
    at = models.DateTimeField()
    ok = models.BooleanField()
    detail = models.CharField(max_length=500, blank=True)
    milliseconds = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-at"]
        # The board's history: the newest samples of an environment.
        indexes = [models.Index(fields=["environment", "-at"], name="healthsample_env_recent")]

    def __str__(self):
        return f"{self.environment_id} {'ok' if self.ok else 'failing'} at {self.at:%H:%M:%S}"


class SecretVariable(models.Model):
    """A value deploy commands get in their environment and the webhook in its body's
    `variables`. Write-only: no page or API shows it, and every log masks it."""

    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="secrets")
    name = models.CharField(max_length=100)
    value = models.TextField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["environment", "name"]
        constraints = [
            models.UniqueConstraint(fields=["environment", "name"], name="secret_env_name")
        ]

    def __str__(self):
        return self.name


class FreezeKind(models.TextChoices):
    ONE_OFF = "one_off", "One-off"
    WEEKLY = "weekly", "Weekly"
    CRON = "cron", "Cron"


class FreezeWindow(models.Model):
    """A time no deployment starts in. One-off: from `starts_at` to `ends_at`. Weekly: on
    `weekdays` (0 = Monday) from `start_time` to `end_time`, in `time_zone`. Cron: from
    each time the expression fires, for `duration_minutes`, in `time_zone`. An empty
    `environment` freezes every environment of the project."""

    project = models.ForeignKey(
        "releases.Project", on_delete=models.CASCADE, related_name="freeze_windows"
    )
    environment = models.ForeignKey(
        Environment, null=True, blank=True, on_delete=models.CASCADE, related_name="freezes"
    )
    kind = models.CharField(max_length=10, choices=FreezeKind.choices, default=FreezeKind.ONE_OFF)
    reason = models.CharField(max_length=300)
    time_zone = models.CharField(max_length=60, default="UTC")
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    weekdays = models.JSONField(default=list, blank=True)
    start_time = models.TimeField(null=True, blank=True)
    end_time = models.TimeField(null=True, blank=True)
    cron = models.CharField(max_length=100, blank=True)
    duration_minutes = models.PositiveIntegerField(default=60)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "kind", "starts_at", "id"]

    def __str__(self):
        return self.reason


class DeploymentKind(models.TextChoices):
    DEPLOY = "deploy", "Deploy"
    ROLLBACK = "rollback", "Rollback"


class DeploymentStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


DEPLOYMENT_TRANSITIONS: dict[str, set[str]] = {
    DeploymentStatus.SCHEDULED: {
        DeploymentStatus.QUEUED,
        DeploymentStatus.CANCELLED,
        DeploymentStatus.FAILED,
    },
    DeploymentStatus.QUEUED: {
        DeploymentStatus.RUNNING,
        DeploymentStatus.SUCCEEDED,
        DeploymentStatus.FAILED,
        DeploymentStatus.CANCELLED,
    },
    DeploymentStatus.RUNNING: {
        DeploymentStatus.SUCCEEDED,
        DeploymentStatus.FAILED,
        DeploymentStatus.CANCELLED,
    },
    DeploymentStatus.SUCCEEDED: set(),
    DeploymentStatus.FAILED: set(),
    DeploymentStatus.CANCELLED: set(),
}
DEPLOYMENT_FINAL_STATES = frozenset(
    {DeploymentStatus.SUCCEEDED, DeploymentStatus.FAILED, DeploymentStatus.CANCELLED}
)
# The states that hold an environment: one deployment at a time (the database says so).
DEPLOYMENT_ACTIVE_STATES = frozenset({DeploymentStatus.QUEUED, DeploymentStatus.RUNNING})


class Trigger(models.TextChoices):
    PERSON = "person", "A person"
    SCHEDULE = "schedule", "A schedule"
    AUTO_ROLLBACK = "auto_rollback", "Failed verification"
    ABORT = "abort", "Abort and roll back"
    EMERGENCY = "emergency", "Emergency rollback"


class Deployment(models.Model):
    environment = models.ForeignKey(
        Environment, on_delete=models.PROTECT, related_name="deployments"
    )
    release = models.ForeignKey(
        "releases.Release", on_delete=models.PROTECT, related_name="deployments"
    )
    kind = models.CharField(
        max_length=10, choices=DeploymentKind.choices, default=DeploymentKind.DEPLOY
    )
    status = models.CharField(
        max_length=10, choices=DeploymentStatus.choices, default=DeploymentStatus.QUEUED
    )
    trigger = models.CharField(max_length=20, choices=Trigger.choices, default=Trigger.PERSON)
    strategy = models.CharField(max_length=20, choices=Strategy.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The version and commit deployed, copied when it is made: the release's head may move
    # later, the deployment's record does not.
    version = models.CharField(max_length=100)
    commit = models.CharField(max_length=64, blank=True)
    # blue-green: the colour deployed to (the idle one when it started).
    color = models.CharField(max_length=10, choices=Color.choices, blank=True)
    # What ran there before (the current deployment when this one was made).
    replaced = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    replaced_version = models.CharField(max_length=100, blank=True)
    # A rollback: the deployment it undoes (that one's `rolled_back_by` is this).
    rollback_of = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="rolled_back_by"
    )
    # The commits this deployment brings to the environment for the first time, oldest
    # first: [{"sha": ..., "committed_at": ISO 8601}] (lead time is measured from them).
    new_commits = models.JSONField(default=list, blank=True)
    run = models.OneToOneField(
        "runs.Run", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    scheduled_for = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    verified = models.BooleanField(default=False)
    verified_at = models.DateTimeField(null=True, blank=True)
    # Set by the verify step when a health check failed (not a deploy command): an
    # automatic rollback follows only that.
    verification_failed = models.BooleanField(default=False)
    abort_requested_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    # A deployment inside a freeze window, allowed by an approver (hotfixes only).
    freeze_override_reason = models.TextField(blank=True)
    freeze_override_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One deployment at a time per environment: a second click, a second user, the
            # API and the command line all meet this, whatever raced.
            models.UniqueConstraint(
                fields=["environment"],
                condition=Q(status__in=["queued", "running"]),
                name="deployment_one_active_per_environment",
            ),
        ]
        indexes = [
            # /deployments/ history, newest first (filters add project/status/kind).
            models.Index(fields=["-created_at", "-id"], name="deployment_recent"),
            # environment_current: an environment's newest verified deployment.
            models.Index(
                fields=["environment", "-finished_at"],
                condition=Q(verified=True),
                name="deployment_env_verified",
            ),
            # Where a commit is verified (the release policy, every release page): without it,
            # every verified deployment of the project's environments is read (3 ms at 10,000).
            models.Index(
                fields=["commit", "environment"],
                condition=Q(verified=True),
                name="deployment_commit_verified",
            ),
            # An environment's history on its page, and the board's "in progress".
            models.Index(fields=["environment", "-created_at"], name="deployment_env_recent"),
            # The scheduler: scheduled deployments that are due.
            models.Index(
                fields=["scheduled_for"],
                condition=Q(status="scheduled"),
                name="deployment_due",
            ),
        ]

    def __str__(self):
        verb = "Rollback" if self.kind == DeploymentKind.ROLLBACK else "Deploy"
        return f"{verb} v{self.version} to {self.environment.name}"

    def get_absolute_url(self) -> str:
        return reverse("deployments:deployment", args=[self.pk])

    @property
    def is_final(self) -> bool:
        return self.status in DEPLOYMENT_FINAL_STATES

    @property
    def is_rollback(self) -> bool:
        return self.kind == DeploymentKind.ROLLBACK


class EmergencyChange(models.Model):
    """A deployment let through a freeze window. A second approver reviews it within
    `REVIEW_HOURS`; until then it is listed on the approvals page (SOC 2 change review)."""

    REVIEW_HOURS = 48

    deployment = models.OneToOneField(
        Deployment, on_delete=models.CASCADE, related_name="emergency_change"
    )
    reason = models.TextField()
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    review_due = models.DateTimeField()
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.TextField(blank=True)

    class Meta:
        ordering = ["review_due"]
        indexes = [
            # The approvals page: emergency changes not reviewed yet.
            models.Index(
                fields=["review_due"],
                condition=Q(reviewed_at__isnull=True),
                name="emergency_unreviewed",
            )
        ]

    def __str__(self):
        return f"Emergency change: deployment #{self.deployment_id}"
