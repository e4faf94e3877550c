"""Worker liveness as the database sees it (no broker round-trip on page views)."""

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from liftoff.models import WorkerHeartbeat


def worker_heartbeat_record(*, hostname: str) -> None:
    WorkerHeartbeat.objects.update_or_create(
        hostname=hostname[:255], defaults={"seen_at": timezone.now()}
    )


def workers_last_seen():
    """The most recent heartbeat of any worker, or None if none ever answered."""
    latest = WorkerHeartbeat.objects.order_by("-seen_at").values_list("seen_at", flat=True).first()
    return latest


# Every page asks whether to show the "no worker" banner. The answer is reused for a few
# seconds (per process): the banner speaks of "a while" (WORKER_STALE_AFTER, a minute by
# default), and the query was a twentieth of a short page's cost.
LAST_SEEN_CACHE_KEY = "liftoff:workers-last-seen"
LAST_SEEN_CACHE_SECONDS = 10


def workers_are_stale() -> bool:
    latest = cache.get_or_set(LAST_SEEN_CACHE_KEY, workers_last_seen, LAST_SEEN_CACHE_SECONDS)
    return latest is None or timezone.now() - latest > settings.WORKER_STALE_AFTER
