import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from liftoff.roles import Role
from releases.models import Project, Release, ReleaseStatus, ReleaseType
from releases.services import project_create, project_refs_record, release_create

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.test")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if extracted:
            self.groups.add(Group.objects.get(name=Role(extracted).value))
        if create:
            self.save()


class ProjectFactory(factory.django.DjangoModelFactory):
    """A project whose repository has been synced (no tags unless a test records some):
    releases can be planned on it. `last_synced_at=None` for one never synced."""

    class Meta:
        model = Project

    slug = factory.Sequence(lambda n: f"project-{n}")
    name = factory.Sequence(lambda n: f"Project {n}")
    repo_url = factory.Sequence(lambda n: f"https://git.example.test/team/project-{n}.git")
    default_branch = "main"
    version_files = ["pyproject.toml"]
    last_synced_at = factory.LazyFunction(timezone.now)


class ReleaseFactory(factory.django.DjangoModelFactory):
    """A release planned through the service (so it has its checklists and its audit
    record, as every real release does), then put in the phase and with the git facts the
    test needs: the git work and the phase moves are tested on their own.

        ReleaseFactory(project=p, release_manager=manager, status="validating",
                       head_commit=HEAD, prepared_at=timezone.now())
    """

    class Meta:
        model = Release

    project = factory.SubFactory(ProjectFactory)
    version = factory.Sequence(lambda n: f"1.{n}.0")
    type = ReleaseType.MINOR
    codename = "Nova"
    status = ReleaseStatus.PLANNED
    release_manager = None

    @classmethod
    def _create(cls, model_class, *, project, version, type, codename, release_manager, **facts):
        release = release_create(
            actor=release_manager,
            project=project,
            release_type=type,
            version=version,
            codename=codename,
            release_manager=release_manager,
        )
        model_class.objects.filter(pk=release.pk).update(**facts)
        release.refresh_from_db()
        return release


def synced_project(**kwargs) -> Project:
    """A project made through `project_create` (its defaults and its first sync run), and
    what that sync leaves behind when the repository has no tags yet: releases can be
    planned on it. Pass project_create's keyword arguments."""
    project = project_create(**kwargs)
    project_refs_record(project=project, refs=[])
    return project
