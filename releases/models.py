from django.conf import settings
from django.db import models
from django.urls import reverse

from releases.impact import DEFAULT_SECURITY_PATTERNS


def default_version_files():
    return ["pyproject.toml"]


def default_security_patterns():
    return list(DEFAULT_SECURITY_PATTERNS)


def default_cadence_days():
    # The seed's cadence: major quarterly, minor monthly, patch bi-weekly.
    return {"major": 91, "minor": 30, "patch": 14}


class Project(models.Model):
    """A product being released: where its code lives and how its releases are named."""

    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    repo_url = models.CharField(max_length=500)
    default_branch = models.CharField(max_length=200, default="main")
    version_files = models.JSONField(default=default_version_files)
    branch_pattern = models.CharField(max_length=200, default="release/v{version}-{codename-slug}")
    tag_pattern = models.CharField(max_length=200, default="v{version}")
    codename_pool = models.JSONField(default=list, blank=True)
    cadence_days = models.JSONField(default=default_cadence_days)
    # Approvals and waivers are given for the release head they saw; a new commit makes
    # them stale unless the project says to keep them.
    keep_approvals_on_new_commits = models.BooleanField(default=False)
    # Glob patterns of security-sensitive paths, called out in each release's change
    # impact (releases.impact.path_matches); admins edit them.
    security_patterns = models.JSONField(default=default_security_patterns, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("releases:project-detail", args=[self.slug])


class NotesTemplate(models.Model):
    """How a project's release notes read (`releases.notes.Template`, stored): sections by
    commit type and scope, the opening quote, the footer, the contributors. A project
    without a row gets the default (`releases.notes.DEFAULT_TEMPLATE`)."""

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="notes_template")
    # [{"key", "heading", "match": [rules], "level": 2|3, "empty"?}] (notes.template_to_data)
    sections = models.JSONField(default=list)
    quote = models.CharField(max_length=500, blank=True)
    footer = models.CharField(max_length=500, blank=True)
    contributors = models.BooleanField(default=True)
    contributors_heading = models.CharField(max_length=120, default="🙏 Gratitude & Recognition")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"Notes template of {self.project_id}"


class ProjectRef(models.Model):
    """A branch or tag seen in the project's remote at the last sync."""

    class Kind(models.TextChoices):
        BRANCH = "branch", "Branch"
        TAG = "tag", "Tag"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="refs")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    name = models.CharField(max_length=255)
    commit = models.CharField(max_length=64)
    # For annotated tags, the tag message's first line; for branches, the head's subject.
    subject = models.CharField(max_length=300, blank=True)
    committed_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField()

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "kind", "name"], name="projectref_unique")
        ]

    def __str__(self):
        return f"{self.kind} {self.name}"


class ReleaseType(models.TextChoices):
    MAJOR = "major", "Major"
    MINOR = "minor", "Minor"
    PATCH = "patch", "Patch"
    HOTFIX = "hotfix", "Hotfix"


class ReleaseStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    PREPARING = "preparing", "Preparing"
    VALIDATING = "validating", "Validating"
    READY = "ready", "Ready"
    STAGING = "staging", "Staging"
    PRODUCTION = "production", "Production"
    RELEASED = "released", "Released"
    CANCELLED = "cancelled", "Cancelled"
    ROLLED_BACK = "rolled_back", "Rolled back"


