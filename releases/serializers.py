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

    class Meta:
        model = Release
        fields = [
            "id",
            "project",
            "version",
            "type",
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


class ReleasePageSerializer(serializers.Serializer):
    """A page of `GET /api/v1/releases/` (limit/offset pagination)."""

    count = serializers.IntegerField(help_text="Releases matching the filters, all pages.")
    next = serializers.URLField(allow_null=True, help_text="The next page, or null.")
    previous = serializers.URLField(allow_null=True, help_text="The previous page, or null.")
    results = ReleaseSerializer(many=True)


class ReleaseCreateSerializer(serializers.Serializer):
    project = serializers.SlugRelatedField(slug_field="slug", queryset=Project.objects.all())
    type = serializers.ChoiceField(choices=["major", "minor", "patch", "hotfix"])
    version = serializers.CharField(max_length=100, required=False, allow_blank=True)
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
