from django.apps import AppConfig


class ReleasesConfig(AppConfig):
    name = "releases"
    verbose_name = "Projects and releases"

    def ready(self):
        from releases import policy, run_kinds  # noqa: F401 - registers the run kinds
        from releases.services import project_notes_template_install

        # Releases' own default for a new project, through the same hook as the others'.
        policy.register_project_hook(
            "releases",
            lambda project, actor: project_notes_template_install(project=project, actor=actor),
        )
