from django.apps import AppConfig


class MetricsConfig(AppConfig):
    name = "metrics"
    verbose_name = "Metrics and KPIs"

    def ready(self):
        # Registering needs the app's models loaded, so these imports wait for ready().
        from liftoff import events
        from metrics.selectors import release_page_rows, release_rating_context
        from metrics.services import CHANGING_EVENTS, evidence_on_shipped, metrics_on_event
        from releases.sections import ReleaseSection, register_page_rows, register_section

        for name in CHANGING_EVENTS:
            events.subscribe(name, metrics_on_event)
        events.subscribe("release.shipped", evidence_on_shipped)

        register_page_rows("metrics", release_page_rows)
        register_section(
            ReleaseSection(
                name="metrics",
                order=90,
                template="metrics/release_rating.html",
                context=release_rating_context,
                tab=("Compliance", "metrics:compliance"),
            )
        )
