from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = "Incidents"

    def ready(self):
        # Registering needs the app's models loaded, so these imports wait for ready().
        from deployments.selectors import register_deployment_blocker
        from incidents.selectors import (
            incident_deployment_blockers,
            incidents_release_blocker_rows,
            incidents_release_blockers,
            release_page_rows,
        )
        from incidents.services import (
            incident_on_failed_verification,
            project_severity_policies_install,
        )
        from liftoff import events
        from releases import policy
        from releases.sections import register_page_rows

        policy.register_blocker(
            "incidents", many=incidents_release_blockers, rows=incidents_release_blocker_rows
        )
        policy.register_project_hook(
            "incidents",
            lambda project, actor: project_severity_policies_install(project=project, actor=actor),
        )
        register_page_rows("incidents", release_page_rows)
        register_deployment_blocker("incidents", incident_deployment_blockers)
        events.subscribe("deployment.finished", incident_on_failed_verification)
