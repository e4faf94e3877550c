"""Incidents, the severity policy that gives each its response time and audience, and the
timeline of what happened to it.

An incident's status moves only through `incidents.services.incident_transition` (a
conditional UPDATE on the current status); its escalation steps only through
`incidents.services.incident_escalate` (a conditional UPDATE on the current step), so two
beat processes or a retried task never escalate one step twice.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse


class Severity(models.TextChoices):
    CRITICAL = "critical", "Critical"
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"


class IncidentStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    MITIGATED = "mitigated", "Mitigated"
    RESOLVED = "resolved", "Resolved"


# Forward only; a step may be skipped (mitigating an incident nobody acknowledged also
# acknowledges it: someone clearly took it).
TRANSITIONS: dict[str, set[str]] = {
    IncidentStatus.OPEN: {
        IncidentStatus.ACKNOWLEDGED,
        IncidentStatus.MITIGATED,
        IncidentStatus.RESOLVED,
    },
    IncidentStatus.ACKNOWLEDGED: {IncidentStatus.MITIGATED, IncidentStatus.RESOLVED},
    IncidentStatus.MITIGATED: {IncidentStatus.RESOLVED},
    IncidentStatus.RESOLVED: set(),
}
FINAL_STATES = frozenset({IncidentStatus.RESOLVED})
# Not resolved yet: what the dashboard lists and what blocks a release (when critical).
UNRESOLVED_STATES = frozenset(
    {IncidentStatus.OPEN, IncidentStatus.ACKNOWLEDGED, IncidentStatus.MITIGATED}
)


class Source(models.TextChoices):
    UI = "ui", "The web page"
    API = "api", "The API"
    VERIFICATION = "verification", "A failed verification"


class SeverityPolicy(models.Model):
    """One row of a project's incident response matrix: editable data, installed from
    `incidents.defaults.DEFAULT_MATRIX` when the project is created."""

    project = models.ForeignKey(
        "releases.Project", on_delete=models.CASCADE, related_name="severity_policies"
    )
    severity = models.CharField(max_length=10, choices=Severity.choices)
    # None: no clock (a low incident waits for the next release).
    respond_minutes = models.PositiveIntegerField(null=True, blank=True)
    action = models.CharField(max_length=200)
    # Role names (liftoff.roles.Role values) and people told when it opens and escalates.
    audience_roles = models.JSONField(default=list, blank=True)
    audience_users = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    # Step k of the escalation is due at respond_by + (k - 1) × escalate_after_minutes.
    escalate_after_minutes = models.PositiveIntegerField(default=15)
    max_escalations = models.PositiveSmallIntegerField(default=2)

    class Meta:
        ordering = ["project", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "severity"], name="severitypolicy_project_severity"
            )
        ]

    def __str__(self):
        return f"{self.project_id}: {self.severity}"


class IncidentSettings(models.Model):
    """A project's incident rules that are not per severity."""

    project = models.OneToOneField(
        "releases.Project", on_delete=models.CASCADE, related_name="incident_settings"
    )
    stakeholders_may_open = models.BooleanField(
        default=False, help_text="Stakeholders may open incidents on this project."
    )

    def __str__(self):
        return f"Incident settings of project {self.project_id}"


class EnvironmentIncidentSetting(models.Model):
    """Per environment (kept here, not on deployments' table: deployments knows nothing
    of incidents): open a high incident when a deployment there fails verification."""

    environment = models.OneToOneField(
        "deployments.Environment", on_delete=models.CASCADE, related_name="incident_setting"
    )
    open_on_failed_verification = models.BooleanField(default=False)

    def __str__(self):
        return f"Incident setting of environment {self.environment_id}"


class Incident(models.Model):
    project = models.ForeignKey(
        "releases.Project", on_delete=models.CASCADE, related_name="incidents"
    )
    environment = models.ForeignKey(
        "deployments.Environment",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="incidents",
    )
    severity = models.CharField(max_length=10, choices=Severity.choices)
    # A security incident (a breach, an exposed secret, an exploited flaw): counted by the
    # security issues KPI beside the gates' findings. Set when opened or later, with a
    # reason (incident_security_set).
    security = models.BooleanField(default=False)
    status = models.CharField(
        max_length=15, choices=IncidentStatus.choices, default=IncidentStatus.OPEN
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    # Recorded when it is opened (the last deployment to the environment that started
    # before `started_at`), changed later only by incident_deployment_set with a reason.
    deployment = models.ForeignKey(
        "deployments.Deployment",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="incidents",
    )
    # The hotfix release that may still go to production while it is open (if critical).
    hotfix_release = models.ForeignKey(
        "releases.Release",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="hotfix_for_incidents",
    )
    source = models.CharField(max_length=15, choices=Source.choices, default=Source.UI)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    opened_at = models.DateTimeField()
    # When the impact began (the reporter's word; opened_at by default).
    started_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    mitigated_at = models.DateTimeField(null=True, blank=True)
    mitigated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    summary = models.TextField(blank=True)
    postmortem = models.TextField(blank=True)
    # opened_at + the severity's respond_minutes; None: no clock.
    respond_by = models.DateTimeField(null=True, blank=True)
    breached = models.BooleanField(default=False)
    escalation_step = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-opened_at", "-id"]
        indexes = [
            # /incidents/ newest first; the filters add project, status, severity.
            models.Index(fields=["-opened_at", "-id"], name="incident_recent"),
            models.Index(fields=["project", "-opened_at"], name="incident_project_recent"),
            models.Index(fields=["status", "-opened_at"], name="incident_status_recent"),
            # The SLA clock (incidents_sla_due): open incidents with a clock, by deadline.
            models.Index(
                fields=["respond_by"],
                condition=Q(status="open", respond_by__isnull=False),
                name="incident_sla_due",
            ),
            # The banner, the dashboard and the release blocker: unresolved incidents.
            models.Index(
                fields=["severity", "environment"],
                condition=Q(status__in=["open", "acknowledged", "mitigated"]),
                name="incident_unresolved",
            ),
        ]

    def __str__(self):
        return f"#{self.pk} {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("incidents:detail", args=[self.pk])

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATES


class EntryKind(models.TextChoices):
    OPENED = "opened", "Opened"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    MITIGATED = "mitigated", "Mitigated"
    RESOLVED = "resolved", "Resolved"
    NOTE = "note", "Note"
    DEPLOYMENT = "deployment", "Deployment changed"
    POSTMORTEM = "postmortem", "Postmortem edited"
    HOTFIX = "hotfix", "Hotfix release"
    BREACHED = "breached", "Response time passed"
    ESCALATED = "escalated", "Escalated"
    SECURITY = "security", "Security classification"


class IncidentEntry(models.Model):
    """One line of an incident's timeline, written by the service that made the change."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="entries")
    kind = models.CharField(max_length=15, choices=EntryKind.choices)
    text = models.TextField(blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Who, when it was not a signed-in user ("Liftoff", "token abc of project demo").
    actor_label = models.CharField(max_length=150, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]
        # An incident's timeline, oldest first.
        indexes = [models.Index(fields=["incident", "at"], name="incidententry_timeline")]

    def __str__(self):
        return f"{self.kind} at {self.at:%H:%M}"
