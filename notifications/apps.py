from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self):
        # The handler needs the app's models loaded, so these imports wait for ready().
        from liftoff import events
        from notifications.rules import RULES
        from notifications.services import (
            notifications_on_event,
            project_announcement_templates_install,
        )
        from releases import policy
        from releases.sections import ReleaseSection, register_page_rows, register_section

        for name in RULES:
            events.subscribe(name, notifications_on_event)
        policy.register_project_hook(
            "notifications",
            lambda project, actor: project_announcement_templates_install(
                project=project, actor=actor
            ),
        )
        # The release page's link to its announcements (a tab, and a line on the overview
        # that reads nothing: the kept page depends on no row of ours).
        register_section(
            ReleaseSection(
                name="announcements",
                order=90,
                template="notifications/release_announcements_link.html",
                context=lambda *, user, release: {},
                tab=("Announcements", "announcements:release"),
            )
        )
        register_page_rows("announcements", lambda release: [])
