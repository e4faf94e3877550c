"""Each pytest-xdist worker (`make test` runs the suite in parallel) gets its own Celery
queue and data folder, so a real Celery worker started by one test process never takes
another's tasks, and SQLite, broker folders and git mirrors are never shared.

Loaded with `-p tests.xdist_workers` (pyproject's addopts): a plugin named there is
imported before pytest-django reads the settings, which read these variables once.
pytest-django gives each worker a database of its own (`test_<name>_gw0`, …).
"""

import os

from liftoff.env import data_dir

_worker = os.environ.get("PYTEST_XDIST_WORKER")
if _worker:
    os.environ["LIFTOFF_QUEUE"] = f"{os.environ.get('LIFTOFF_QUEUE', 'liftoff-test')}-{_worker}"
    os.environ["LIFTOFF_DATA_DIR"] = str(data_dir() / _worker)
    os.environ.pop("LIFTOFF_BROKER_DIR", None)
    os.environ.pop("LIFTOFF_NOTIFICATIONS_QUEUE", None)
    os.environ.pop("LIFTOFF_NOTIFICATIONS_SLOW_QUEUE", None)
