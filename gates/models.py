"""Quality gates, their results, approvals, waivers and validation commands.

A project defines its gates and validation commands (admins edit them); results,
approvals and waivers are recorded against a release. Every write goes through
`gates.services`.

These models came from checklists/ and keep its tables (`Meta.db_table`) and the names
of their constraints and indexes: gates/migrations/0001 took them over without touching
the database.
"""

import shlex

from django.conf import settings
from django.db import models
from django.db.models import Q


class GateKind(models.TextChoices):
    AUTOMATED = "automated", "Automated"
    MANUAL = "manual", "Manual"


class Comparator(models.TextChoices):
    GTE = "gte", "≥"
    LTE = "lte", "≤"
    EQ = "eq", "="


class GateStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PASSED = "passed", "Passed"
    FAILED = "failed", "Failed"
    WAIVED = "waived", "Waived"
    NOT_MEASURED = "not_measured", "Not measured"


class QualityGate(models.Model):
    """A project's gate. Automated: a measured value against a threshold. Manual: N
    approvals from a role."""

    project = models.ForeignKey(
        "releases.Project", on_delete=models.CASCADE, related_name="quality_gates"
    )
    key = models.SlugField(max_length=50)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=10, choices=GateKind.choices)
    # Automated gates.
    unit = models.CharField(max_length=20, blank=True)
    comparator = models.CharField(max_length=3, choices=Comparator.choices, blank=True)
    threshold = models.FloatField(null=True, blank=True)
    # Manual gates.
    required_approvals = models.PositiveSmallIntegerField(default=1)
    approver_role = models.CharField(max_length=20, default="approver")
    order = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "checklists_qualitygate"
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "key"], name="qualitygate_unique_key")
        ]

    def __str__(self):
        return self.name

    @property
    def is_automated(self) -> bool:
        return self.kind == GateKind.AUTOMATED

    def passes(self, value: float) -> bool:
        if self.comparator == Comparator.GTE:
            return value >= self.threshold
        if self.comparator == Comparator.LTE:
            return value <= self.threshold
        return value == self.threshold

    @property
    def threshold_label(self) -> str:
        if not self.is_automated or self.threshold is None:
            return ""
        value = f"{self.threshold:g}"
        return f"{self.get_comparator_display()} {value}{' ' + self.unit if self.unit else ''}"


class GateResultSource(models.TextChoices):
    VALIDATION = "validation", "Validation run"
    CI = "ci", "CI report"


class GateResult(models.Model):
    """One measurement of an automated gate for a release, with its evidence. The latest
    result for the release's head commit counts."""

    release = models.ForeignKey(
        "releases.Release", on_delete=models.CASCADE, related_name="gate_results"
    )
    gate = models.ForeignKey(QualityGate, on_delete=models.CASCADE, related_name="results")
    status = models.CharField(max_length=20, choices=GateStatus.choices)
    value = models.FloatField(null=True, blank=True)
    threshold = models.CharField(max_length=60, blank=True)
    source = models.CharField(max_length=20, choices=GateResultSource.choices)
    run = models.ForeignKey(
        "runs.Run", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The CI system's own id of its run: a repeated post with it changes nothing.
    ci_run_id = models.CharField(max_length=200, blank=True)
    commit = models.CharField(max_length=64, blank=True)
    reason = models.TextField(blank=True)
    # The report (or its start) as the tool wrote it, for the evidence view.
    report = models.TextField(blank=True)
    report_name = models.CharField(max_length=200, blank=True)
    measured_at = models.DateTimeField()

    class Meta:
        db_table = "checklists_gateresult"
        ordering = ["-measured_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["release", "gate", "ci_run_id"],
                condition=~Q(ci_run_id=""),
                name="gateresult_unique_ci_run",
            )
        ]
        indexes = [
            # The latest result per gate of a release (release page, enforcement).
            models.Index(fields=["release", "gate", "-measured_at"], name="gateresult_latest_idx")
        ]

    def __str__(self):
        return f"{self.gate_id}: {self.status}"


class Decision(models.TextChoices):
    APPROVE = "approve", "Approved"
    REJECT = "reject", "Rejected"


class Approval(models.Model):
    release = models.ForeignKey("releases.Release", on_delete=models.CASCADE, related_name="+")
    gate = models.ForeignKey(QualityGate, on_delete=models.CASCADE, related_name="approvals")
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decision = models.CharField(max_length=10, choices=Decision.choices)
    comment = models.TextField(blank=True)
    # The release head when it was given: after a new commit it is stale (unless the
    # project keeps approvals across commits).
    commit = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Set when the same person decides again: the newer decision replaces this one.
    superseded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "checklists_approval"
        ordering = ["created_at", "id"]
        constraints = [
            # One person counts once: one live decision per person, gate and release.
            models.UniqueConstraint(
                fields=["release", "gate", "approver"],
                condition=Q(superseded_at__isnull=True),
                name="approval_one_live_per_person",
            )
        ]
        indexes = [models.Index(fields=["release", "gate"], name="approval_release_gate_idx")]

    def __str__(self):
        return f"{self.get_decision_display()} by {self.approver_id}"


