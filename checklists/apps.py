from django.apps import AppConfig


class ChecklistsConfig(AppConfig):
    name = "checklists"
    verbose_name = "Checklists, quality gates and approvals"

    def ready(self):
        # Registering needs the app's models loaded, so these imports wait for ready().
        from checklists import runs  # noqa: F401 - registers the run kind release.validate
        from checklists.selectors import checklist_blockers, gate_blockers, gate_check_lines
        from checklists.services import (
            project_defaults_install,
            release_checklists_create,
            release_validate,
        )
        from checklists.views import release_checklists_context, release_gates_context
        from releases import cli, policy
        from releases.sections import ReleaseSection, register_section

        policy.register_blocker("checklists", checklist_blockers)
        policy.register_blocker("gates", gate_blockers)
        policy.register_planned_hook(
            "checklists", lambda release: release_checklists_create(release=release)
        )
        policy.register_project_hook(
            "checklists",
            lambda project, actor: project_defaults_install(project=project, actor=actor),
        )
        register_section(
            ReleaseSection(
                name="gates",
                order=10,
                template="checklists/release_gates.html#gates",
                context=release_gates_context,
            )
        )
        register_section(
            ReleaseSection(
                name="checklists",
                order=20,
                template="checklists/release_checklists.html",
                context=release_checklists_context,
            )
        )
        cli.register_action(
            cli.ReleaseAction(
                name="validate",
                help="Start a validation run of the release head.",
                run=lambda *, release, actor: (
                    f"Validating v{release.version}: run "
                    f"#{release_validate(release=release, actor=actor).pk}."
                ),
            )
        )
        cli.register_check_lines("gates", gate_check_lines)