# The release state machine: releases.services.release_transition is the only writer.
RELEASE_TRANSITIONS: dict[str, set[str]] = {
    ReleaseStatus.PLANNED: {ReleaseStatus.PREPARING, ReleaseStatus.CANCELLED},
    ReleaseStatus.PREPARING: {ReleaseStatus.VALIDATING, ReleaseStatus.CANCELLED},
    ReleaseStatus.VALIDATING: {ReleaseStatus.READY, ReleaseStatus.CANCELLED},
    ReleaseStatus.READY: {ReleaseStatus.STAGING, ReleaseStatus.VALIDATING, ReleaseStatus.CANCELLED},
    ReleaseStatus.STAGING: {
        ReleaseStatus.PRODUCTION,
        ReleaseStatus.READY,
        ReleaseStatus.ROLLED_BACK,
        ReleaseStatus.CANCELLED,
    },
    ReleaseStatus.PRODUCTION: {ReleaseStatus.RELEASED, ReleaseStatus.ROLLED_BACK},
    ReleaseStatus.RELEASED: {ReleaseStatus.ROLLED_BACK},
    ReleaseStatus.CANCELLED: set(),
    ReleaseStatus.ROLLED_BACK: set(),
}
# The phase each phase moves forward to; the other moves go back, or out.
RELEASE_NEXT_PHASE: dict[str, str] = {
    ReleaseStatus.PLANNED: ReleaseStatus.PREPARING,
    ReleaseStatus.PREPARING: ReleaseStatus.VALIDATING,
    ReleaseStatus.VALIDATING: ReleaseStatus.READY,
    ReleaseStatus.READY: ReleaseStatus.STAGING,
    ReleaseStatus.STAGING: ReleaseStatus.PRODUCTION,
    ReleaseStatus.PRODUCTION: ReleaseStatus.RELEASED,
}
RELEASE_FINAL_STATES = frozenset({ReleaseStatus.CANCELLED, ReleaseStatus.ROLLED_BACK})
# Releases still on their way (the dashboard's "in flight", one live release at a time in
# the demo).
RELEASE_IN_FLIGHT = frozenset(
    {
        ReleaseStatus.PLANNED,
        ReleaseStatus.PREPARING,
        ReleaseStatus.VALIDATING,
        ReleaseStatus.READY,
        ReleaseStatus.STAGING,
        ReleaseStatus.PRODUCTION,
    }
)
# Releases whose version has reached production (the version proposal counts them as
# released).
RELEASE_REACHED_PRODUCTION = frozenset({ReleaseStatus.PRODUCTION, ReleaseStatus.RELEASED})
# Releases whose checklists and gates are closed for changes (ticks, results, sign-offs):
# the final states, named for what checklists/ and gates/ ask of them.
RELEASE_CLOSED_STATES = RELEASE_FINAL_STATES
# The happy path, in order, for the phase progress bar.
RELEASE_PHASES = [
    ReleaseStatus.PLANNED,
    ReleaseStatus.PREPARING,
    ReleaseStatus.VALIDATING,
    ReleaseStatus.READY,
    ReleaseStatus.STAGING,
    ReleaseStatus.PRODUCTION,
    ReleaseStatus.RELEASED,
]


class Release(models.Model):
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="releases")
    version = models.CharField(max_length=100)
    # The version's precedence parts, so that lists sort in SemVer order in the database.
    major = models.PositiveIntegerField()
    minor = models.PositiveIntegerField()
    patch = models.PositiveIntegerField()
    prerelease = models.CharField(max_length=100, blank=True)
    type = models.CharField(max_length=10, choices=ReleaseType.choices)
    # What Liftoff suggested when the release was planned (`release_proposal`), and why;
    # empty for releases planned before it was recorded, or recorded as already shipped.
    suggested_type = models.CharField(max_length=10, choices=ReleaseType.choices, blank=True)
    suggestion_reasons = models.JSONField(default=list, blank=True)
    codename = models.CharField(max_length=100, blank=True)
    summary = models.CharField(max_length=300, blank=True)
    release_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="managed_releases",
    )
    target_date = models.DateField(null=True, blank=True)
    status = models.CharField(
        max_length=20, choices=ReleaseStatus.choices, default=ReleaseStatus.PLANNED
    )
    # Git facts, filled by the preparation run.
    base_ref = models.CharField(max_length=255, blank=True)
    base_commit = models.CharField(max_length=64, blank=True)
    previous_tag = models.CharField(max_length=255, blank=True)
    branch = models.CharField(max_length=255, blank=True)
    tag = models.CharField(max_length=255, blank=True)
    head_commit = models.CharField(max_length=64, blank=True)
    prepared_at = models.DateTimeField(null=True, blank=True)
    tagged_at = models.DateTimeField(null=True, blank=True)
    notes = models.TextField(blank=True)
    notes_edited = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    released_at = models.DateTimeField(null=True, blank=True)
    # Recorded from a tag that shipped before Liftoff tracked the project: it was never
    # prepared, validated or approved here, and its page says so.
    recorded = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # Two people creating the same version at once: the database keeps one.
            models.UniqueConstraint(fields=["project", "version"], name="release_unique_version"),
        ]
        indexes = [
            # /releases/ filtered by project and status, newest first.
            models.Index(fields=["project", "status", "-created_at"], name="release_list_idx"),
            # The last released version of a project (version proposal).
            models.Index(fields=["project", "major", "minor", "patch"], name="release_semver_idx"),
        ]

    def __str__(self):
        return f"{self.project.slug} v{self.version}"

    def get_absolute_url(self) -> str:
        return reverse("releases:release-detail", args=[self.pk])

    @property
    def is_final(self) -> bool:
        return self.status in RELEASE_FINAL_STATES


