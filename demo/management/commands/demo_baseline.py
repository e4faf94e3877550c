"""`manage.py demo_baseline`: what the board says runs in the demo's staging and production,
really running (real deployments through the worker); `make run` calls it once the worker
is up. Idempotent: an environment whose version answers is left alone."""

from django.core.management.base import BaseCommand

from demo.services import (
    DEMO_BASELINE_WAIT_SECONDS,
    DEMO_PROJECT_SLUG,
    demo_baseline_ensure,
)
from releases.models import Project

OUTCOME_WORDS = {
    "running": "already running",
    "deployed": "deployed",
    "failed": "NOT deployed",
    "skipped": "left as it is",
}


class Command(BaseCommand):
    help = (
        "Deploy the demo's last released version (or what the board says runs there) to "
        "the demo's staging and production where it does not answer, and wait for it. "
        "Needs a running worker."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--timeout",
            type=float,
            default=DEMO_BASELINE_WAIT_SECONDS,
            help="Seconds to wait for each deployment (default %(default)s).",
        )

    def handle(self, *args, timeout, **options):
        project = Project.objects.filter(slug=DEMO_PROJECT_SLUG).first()
        if project is None:
            self.stdout.write("Demo environments: no demo project (run seed_demo first).")
            return
        for step in demo_baseline_ensure(project=project, timeout=timeout):
            line = f"Demo {step.environment}: {OUTCOME_WORDS[step.outcome]}: {step.detail}"
            if step.outcome == "failed":
                line = self.style.WARNING(line)
            self.stdout.write(line)
