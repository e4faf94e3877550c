from django.apps import AppConfig


class ChecklistsConfig(AppConfig):
    name = "checklists"
    verbose_name = "Checklists, quality gates and approvals"

    def ready(self):
        from checklists import runs  # noqa: F401 - registers the run kind release.validate
