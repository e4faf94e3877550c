from rest_framework import serializers

from releases.models import Project


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
    slug = serializers.CharField(max_length=50)
    name = serializers.CharField(max_length=100)
    repo_url = serializers.CharField(max_length=500)
    default_branch = serializers.CharField(max_length=200, default="main")
    version_files = serializers.ListField(
        child=serializers.CharField(max_length=300), default=["pyproject.toml"]
    )
    description = serializers.CharField(required=False, allow_blank=True, default="")
    branch_pattern = serializers.CharField(
        max_length=200, default="release/v{version}-{codename-slug}"
    )
    tag_pattern = serializers.CharField(max_length=200, default="v{version}")
    codename_pool = serializers.ListField(child=serializers.CharField(max_length=100), default=list)
