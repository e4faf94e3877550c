from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self):
        # The handler needs the app's models loaded, so these imports wait for ready().
        from liftoff import events
        from notifications.rules import RULES
        from notifications.services import notifications_on_event

        for name in RULES:
            events.subscribe(name, notifications_on_event)
