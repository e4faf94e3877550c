"""`manage.py rollback --project P --env ENV`: the seed's emergency rollback, through the
same service as the page's button and the API (`environment_rollback`): redeploy the
environment's last verified version, skipping gates and freezes, never verification."""

from deployments.management.commands._base import DeploymentCommand
from deployments.services import environment_rollback


class Command(DeploymentCommand):
    help = "Roll an environment back to its last verified version (exit 1 when refused)."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--env", required=True, dest="environment", help="The environment.")

    def act(self, *, actor, project, options):
        return environment_rollback(
            environment=self.environment(project, options["environment"]), actor=actor
        )
