from django.apps import AppConfig


class DeploymentsConfig(AppConfig):
    name = "deployments"
    verbose_name = "Environments and deployments"

    def ready(self):
        # Registering needs the app's models loaded, so these imports wait for ready().
        from deployments import run_kinds  # noqa: F401 - registers the run kind deployment.run
        from deployments.config_views import emergency_changes_section
        from deployments.selectors import (
            emergency_changes_rows,
            emergency_changes_to_review_count,
            releases_deployment_blocker_rows,
            releases_deployment_blockers,
        )
        from deployments.selectors import release_page_rows as deployments_page_rows
        from deployments.services import deployment_run_finished
        from deployments.views import deployment_actions, release_deployments_context
        from gates.approvals_sections import ApprovalsSection
        from gates.approvals_sections import register as register_approvals_section
        from liftoff import events
        from releases import policy
        from releases.sections import (
            ReleaseSection,
            register_actions,
            register_page_rows,
            register_section,
        )

        policy.register_blocker(
            "deployments", many=releases_deployment_blockers, rows=releases_deployment_blocker_rows
        )
        events.subscribe("run.finished", deployment_run_finished)
        register_page_rows("deployments", deployments_page_rows)
        register_section(
            ReleaseSection(
                name="deployments",
                order=40,
                template="deployments/release_deployments.html#deployments",
                context=release_deployments_context,
                tab=("Deployments", "deployments:release-deployments"),
            )
        )
        register_actions("deployments", deployment_actions)
        register_approvals_section(
            ApprovalsSection(
                name="emergency-changes",
                order=10,
                template="deployments/config/approvals_emergency.html",
                context=emergency_changes_section,
                count=emergency_changes_to_review_count,
                rows=emergency_changes_rows,
            )
        )
