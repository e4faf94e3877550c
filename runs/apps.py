from django.apps import AppConfig


class RunsConfig(AppConfig):
    name = "runs"
    verbose_name = "Run engine: background runs, steps, logs, heartbeat, reaper, sweeper"
