from django.shortcuts import get_object_or_404

from releases.models import Project


def project_list():
    return Project.objects.order_by("name")


def project_get(*, slug: str) -> Project:
    """Every role may read every project; 404 when there is none of that slug."""
    return get_object_or_404(Project, slug=slug)


def project_refs(*, project: Project):
    return list(project.refs.order_by("kind", "name"))


def project_latest_sync(*, project: Project):
    from django.contrib.contenttypes.models import ContentType

    from runs.selectors import run_latest_for

    return run_latest_for(
        subject_type=ContentType.objects.get_for_model(Project),
        subject_id=project.pk,
        kind="project.sync",
    )
