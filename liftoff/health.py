"""Cheap, time-bounded checks of the database and the broker, for /healthz and the banner.

Each check runs in a small thread pool so that a black-holed host cannot hold the
request: whatever has not answered by the deadline counts as down.
"""

import os
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from urllib.parse import urlsplit

import redis
from django.conf import settings
from django.db import connection

_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="healthz")
_redis_clients: dict[tuple[str, float], redis.Redis] = {}


def _redis_client(url: str, timeout: float) -> redis.Redis:
    """One client (and connection pool) per broker URL, reused across checks."""
    key = (url, timeout)
    if key not in _redis_clients:
        _redis_clients[key] = redis.Redis.from_url(
            url, socket_connect_timeout=timeout, socket_timeout=timeout
        )
    return _redis_clients[key]


def check_database() -> str:
    try:
        connection.close_if_unusable_or_obsolete()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return "ok"
    except Exception as exc:
        connection.close()
        return f"down: {type(exc).__name__}"


def check_broker(timeout: float = 1.0) -> str:
    url = settings.CELERY_BROKER_URL
    scheme = urlsplit(url).scheme
    try:
        if scheme in {"redis", "rediss"}:
            _redis_client(url, timeout).ping()
            return "ok"
        if scheme == "filesystem":
            folder = settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]
            ok = os.path.isdir(folder) and os.access(folder, os.W_OK)
            return "ok" if ok else f"down: {folder} is not a writable folder"
        return f"down: unsupported broker scheme {scheme!r}"
    except Exception as exc:
        return f"down: {type(exc).__name__}"


def health_report(deadline: float = 1.5) -> dict[str, str]:
    futures = {"database": _pool.submit(check_database), "broker": _pool.submit(check_broker)}
    report = {}
    for name, future in futures.items():
        try:
            report[name] = future.result(timeout=deadline)
        except FutureTimeout:
            report[name] = "down: no answer in time"
    report["status"] = "ok" if all(v == "ok" for v in report.values()) else "down"
    return {"status": report.pop("status"), **report}
