from django.apps import AppConfig


class ReleasesConfig(AppConfig):
    name = "releases"
    verbose_name = "Projects and releases"

    def ready(self):
        from releases import run_kinds  # noqa: F401 - registers the run kinds
