"""Worker liveness as the database sees it (no broker round-trip on page views)."""

from django.conf import settings
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


def workers_are_stale() -> bool:
    latest = workers_last_seen()
    return latest is None or timezone.now() - latest > settings.WORKER_STALE_AFTER
