"""`manage.py release new|notes|move|prepare|check`, and what other apps add through
`releases.cli` (validate): the seed's scripts, through the same services as the pages and
the API (so the same rules hold)."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from liftoff.errors import DomainError
from releases.cli import check_lines, release_actions
from releases.models import Release
from releases.policy import policy_snapshot, release_blockers
from releases.selectors import project_get
from releases.services import release_create, release_prepare, release_transition


class Command(BaseCommand):
    help = "Plan, prepare and move releases from the command line."

    def add_arguments(self, parser):
        parser.add_argument(
            "--as",
            dest="username",
            default=None,
            help="Act as this user (for the audit trail). Default: system.",
        )
        sub = parser.add_subparsers(dest="action", required=True)
        new = sub.add_parser("new", help="Plan a release (version and codename proposed).")
        new.add_argument("--project", required=True)
        new.add_argument("--type", required=True, choices=["major", "minor", "patch", "hotfix"])
        new.add_argument("--version", dest="release_version", default=None)
        new.add_argument("--codename", default=None)
        new.add_argument("--summary", default="")
        notes = sub.add_parser("notes", help="Print a release's notes (Markdown).")
        notes.add_argument("--project", required=True)
        notes.add_argument("version")
        move = sub.add_parser("move", help="Move a release to another phase.")
        move.add_argument("--project", required=True)
        move.add_argument("version")
        move.add_argument("to")
        prepare = sub.add_parser("prepare", help="Start the preparation run.")
        prepare.add_argument("--project", required=True)
        prepare.add_argument("version")
        for extra in release_actions():
            action = sub.add_parser(extra.name, help=extra.help)
            action.add_argument("--project", required=True)
            action.add_argument("version")
        check = sub.add_parser(
            "check",
            help="Print the gates and what blocks a phase (the final alignment check); "
            "exits 1 when something does.",
        )
        check.add_argument("--project", required=True)
        check.add_argument("version")
        check.add_argument("--to", default="production", choices=["ready", "production"])

    def _release(self, project_slug, version):
        release = Release.objects.filter(
            project__slug=project_slug, version=version.removeprefix("v")
        ).first()
        if release is None:
            raise CommandError(f"No release {version} in project {project_slug}.")
        return release

    def _check(self, release, to):
        with policy_snapshot():  # the gate lines and the blockers read the gates once
            for line in check_lines(release):
                self.stdout.write(line)
            missing = release_blockers(release=release, to=to)
        if missing:
            self.stdout.write(f"\nv{release.version} cannot move to {to}:")
            for line in missing:
                self.stdout.write(f"  - {line}")
            raise SystemExit(1)
        self.stdout.write(self.style.SUCCESS(f"\nv{release.version} may move to {to}."))

    def handle(self, *args, action, username, **options):
        actor = None
        if username:
            actor = get_user_model().objects.filter(username=username).first()
            if actor is None:
                raise CommandError(f"No user {username}.")
        try:
            if action == "new":
                project = project_get(slug=options["project"])
                release = release_create(
                    actor=actor,
                    project=project,
                    release_type=options["type"],
                    version=options["release_version"],
                    codename=options["codename"],
                    summary=options["summary"],
                )
                self.stdout.write(
                    self.style.SUCCESS(
                        f"Planned {project.name} v{release.version} “{release.codename}” "
                        f"({release.type}); branch {release.branch}."
                    )
                )
            elif action == "notes":
                release = self._release(options["project"], options["version"])
                self.stdout.write(release.notes or "")
            elif action == "move":
                release = self._release(options["project"], options["version"])
                release_transition(release=release, to=options["to"], actor=actor)
                self.stdout.write(
                    self.style.SUCCESS(f"v{release.version} is now {release.status}.")
                )
            elif extra := next((a for a in release_actions() if a.name == action), None):
                release = self._release(options["project"], options["version"])
                self.stdout.write(self.style.SUCCESS(extra.run(release=release, actor=actor)))
            elif action == "check":
                self._check(self._release(options["project"], options["version"]), options["to"])
            elif action == "prepare":
                release = self._release(options["project"], options["version"])
                run = release_prepare(release=release, actor=actor)
                self.stdout.write(
                    self.style.SUCCESS(f"Preparing v{release.version}: run #{run.pk}.")
                )
        except DomainError as exc:
            details = [f"{field}: {' '.join(msgs)}" for field, msgs in exc.errors.items()]
            details += list(exc.extra.get("missing") or [])
            raise CommandError(" ".join([exc.message, *details])) from None
