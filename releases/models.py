from django.db import models


def default_version_files():
    return ["pyproject.toml"]


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
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


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