class ChangeImpactStatus(models.TextChoices):
    SUCCEEDED = "succeeded", "Analysed"
    FAILED = "failed", "Failed"


class ChangeImpact(models.Model):
    """What changed in the repository from the previous release tag (or the first commit)
    to the release head, as the preparation run analysed it (releases.impact): one row per
    release, replaced when the head is analysed again."""

    release = models.OneToOneField(Release, on_delete=models.CASCADE, related_name="change_impact")
    status = models.CharField(max_length=10, choices=ChangeImpactStatus.choices)
    previous_tag = models.CharField(max_length=255, blank=True)
    # Empty: no previous release, compared with the empty tree (everything is new).
    base_commit = models.CharField(max_length=64, blank=True)
    head_commit = models.CharField(max_length=64)
    # releases.impact.impact_summarise's result; {} when the analysis failed.
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    analysed_at = models.DateTimeField()

    def __str__(self):
        return f"Change impact of {self.release_id}"


# --- Retrospectives ------------------------------------------------------------------------


class RetroTemplate(models.Model):
    """The questions a project's retrospectives ask, in groups (the seed's: oracle
    reflection, compliance review, cosmic celebration): [{"heading", "questions": [str]}].
    New projects get the default through the project hook; admins edit it."""

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="retro_template")
    groups = models.JSONField(default=list)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"Retrospective template of {self.project_id}"


class Retrospective(models.Model):
    """A shipped release's retrospective: the template's questions as they were when the
    first answer came (`groups`, each question with its `key`), so editing the template
    later never moves an answer to another question."""

    release = models.OneToOneField(Release, on_delete=models.CASCADE, related_name="retrospective")
    # [{"heading", "questions": [{"key", "text"}]}]
    groups = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"Retrospective of {self.release_id}"


class RetroAnswer(models.Model):
    retrospective = models.ForeignKey(
        Retrospective, on_delete=models.CASCADE, related_name="answers"
    )
    question = models.CharField(max_length=20)  # the frozen question's key
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(max_length=4000)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            # One answer per question and person; answering again edits it.
            models.UniqueConstraint(
                fields=["retrospective", "question", "author"], name="retro_answer_once"
            ),
        ]

    def __str__(self):
        return f"Answer to {self.question} by {self.author_id}"


class ActionItemStatus(models.TextChoices):
    OPEN = "open", "Open"
    IN_PROGRESS = "in_progress", "In progress"
    DONE = "done", "Done"
    DROPPED = "dropped", "Dropped"


ACTION_ITEM_OPEN_STATES = frozenset({ActionItemStatus.OPEN, ActionItemStatus.IN_PROGRESS})


class ActionItem(models.Model):
    """What the team decided to do after a release: an owner, a due date, a status."""

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="action_items")
    title = models.CharField(max_length=300)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="retro_action_items"
    )
    due_date = models.DateField(null=True, blank=True)
    status = models.CharField(
        max_length=20, choices=ActionItemStatus.choices, default=ActionItemStatus.OPEN
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["due_date", "id"]
        indexes = [
            # The dashboard's "My action items": an owner's open items, soonest due first.
            models.Index(fields=["owner", "status", "due_date"], name="action_item_owner_idx"),
        ]

    def __str__(self):
        return self.title

    @property
    def is_open(self) -> bool:
        return self.status in ACTION_ITEM_OPEN_STATES
