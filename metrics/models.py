"""What metrics/ stores: per-project targets and settings, and stakeholders' ratings of
shipped releases (the one figure no other app records). Every other figure is computed
from other apps' records by `metrics.selectors`; nothing else is written here."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


def default_security_gate_keys():
    # The seed's default gates whose value is a count of high and critical findings.
    return ["security-scan", "dependency-vulnerabilities"]


class DoraYear(models.IntegerChoices):
    """The State of DevOps report whose performance-level table gives the bands
    (metrics.bands); docs/metrics.md cites each table."""

    Y2022 = 2022, "2022 (high, medium, low)"
    Y2023 = 2023, "2023 (elite, high, medium, low)"


class MetricSettings(models.Model):
    """A project's KPI targets (the seed's by default) and how its DORA figures are read.
    A project without a row has the defaults (`metrics.selectors.project_metric_settings`)."""

    project = models.OneToOneField(
        "releases.Project", on_delete=models.CASCADE, related_name="metric_settings"
    )
    # Deployment success rate, %: met when above.
    success_rate_target = models.FloatField(
        default=99.0, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    # Rollback frequency, %: met when below.
    rollback_rate_target = models.FloatField(
        default=1.0, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    # Median deployment time, minutes: met when below.
    deployment_minutes_target = models.FloatField(default=15.0, validators=[MinValueValidator(0)])
    # User satisfaction, mean of 1–5: met when above.
    satisfaction_target = models.FloatField(
        default=4.5, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    # Security issues, a count: met when at most.
    security_issues_target = models.PositiveIntegerField(default=0)
    # Performance regression, %: met when at most.
    performance_regression_target = models.FloatField(default=0.0)
    dora_year = models.PositiveSmallIntegerField(choices=DoraYear.choices, default=DoraYear.Y2023)
    # Which gates' values are security findings, and which is the performance regression.
    security_gate_keys = models.JSONField(default=default_security_gate_keys, blank=True)
    performance_gate_key = models.CharField(max_length=50, default="performance-regression")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"Metric settings of project {self.project_id}"


class Rating(models.Model):
    """A person's rating of a shipped release, 1–5: once each, changeable (the row is
    updated, never duplicated)."""

    release = models.ForeignKey("releases.Release", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    score = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["release", "user"], name="rating_once_per_person"),
            models.CheckConstraint(
                condition=models.Q(score__gte=1, score__lte=5), name="rating_score_1_to_5"
            ),
        ]

    def __str__(self):
        return f"{self.score}/5 for release {self.release_id}"


class MetricsVersion(models.Model):
    """A project's figures' version: bumped (in the transaction of the change) by the
    events that change them, so a cached report is keyed by it and never outlives a
    change it would miss (`metrics.selectors.metrics_report_cached`)."""

    project = models.OneToOneField(
        "releases.Project", on_delete=models.CASCADE, related_name="+", primary_key=True
    )
    version = models.PositiveBigIntegerField(default=0)

    def __str__(self):
        return f"Metrics version {self.version} of project {self.project_id}"


class SnapshotReason(models.TextChoices):
    SHIPPED = "shipped", "Taken when the release shipped"
    MANUAL = "manual", "Taken again by a person"


class EvidenceSnapshot(models.Model):
    """A release's compliance record frozen as canonical JSON (`metrics.evidence`): the
    exact bytes, their SHA-256 and the audit chain's head when it was taken. Append-only:
    rows are only ever inserted (`metrics.services.evidence_snapshot_take`); a new
    snapshot is another row with the next number, and the old ones stay."""

    release = models.ForeignKey(
        "releases.Release", on_delete=models.PROTECT, related_name="evidence_snapshots"
    )
    number = models.PositiveIntegerField()
    reason = models.CharField(max_length=10, choices=SnapshotReason.choices)
    taken_at = models.DateTimeField()
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The canonical JSON text; encoded as UTF-8 it is the exact bytes that were hashed.
    document = models.TextField()
    sha256 = models.CharField(max_length=64)
    audit_head_seq = models.PositiveBigIntegerField()
    audit_head_hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["release", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["release", "number"], name="evidence_snapshot_number_once"
            ),
        ]

    def __str__(self):
        return f"Evidence snapshot {self.number} of release {self.release_id}"

    @property
    def content(self) -> bytes:
        return self.document.encode()


class SbomStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Being made"
    SUCCEEDED = "succeeded", "Made"
    FAILED = "failed", "Failed"


class ReleaseSbom(models.Model):
    """A CycloneDX JSON SBOM of the Python dependencies in the release's checkout, made by
    a Celery task (`metrics.tasks.sbom_make`) after the release shipped."""

    release = models.ForeignKey("releases.Release", on_delete=models.PROTECT, related_name="+")
    commit = models.CharField(max_length=64)
    status = models.CharField(max_length=10, choices=SbomStatus.choices, default=SbomStatus.QUEUED)
    source_file = models.CharField(max_length=200, blank=True)
    document = models.TextField(blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"SBOM of release {self.release_id} ({self.status})"


class RiskLevel(models.IntegerChoices):
    LOW = 1, "Low"
    MEDIUM = 2, "Medium"
    HIGH = 3, "High"


# The matrix a release starts from, by its type, until a manager sets it: a major release
# changes most (likely to hurt, and widely); a hotfix goes out in a hurry to production
# that already hurts; a patch is small and contained.
RISK_DEFAULTS = {
    "major": (RiskLevel.MEDIUM, RiskLevel.HIGH),
    "minor": (RiskLevel.LOW, RiskLevel.MEDIUM),
    "patch": (RiskLevel.LOW, RiskLevel.LOW),
    "hotfix": (RiskLevel.MEDIUM, RiskLevel.HIGH),
}


class RiskAssessment(models.Model):
    """The release manager's risk assessment matrix of a release: likelihood × impact,
    each low, medium or high, with a note (the compliance report shows and freezes it)."""

    release = models.OneToOneField(
        "releases.Release", on_delete=models.CASCADE, related_name="risk_assessment"
    )
    likelihood = models.PositiveSmallIntegerField(choices=RiskLevel.choices)
    impact = models.PositiveSmallIntegerField(choices=RiskLevel.choices)
    note = models.TextField(blank=True, max_length=2000)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    set_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    likelihood__gte=1, likelihood__lte=3, impact__gte=1, impact__lte=3
                ),
                name="risk_assessment_levels_1_to_3",
            )
        ]

    def __str__(self):
        return f"risk {self.likelihood}×{self.impact} for release {self.release_id}"
