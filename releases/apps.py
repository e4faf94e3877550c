from django.apps import AppConfig


class ReleasesConfig(AppConfig):
    name = "releases"
    verbose_name = "Projects and releases"

    def ready(self):
        from releases import policy, run_kinds  # noqa: F401 - registers the run kinds
        from releases.sections import ReleaseSection, register_page_rows, register_section
        from releases.selectors import retrospective_page_rows, retrospective_summary
        from releases.services import project_notes_template_install, project_retro_template_install

        # Releases' own default for a new project, through the same hook as the others'.
        policy.register_project_hook(
            "releases",
            lambda project, actor: project_notes_template_install(project=project, actor=actor),
        )
        policy.register_project_hook(
            "releases-retrospective",
            lambda project, actor: project_retro_template_install(project=project, actor=actor),
        )
        # The retrospective is a section like the other apps' (a card and a tab), so the
        # kept release page knows which rows it reads.
        register_page_rows("retrospective", retrospective_page_rows)
        register_section(
            ReleaseSection(
                name="retrospective",
                order=95,
                template="releases/retro_card.html",
                context=retrospective_summary,
                tab=("Retrospective", "releases:release-retrospective"),
            )
        )
