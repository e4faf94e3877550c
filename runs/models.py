from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models

from runs.registry import kind_label, kind_retry_refusal


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


# The only moves a run's status may make (runs.services.run_transition enforces them).
RUN_TRANSITIONS: dict[str, set[str]] = {
    RunStatus.QUEUED: {RunStatus.RUNNING, RunStatus.CANCELLED, RunStatus.FAILED},
    RunStatus.RUNNING: {RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED},
    RunStatus.SUCCEEDED: set(),
    RunStatus.FAILED: set(),
    RunStatus.CANCELLED: set(),
}
FINAL_STATES = frozenset({RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED})


class StepStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"
    CANCELLED = "cancelled", "Cancelled"


FINAL_STEP_STATES = frozenset(
    {StepStatus.SUCCEEDED, StepStatus.FAILED, StepStatus.SKIPPED, StepStatus.CANCELLED}
)
# The only moves a step's status may make (runs.services.step_transition enforces them).
# A step that never started ends skipped or cancelled; one that started ends by its outcome.
STEP_TRANSITIONS: dict[str, set[str]] = {
    StepStatus.PENDING: {StepStatus.RUNNING, StepStatus.SKIPPED, StepStatus.CANCELLED},
    StepStatus.RUNNING: {StepStatus.SUCCEEDED, StepStatus.FAILED, StepStatus.CANCELLED},
    **{final: set() for final in FINAL_STEP_STATES},
}


class Run(models.Model):
    """One piece of background work. This row is the truth; the broker is a doorbell."""

    kind = models.CharField(max_length=50)
    subject_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    subject_id = models.CharField(max_length=64)
    # What the run belongs to, as free text, for the /runs/ filter: the engine knows no app,
    # so no foreign key. Every kind so far puts its project's slug here.
    scope = models.CharField(max_length=100, blank=True)
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=20, choices=RunStatus.choices, default=RunStatus.QUEUED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    dispatch_attempts = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    celery_task_id = models.CharField(max_length=64, blank=True)
    worker = models.CharField(max_length=255, blank=True)
    # The process group of the command running now, so the reaper can end it if the
    # worker died (same machine only).
    command_pgid = models.IntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    # What the run is about, as its pages name and link it ("pepelugpt v0.3.0"), written
    # when it is created: runs know no releases or projects, and a list of runs needs no
    # query per row to name them.
    subject_label = models.CharField(max_length=200, blank=True)
    subject_url = models.CharField(max_length=300, blank=True)
    # A run that succeeded as a run but not in everything it did says so ("4 of 5
    # commands succeeded"): its status reads "Finished: …" instead of "Succeeded".
    outcome = models.CharField(max_length=300, blank=True)
    retry_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="retries"
    )
    log_size = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # /runs/ (newest first, filtered by status/kind).
            models.Index(fields=["-created_at"], name="run_recent_idx"),
            # /runs/?scope=: run_list (WHERE scope = ? ORDER BY created_at DESC), and the
            # filter's choices (run_scopes: SELECT DISTINCT scope).
            models.Index(fields=["scope", "-created_at"], name="run_scope_recent_idx"),
            # The sweeper and the reaper: queued and running runs.
            models.Index(fields=["status", "heartbeat_at"], name="run_status_heartbeat_idx"),
            # A subject's runs (a project's syncs, a release's preparation).
            models.Index(
                fields=["subject_type", "subject_id", "-created_at"], name="run_subject_idx"
            ),
        ]

    def __str__(self):
        return f"Run #{self.pk} {self.kind} ({self.status})"

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATES

    @property
    def status_label(self) -> str:
        if self.status == RunStatus.SUCCEEDED and self.outcome:
            return f"Finished: {self.outcome}"
        return self.get_status_display()

    @property
    def kind_label(self) -> str:
        return kind_label(self.kind)

    @property
    def can_retry(self) -> bool:
        return self.status in {RunStatus.FAILED, RunStatus.CANCELLED} and not kind_retry_refusal(
            self.kind
        )

    @property
    def duration(self):
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None


class Step(models.Model):
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="steps")
    order = models.PositiveSmallIntegerField()
    key = models.CharField(max_length=50)
    name = models.CharField(max_length=100)
    status = models.CharField(max_length=20, choices=StepStatus.choices, default=StepStatus.PENDING)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    summary = models.TextField(blank=True)

    class Meta:
        ordering = ["run", "order"]
        constraints = [
            models.UniqueConstraint(fields=["run", "order"], name="step_run_order_unique")
        ]

    def __str__(self):
        return f"{self.run_id}.{self.order} {self.name}"

    @property
    def duration(self):
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None


class LogChunk(models.Model):
    """A run's log, appended in bounded chunks: appending is one INSERT, the tail is the
    last few rows by `seq`, however long the log is."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="log_chunks")
    step = models.ForeignKey(
        Step, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    seq = models.PositiveIntegerField()
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run", "seq"]
        constraints = [
            # Also the index the tail query uses (run_id = ? ORDER BY seq DESC LIMIT n).
            models.UniqueConstraint(fields=["run", "seq"], name="logchunk_run_seq_unique")
        ]

    def __str__(self):
        return f"{self.run_id}#{self.seq}"


class RunLock(models.Model):
    """Something a run holds exclusively (e.g. a project's git mirror). Released when the
    run ends, whether it finished, failed, was cancelled or was reaped."""

    key = models.CharField(max_length=200, unique=True)
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="locks")
    acquired_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.key
