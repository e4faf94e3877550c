from django.apps import AppConfig


class GatesConfig(AppConfig):
    name = "gates"
    verbose_name = "Quality gates and approvals"

    def ready(self):
        # Registering needs the app's models loaded, so these imports wait for ready().
        from gates import run_kinds  # noqa: F401 - registers the run kind release.validate
        from gates.actions import gate_actions
        from gates.selectors import gate_check_lines, gates_blocker_rows, gates_blockers
        from gates.selectors import release_page_rows as gates_page_rows
        from gates.services import (
            approvals_request,
            gate_judgement_record,
            project_gates_install,
            release_validate,
        )
        from gates.views import release_gates_context
        from liftoff import events
        from releases import cli, policy
        from releases.sections import (
            ReleaseSection,
            register_actions,
            register_page_rows,
            register_section,
        )

        policy.register_blocker("gates", many=gates_blockers, rows=gates_blocker_rows)
        policy.register_project_hook(
            "gates", lambda project, actor: project_gates_install(project=project, actor=actor)
        )
        register_page_rows("gates", gates_page_rows)
        register_section(
            ReleaseSection(
                name="gates",
                order=10,
                template="gates/release_gates.html#gates",
                context=release_gates_context,
                tab=("Gates", "gates:release-gates"),
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
        register_actions("gates", gate_actions)
        cli.register_check_lines("gates", gate_check_lines)
        events.subscribe("release.moved", approvals_request)
        events.subscribe("release.moved", gate_judgement_record)
