from rest_framework import serializers

from releases.models import Project, Release, ReleaseStatus


class ProjectSerializer(serializers.ModelSerializer):
    class Meta:
        model = Project
        fields = [
            "slug",
            "name",
            "description",
            "repo_url",
            "default_branch",
            "version_files",
            "branch_pattern",
            "tag_pattern",
            "codename_pool",
            "cadence_days",
            "created_at",
        ]
        read_only_fields = ["created_at"]
        # Uniqueness and the domain rules are the service's job, so that the page, the
        # API and the command line refuse the same things with the same words.
        extra_kwargs = {"slug": {"validators": []}}


class ProjectCreateSerializer(serializers.Serializer):
    # min_length=1 says in the document what allow_blank=False already enforces.
    slug = serializers.CharField(min_length=1, max_length=50)
    name = serializers.CharField(min_length=1, max_length=100)
    repo_url = serializers.CharField(min_length=1, max_length=500)
    default_branch = serializers.CharField(min_length=1, max_length=200, default="main")
    version_files = serializers.ListField(
        child=serializers.CharField(min_length=1, max_length=300),
        min_length=1,
        default=["pyproject.toml"],
        error_messages={"min_length": "List at least one file that holds the version."},
    )
    description = serializers.CharField(required=False, allow_blank=True, default="")
    branch_pattern = serializers.CharField(
        min_length=1, max_length=200, default="release/v{version}-{codename-slug}"
    )
    tag_pattern = serializers.CharField(min_length=1, max_length=200, default="v{version}")
    codename_pool = serializers.ListField(
        child=serializers.CharField(min_length=1, max_length=100), default=list
    )


class ReleaseSerializer(serializers.ModelSerializer):
    project = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    release_manager = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    suggested_type = serializers.SerializerMethodField(
        help_text="The type Liftoff suggested when the release was planned (one of `type`'s "
        "values); null for releases planned before it was recorded."
    )
    reasons = serializers.ListField(
        source="suggestion_reasons",
        child=serializers.CharField(),
        read_only=True,
        help_text="Why Liftoff suggested `suggested_type` when the release was planned.",
    )

    class Meta:
        model = Release
        fields = [
            "id",
            "project",
            "version",
            "type",
            "suggested_type",
            "reasons",
            "codename",
            "summary",
            "status",
            "release_manager",
            "target_date",
            "branch",
            "tag",
            "base_ref",
            "head_commit",
            "previous_tag",
            "prepared_at",
            "tagged_at",
            "released_at",
            "created_at",
        ]

    def get_suggested_type(self, release) -> str | None:
        # A string, not a second enum of the same choices as `type` (one enum per set).
        return release.suggested_type or None


class ReleasePageSerializer(serializers.Serializer):
    """A page of `GET /api/v1/releases/` (limit/offset pagination)."""

    count = serializers.IntegerField(help_text="Releases matching the filters, all pages.")
    next = serializers.URLField(allow_null=True, help_text="The next page, or null.")
    previous = serializers.URLField(allow_null=True, help_text="The previous page, or null.")
    results = ReleaseSerializer(many=True)


class ReleaseCreateSerializer(serializers.Serializer):
    project = serializers.SlugRelatedField(slug_field="slug", queryset=Project.objects.all())
    type = serializers.ChoiceField(
        choices=["major", "minor", "patch", "hotfix"],
        required=False,
        help_text="Left out: the type Liftoff suggests from the commits since the last release.",
    )
    version = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        help_text="Left out or blank: the next version for the type.",
    )
    codename = serializers.CharField(max_length=100, required=False, allow_null=True, default=None)
    summary = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    target_date = serializers.DateField(required=False, allow_null=True, default=None)


class TransitionSerializer(serializers.Serializer):
    to = serializers.CharField(
        min_length=1, max_length=20, help_text="The phase: " + ", ".join(ReleaseStatus.values)
    )


class NotesSerializer(serializers.Serializer):
    markdown = serializers.CharField(allow_blank=True)
    html = serializers.CharField(read_only=True)


# --- Change impact (GET /api/v1/releases/{id}/impact/) -------------------------------------

_CHANGES = ["added", "modified", "deleted", "renamed", "copied"]
# "from" is a Python keyword: the field is declared by name.
ImpactPathSerializer = type(
    "ImpactPathSerializer",
    (serializers.Serializer,),
    {
        "path": serializers.CharField(),
        "change": serializers.ChoiceField(choices=_CHANGES),
        "from": serializers.CharField(
            required=False, help_text="The path before a rename (only for renames)."
        ),
    },
)


class ImpactListSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="How many paths, all of them.")
    paths = ImpactPathSerializer(many=True, help_text="The first 500 of them.")


class ImpactTotalsSerializer(serializers.Serializer):
    files = serializers.IntegerField()
    added = serializers.IntegerField(help_text="Lines added (binary files not counted).")
    removed = serializers.IntegerField(help_text="Lines removed (binary files not counted).")
    binary = serializers.IntegerField(help_text="Binary files: their lines are unknown.")
    files_added = serializers.IntegerField()
    files_modified = serializers.IntegerField()
    files_deleted = serializers.IntegerField()
    files_renamed = serializers.IntegerField()


class ImpactFolderSerializer(serializers.Serializer):
    folder = serializers.CharField(help_text="A top-level folder, or “(root)”.")
    files = serializers.IntegerField()
    added = serializers.IntegerField()
    removed = serializers.IntegerField()
    binary = serializers.IntegerField()


class ChangeImpactSerializer(serializers.Serializer):
    state = serializers.ChoiceField(
        choices=["pending", "failed", "stale", "analysed"],
        help_text="pending: not analysed yet; failed: see `error`; stale: made for "
        "another head than the release's now; analysed.",
    )
    previous_tag = serializers.CharField(allow_null=True, help_text="Empty: a first release.")
    base_commit = serializers.CharField(allow_null=True, help_text="Empty: the empty tree.")
    head_commit = serializers.CharField(allow_null=True)
    analysed_at = serializers.DateTimeField(allow_null=True)
    error = serializers.CharField(allow_null=True)
    totals = ImpactTotalsSerializer(allow_null=True)
    folders = ImpactFolderSerializer(many=True, allow_null=True)
    migrations = ImpactListSerializer(allow_null=True)
    dependencies = ImpactListSerializer(allow_null=True)
    security = ImpactListSerializer(allow_null=True)
    bump_only = serializers.ListField(
        child=serializers.CharField(),
        allow_null=True,
        help_text="Paths only Liftoff's version bump changed (left out of the lists).",
    )
    security_patterns = serializers.ListField(child=serializers.CharField(), allow_null=True)
