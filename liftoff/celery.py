"""The Celery app. Configuration comes from Django settings (CELERY_* names).

Tasks are thin: they receive ids, load rows and call services. No result backend: the
database rows the tasks update are the results.
"""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun
from django.db import close_old_connections

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "liftoff.settings")

app = Celery("liftoff")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def _close_old_connections(sender=None, **kwargs):
    """What Django does around a request: drop a connection past DB_CONN_MAX_AGE or
    broken, and health-check a kept one on its next use (CELERY_DB_REUSE_MAX keeps it).
    Not for a task run eagerly, inside its caller's transaction (as Celery's fix-up)."""
    if not getattr(getattr(sender, "request", None), "is_eager", False):
        close_old_connections()
