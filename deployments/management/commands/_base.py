"""What `manage.py deploy` and `manage.py rollback` share: the actor (`--as`, as
`manage.py release` chooses it: a user for the audit trail, or Liftoff itself), the
project, the release and the environment by name, and how an answer and a refusal print.

A refusal exits 1 with the service's message and what blocks it, one line each: the same
`missing` the page lists and the API answers in its 409."""

from argparse import ArgumentTypeError
from datetime import datetime

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from deployments.models import Environment
from liftoff.errors import DomainError
from releases.models import Project, Release


def parse_time(value: str) -> datetime:
    """ISO 8601; without an offset, in the server's time zone (settings.TIME_ZONE)."""
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise ArgumentTypeError(f"“{value}” is no ISO 8601 time (2026-05-01T22:00).") from None
    return timezone.make_aware(at) if timezone.is_naive(at) else at


class DeploymentCommand(BaseCommand):
    def add_arguments(self, parser):
        parser.add_argument(
            "--as",
            dest="username",
            default=None,
            help="Act as this user (for the audit trail). Default: system.",
        )
        parser.add_argument("--project", required=True, help="The project's slug.")

    def release(self, project: Project, version: str) -> Release:
        release = Release.objects.filter(project=project, version=version.removeprefix("v")).first()
        if release is None:
            raise CommandError(f"No release {version} in project {project.slug}.")
        return release

    def environment(self, project: Project, name: str) -> Environment:
        environment = Environment.objects.filter(project=project, name=name).first()
        if environment is None:
            names = ", ".join(project.environments.values_list("name", flat=True)) or "none"
            raise CommandError(f"No environment {name} in project {project.slug} ({names}).")
        return environment

    def act(self, *, actor, project: Project, options):
        raise NotImplementedError

    def handle(self, *args, username, **options):
        actor = None
        if username:
            actor = get_user_model().objects.filter(username=username).first()
            if actor is None:
                raise CommandError(f"No user {username}.")
        project = Project.objects.filter(slug=options["project"]).first()
        if project is None:
            raise CommandError(f"No project {options['project']}.")
        try:
            deployment = self.act(actor=actor, project=project, options=options)
        except DomainError as exc:
            self.stderr.write(exc.message)
            for field, messages in exc.errors.items():
                self.stderr.write(f"  - {field}: {' '.join(messages)}")
            for line in exc.extra.get("missing") or []:
                self.stderr.write(f"  - {line}")
            raise SystemExit(1) from None
        when = (
            f" at {timezone.localtime(deployment.scheduled_for):%Y-%m-%d %H:%M %Z}"
            if deployment.scheduled_for
            else ""
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Deployment #{deployment.pk}: {deployment} ({deployment.status}{when})."
            )
        )
        self.stdout.write(deployment.get_absolute_url())
