import time

from django.core.management.base import BaseCommand, CommandError

from liftoff.audit import audit_verify


class Command(BaseCommand):
    help = "Check the audit trail's hash chain in sequence order; exit 1 at the first bad event."

    def add_arguments(self, parser):
        parser.add_argument("--chunk-size", type=int, default=10_000)

    def handle(self, *args, chunk_size, **options):
        started = time.monotonic()
        count, problem = audit_verify(chunk_size=chunk_size)
        elapsed = time.monotonic() - started
        if problem is not None:
            raise CommandError(
                f"Audit trail broken at {problem} ({count} events before it are intact).",
                returncode=1,
            )
        self.stdout.write(
            self.style.SUCCESS(f"Audit trail intact: {count} events verified in {elapsed:.2f} s.")
        )
