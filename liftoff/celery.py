"""The Celery app. Configuration comes from Django settings (CELERY_* names).

Tasks are thin: they receive ids, load rows and call services. No result backend: the
database rows the tasks update are the results.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "liftoff.settings")

app = Celery("liftoff")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
