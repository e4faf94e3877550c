"""Checklists, quality gates, approvals and waivers.

Templates and gate definitions belong to a project (admins edit them); a release gets its
own copies of the checklists when it is planned, and gate results, approvals and waivers
are recorded against the release. Every write goes through `checklists.services`.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q


class Phase(models.TextChoices):
    PREPARATION = "preparation", "Preparation"
    VALIDATION = "validation", "Validation"
    STAGING = "staging", "Staging"
    PRODUCTION = "production", "Production"
    POST_RELEASE = "post_release", "Post-release"
    SECURITY = "security", "Security"


class ItemKind(models.TextChoices):
    CHECK = "check", "Check"
    # A manual test scenario: given a result (pass / fail / blocked / n.a.), not a tick.
    SCENARIO = "scenario", "Test scenario"


class ItemResult(models.TextChoices):
    PASS = "pass", "Pass"
    FAIL = "fail", "Fail"
    BLOCKED = "blocked", "Blocked"
    NOT_APPLICABLE = "na", "Not applicable"


# Results that complete a scenario; fail and blocked keep it open (and block the release).
RESULTS_DONE = frozenset({ItemResult.PASS, ItemResult.NOT_APPLICABLE})


class ChecklistTemplate(models.Model):
    project = models.ForeignKey(
        "releases.Project", on_delete=models.CASCADE, related_name="checklist_templates"
    )
    phase = models.CharField(max_length=20, choices=Phase.choices)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    order = models.PositiveIntegerField(default=0)
    # Switched off templates are kept (releases made from them keep their checklists).
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="checklisttemplate_unique")
        ]

    def __str__(self):
        return self.name


class ChecklistTemplateItem(models.Model):
    template = models.ForeignKey(ChecklistTemplate, on_delete=models.CASCADE, related_name="items")
    order = models.PositiveIntegerField(default=0)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=10, choices=ItemKind.choices, default=ItemKind.CHECK)
    required = models.BooleanField(default=True)

    class Meta:
        ordering = ["order", "id"]

    def __str__(self):
        return self.title


class Checklist(models.Model):
    """A release's copy of a template: later edits of the template do not change it."""

    release = models.ForeignKey(
        "releases.Release", on_delete=models.CASCADE, related_name="checklists"
    )
    template = models.ForeignKey(
        ChecklistTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    phase = models.CharField(max_length=20, choices=Phase.choices)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order", "id"]

    def __str__(self):
        return self.name


class ChecklistItem(models.Model):
    checklist = models.ForeignKey(Checklist, on_delete=models.CASCADE, related_name="items")
    # Denormalised from the checklist: the release's open items in one indexed query.
    release = models.ForeignKey("releases.Release", on_delete=models.CASCADE, related_name="+")
    order = models.PositiveIntegerField(default=0)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=10, choices=ItemKind.choices, default=ItemKind.CHECK)
    required = models.BooleanField(default=True)
    done = models.BooleanField(default=False)
    result = models.CharField(max_length=10, choices=ItemResult.choices, blank=True)
    note = models.TextField(blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["order", "id"]
        indexes = [
            # The release page and the enforcement check read a release's items at once.
            models.Index(fields=["release", "checklist", "order"], name="checklistitem_release_idx")
        ]

    def __str__(self):
        return self.title

    @property
    def is_complete(self) -> bool:
        if self.kind == ItemKind.SCENARIO:
            return self.result in RESULTS_DONE
        return self.done


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
    """An approver's written decision to let a failed or unmeasured automated gate pass."""

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
        ordering = ["order", "id"]

    def __str__(self):
        return self.name
