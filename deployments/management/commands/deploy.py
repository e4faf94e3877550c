"""`manage.py deploy --project P VERSION --to ENV [--at TIME]`: the seed's deploy script,
through the same service as the page and the API (`deployment_start`), so the same rules
hold: one deployment at a time, locks, freezes, staging before production."""

from deployments.management.commands._base import DeploymentCommand, parse_time
from deployments.services import deployment_start


class Command(DeploymentCommand):
    help = "Deploy a release to an environment, now or at a time (exit 1 when refused)."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("version", help="The release's version (1.2.0 or v1.2.0).")
        parser.add_argument("--to", required=True, dest="environment", help="The environment.")
        parser.add_argument(
            "--at",
            type=parse_time,
            default=None,
            help="Schedule it: ISO 8601, in the server's time zone unless it says "
            "(2026-05-01T22:00). Default: now.",
        )
        parser.add_argument(
            "--override-reason",
            default="",
            help="A hotfix inside a freeze window, by an approver: why it cannot wait.",
        )

    def act(self, *, actor, project, options):
        return deployment_start(
            release=self.release(project, options["version"]),
            environment=self.environment(project, options["environment"]),
            actor=actor,
            at=options["at"],
            override_reason=options["override_reason"],
        )
