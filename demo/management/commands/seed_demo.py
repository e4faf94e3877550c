"""`manage.py seed_demo`: the demo project, its real local git repository, and the demo users.

Idempotent: a second run finds everything in place and changes nothing.
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from demo.services import DemoSeed, demo_root, demo_seed
from liftoff.errors import DomainError
from liftoff.roles import ROLE_LABELS


class Command(BaseCommand):
    help = (
        "Create the demo: the PepeluGPT project, its git repository under DATA_DIR/demo, "
        "and (with DEBUG on, or --force) the users admin, manager, approver and stakeholder."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="Create the demo users even though DEBUG is off.",
        )
        parser.add_argument(
            "--reset-passwords",
            action="store_true",
            help="Set existing demo users' passwords to DEMO_PASSWORD again.",
        )

    def handle(self, *args, force, reset_passwords, **options):
        with_users = settings.DEBUG or force
        try:
            seed = demo_seed(
                root=demo_root(),
                with_users=with_users,
                password=settings.DEMO_PASSWORD,
                reset_passwords=reset_passwords,
            )
        except DomainError as error:
            details = "".join(f" {f}: {' '.join(m)}" for f, m in error.errors.items())
            raise CommandError(error.message + details) from error
        self._report(seed, reset_requested=reset_passwords)

    def _report(self, seed: DemoSeed, *, reset_requested: bool) -> None:
        write, style = self.stdout.write, self.style
        repo = seed.repo
        state = "created" if repo.created else "already there, left unchanged"
        write(f"Demo repository: {state}: {repo.path} (HEAD {repo.head[:12]})")

        project = seed.project
        state = "created" if project.created else "already there, left unchanged"
        write(f"Demo project: {state}: {project.project.name} ({project.project.slug})")
        if seed.validation_added:
            write(f"Demo validation commands: added {', '.join(seed.validation_added)}")
        elif not project.repo_url_mismatch:
            write("Demo validation commands: already there")
        if project.repo_url_mismatch:
            write(
                style.WARNING(
                    f"  It points at {project.repo_url_mismatch}, not at {repo.path}; "
                    "change its repository URL to use the demo repository."
                )
            )

        if seed.users is None:
            write(
                "Demo users: skipped, because DEBUG is off: accounts with a published "
                "password do not belong on a real installation. Pass --force to create them."
            )
            if reset_requested:
                write("  --reset-passwords did nothing: no demo users were asked for.")
            return
        created = [u.username for u in seed.users if u.created]
        existing = [u.username for u in seed.users if not u.created]
        if created:
            write(f"Demo users: created {', '.join(created)}")
        if existing:
            write(f"Demo users: already there: {', '.join(existing)}")
        for user in seed.users:
            for change in user.changes:
                write(f"  {user.username}: {change}")

        if seed.planned is not None:
            release = seed.planned
            write(
                f"Demo release: planned v{release.version} “{release.codename}” for manager "
                "(Prepare it from its page)"
            )
        if seed.retrospective:
            write(
                "Demo retrospective: answers and action items on the last shipped release "
                "(its Retrospective tab; the owners' dashboards list their open items)"
            )
        logins = ", ".join(f"{u.username} ({ROLE_LABELS[u.role]})" for u in seed.users)
        write(style.SUCCESS(f"Demo logins: {logins}"))
        fresh = [u.username for u in seed.users if u.created or u.password_reset]
        kept = [u.username for u in seed.users if not (u.created or u.password_reset)]
        if fresh:
            write(f"  Password of {', '.join(fresh)}: {settings.DEMO_PASSWORD}")
        if kept:
            write(
                f"  {', '.join(kept)} kept the password they had; --reset-passwords sets "
                "it to DEMO_PASSWORD again."
            )
