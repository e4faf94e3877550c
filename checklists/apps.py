from django.apps import AppConfig


class ChecklistsConfig(AppConfig):
    name = "checklists"
    verbose_name = "Checklists"

    def ready(self):
        # Registering needs the app's models loaded, so these imports wait for ready().
        from checklists.selectors import checklists_blocker_rows, checklists_blockers
        from checklists.selectors import release_page_rows as checklists_page_rows
        from checklists.services import (
            on_run_finished,
            project_templates_install,
            release_checklists_create,
        )
        from checklists.views import release_checklists_context
        from liftoff.events import subscribe
        from releases import policy
        from releases.sections import ReleaseSection, register_page_rows, register_section

        policy.register_blocker(
            "checklists", many=checklists_blockers, rows=checklists_blocker_rows
        )
        # A succeeded Prepare or Ship run ticks the items that ask for what it did.
        subscribe("run.finished", on_run_finished)
        policy.register_planned_hook(
            "checklists", lambda release: release_checklists_create(release=release)
        )
        policy.register_project_hook(
            "checklists",
            lambda project, actor: project_templates_install(project=project, actor=actor),
        )
        register_page_rows("checklists", checklists_page_rows)
        register_section(
            ReleaseSection(
                name="checklists",
                order=20,
                template="checklists/release_checklists.html",
                context=release_checklists_context,
                tab=("Checklists", "checklists:release-checklists"),
            )
        )