class Waiver(models.Model):
    """An approver's written decision to let an automated gate pass for the release head:
    one that failed, could not be measured, or that nothing measured yet (pending)."""

    release = models.ForeignKey("releases.Release", on_delete=models.CASCADE, related_name="+")
    gate = models.ForeignKey(QualityGate, on_delete=models.CASCADE, related_name="waivers")
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField()
    commit = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        db_table = "checklists_waiver"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["release", "gate"],
                condition=Q(revoked_at__isnull=True),
                name="waiver_one_live_per_gate",
            )
        ]

    def __str__(self):
        return f"Waiver by {self.approver_id}"


class ValidationCommand(models.Model):
    """A command the validation run runs in the release checkout, and the report it leaves.

    `argv` is an argument list (never a shell string). `{python}` in it is replaced by the
    worker's Python interpreter; nothing else is substituted.
    """

    class ReportFormat(models.TextChoices):
        NONE = "none", "None (exit code only)"
        COBERTURA = "cobertura", "Cobertura XML (coverage.py): line coverage %"
        BANDIT = "bandit", "bandit JSON: high and critical findings"
        PIP_AUDIT = "pip_audit", "pip-audit JSON: known vulnerabilities"
        PERFORMANCE = "performance", "Performance JSON (metric, value, baseline): regression %"
        AXE = "axe", "axe-core JSON: accessibility violations"
        CYCLONEDX = "cyclonedx", "CycloneDX JSON SBOM: packages whose licence is not allowed"

    project = models.ForeignKey(
        "releases.Project", on_delete=models.CASCADE, related_name="validation_commands"
    )
    order = models.PositiveIntegerField(default=0)
    name = models.CharField(max_length=120)
    argv = models.JSONField()
    timeout_seconds = models.PositiveIntegerField(default=600)
    report_path = models.CharField(max_length=300, blank=True)
    report_format = models.CharField(
        max_length=20, choices=ReportFormat.choices, default=ReportFormat.NONE
    )
    gate = models.ForeignKey(
        QualityGate, null=True, blank=True, on_delete=models.SET_NULL, related_name="commands"
    )
    active = models.BooleanField(default=True)

    class Meta:
        db_table = "checklists_validationcommand"
        ordering = ["order", "id"]

    def __str__(self):
        return self.name

    @property
    def command_line(self) -> str:
        """The argument list as one shell-quoted line, to read (it never runs as one);
        the `{python}` placeholder is shown as it is."""
        return " ".join(a if a == "{python}" else shlex.quote(a) for a in self.argv or [])


class LicencePolicy(models.Model):
    """The licences a project's dependencies may have (SPDX ids), which a CycloneDX report
    is judged by (`gates.licences`). A project without a row uses
    `gates.licences.DEFAULT_ALLOWED`; each result's evidence names the list it was judged
    by, so a later edit never changes what an earlier result says."""

    project = models.OneToOneField(
        "releases.Project", on_delete=models.CASCADE, related_name="licence_policy"
    )
    allowed = models.JSONField(default=list)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"Licence policy of project {self.project_id}"


class GateJudgement(models.Model):
    """One gate as a release was judged by when it moved on (to ready and at every later
    move): written by `gates.services.gate_judgement_record` on `release.moved`, never
    changed afterwards. A gate made inactive, re-thresholded or deleted since leaves
    these rows as they were, so a shipped release's page keeps what it shipped with."""

    release = models.ForeignKey(
        "releases.Release", on_delete=models.CASCADE, related_name="gate_judgements"
    )
    # Null once the gate is deleted: the copied fields below still say what it was.
    gate = models.ForeignKey(
        QualityGate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The result that counted (its report stays readable while the row exists).
    result = models.ForeignKey(
        GateResult, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The phase the release moved to when it was judged.
    phase = models.CharField(max_length=20)
    judged_at = models.DateTimeField()
    order = models.PositiveIntegerField(default=0)
    gate_key = models.CharField(max_length=50)
    gate_name = models.CharField(max_length=120)
    kind = models.CharField(max_length=10, choices=GateKind.choices)
    threshold_label = models.CharField(max_length=60, blank=True)
    unit = models.CharField(max_length=20, blank=True)
    status = models.CharField(max_length=20, choices=GateStatus.choices)
    value = models.FloatField(null=True, blank=True)
    # "2 of 2" for a manual gate.
    approvals_label = models.CharField(max_length=40, blank=True)
    approved_by = models.CharField(max_length=500, blank=True)
    rejected_by = models.CharField(max_length=500, blank=True)
    waived_by = models.CharField(max_length=150, blank=True)
    waiver_reason = models.TextField(blank=True)
    commit = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["judged_at", "order", "id"]
        indexes = [
            # A release's judgements, newest first (its gates section and evidence page).
            models.Index(fields=["release", "-judged_at"], name="gatejudgement_release_idx")
        ]

    def __str__(self):
        return f"{self.gate_key}: {self.status} ({self.phase})"

    @property
    def status_label(self) -> str:
        return GateStatus(self.status).label

    @property
    def is_automated(self) -> bool:
        return self.kind == GateKind.AUTOMATED
