"""Checklist templates and a release's checklists, their items and ticks.

Templates belong to a project (admins edit them); a release gets its own copies of the
checklists when it is planned. Every write goes through `checklists.services`. Quality
gates, approvals and waivers are in gates/.
"""

from django.conf import settings
from django.db import models


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


class AutoKey(models.TextChoices):
    """Things Liftoff does itself: an item with one of these keys is ticked by Liftoff when
    its run has done it (`checklists.services.LIFTOFF_DOES` says which run does what)."""

    BRANCH = "branch", "Release branch created and pushed (Prepare)"
    VERSION = "version", "Version bumped and committed (Prepare)"
    NOTES = "notes", "Release notes drafted (Prepare)"
    TAG = "tag", "Release tag created and pushed (Ship)"


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
    # Something Liftoff does itself (blank: a person ticks it); copied to the release's items.
    auto_key = models.CharField(max_length=20, choices=AutoKey.choices, blank=True)

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
    auto_key = models.CharField(max_length=20, choices=AutoKey.choices, blank=True)
    done = models.BooleanField(default=False)
    # Ticked by Liftoff itself (its run did the thing); a person's tick or untick clears it.
    ticked_by_liftoff = models.BooleanField(default=False)
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
