"""Every write of the notifications app: the event handler that fills inboxes and the
outbox, the delivery of that outbox (claim, send, record, retry), the sweeper, and the
configuration of webhook endpoints and preferences.

Handlers run in the emitting transaction and only write rows. The send happens in a
Celery task (notifications.tasks), dispatched on commit and swept by beat when its
doorbell was lost; it claims its row with a conditional UPDATE, so a delivery whose task
was sent twice is sent once.
"""

import ipaddress
import logging
import random
import secrets
import socket
import time
from dataclasses import dataclass
from datetime import timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone

from liftoff.audit import audit_record
from liftoff.celery import app as celery_app
from liftoff.errors import Conflict, NotAllowed, ValidationFailed
from liftoff.events import EVENTS, Event, emit
from liftoff.http import webhook_post
from liftoff.roles import Role, require_role
from notifications.announcements import DEFAULT_TEMPLATES, TEMPLATE_MAX, placeholder_problems
from notifications.models import (
    Announcement,
    AnnouncementChannel,
    AnnouncementTemplate,
    Channel,
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    Lane,
    Notification,
    Preference,
    Tone,
    WebhookEndpoint,
    WebhookFormat,
)
from notifications.rules import RULES, audience, body, chosen_channels, default_channels, title
from notifications.selectors import announcement_draft
from releases.models import Project, Release

logger = logging.getLogger(__name__)

SEND_TASK = "notifications.send"
SLACK_BLOCK_LIMIT = 3000
# How long a rotated-out secret still signs, beside the new one.
ROTATION_OVERLAP = timedelta(hours=24)
BROKER_COUNTDOWN_MAX = 600  # seconds


# --- The event handler -------------------------------------------------------------------
def _project_of(subject, payload: dict) -> Project | None:
    for path in (("project",), ("environment", "project"), ("release", "project")):
        obj = subject
        for attr in path:
            obj = getattr(obj, attr, None)
        if isinstance(obj, Project):
            return obj
    slug = payload.get("project")
    return Project.objects.filter(slug=slug).first() if isinstance(slug, str) else None


def _url_of(subject) -> str:
    get_url = getattr(subject, "get_absolute_url", None)
    return get_url() if callable(get_url) else ""


def _listeners(roles: frozenset[Role], actor):
    """Active users with one of `roles` (superusers have every role), but not the actor:
    nobody is told what they did themselves."""
    users = (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(groups__name__in=[r.value for r in roles]))
    )
    if getattr(actor, "pk", None) and isinstance(actor, get_user_model()):
        users = users.exclude(pk=actor.pk)
    return users.distinct().only("pk", "email")


def notifications_on_event(event: Event) -> list[Delivery]:
    """The handler of every notifying event, in the emitting transaction.

    1. In-app Notification rows and e-mail Deliveries for the users who should hear (the
       event's audience, each user's preference or the defaults).
    2. A webhook Delivery for each active endpoint of the event's project that listens.
    3. On commit, each delivery's task is sent (nothing here does I/O).
    """
    if event.name not in RULES:
        return []
    payload = dict(event.payload)
    project = _project_of(event.subject, payload)
    line = title(event.name, event.subject, payload)[:200]
    details = body(event.name, payload)
    url = _url_of(event.subject)

    # An announcement goes out on the channels its publisher chose; other events on all.
    channels = chosen_channels(event.name, payload)
    users = list(_listeners(audience(event.name, payload), event.actor))
    chosen = {p.user_id: p for p in Preference.objects.filter(user__in=users, event=event.name)}
    defaults = default_channels(event.name)
    inbox, outbox = [], []
    for user in users:
        pref = chosen.get(user.pk)
        in_app = (pref.in_app if pref else defaults["in_app"]) and Channel.IN_APP in channels
        email = (pref.email if pref else defaults["email"]) and Channel.EMAIL in channels
        if in_app:
            inbox.append(
                Notification(user=user, event=event.name, title=line, body=details, url=url)
            )
        if email and user.email:
            outbox.append(
                Delivery(
                    channel=Channel.EMAIL,
                    user=user,
                    event=event.name,
                    payload={"title": line, "body": details, "url": url},
                )
            )
    if project is not None and Channel.WEBHOOK in channels:
        data = {**payload, "project": project.slug, "title": line, "url": _absolute(url)}
        for endpoint in WebhookEndpoint.objects.filter(project=project, active=True):
            if endpoint.listens_to(event.name):
                outbox.append(
                    Delivery(
                        channel=Channel.WEBHOOK,
                        endpoint=endpoint,
                        event=event.name,
                        payload=webhook_body(endpoint.format, event, data),
                    )
                )
    Notification.objects.bulk_create(inbox)
    created = Delivery.objects.bulk_create(outbox)
    if created:
        ids = [d.pk for d in created]
        transaction.on_commit(lambda: deliveries_dispatch(delivery_ids=ids))
    return created


def _absolute(url: str) -> str:
    return f"{settings.LIFTOFF_BASE_URL}{url}" if url.startswith("/") else url


def webhook_body(format: str, event: Event, data: dict) -> dict:
    """What an endpoint receives: the Standard Webhooks envelope, or a Slack message."""
    if format == WebhookFormat.SLACK:
        link = f"\n<{data['url']}|Open in Liftoff>" if data.get("url") else ""
        details = body(event.name, {k: v for k, v in data.items() if k != "url"}, limit=30_000)
        full = f"*{data['title']}*{link}" + (f"\n{details}" if details else "")
        blocks = [
            {"type": "section", "text": {"type": "mrkdwn", "text": full[i : i + SLACK_BLOCK_LIMIT]}}
            for i in range(0, len(full), SLACK_BLOCK_LIMIT)
        ]
        return {"text": data["title"], "blocks": blocks}
    return {"type": event.name, "timestamp": event.at.isoformat(), "data": data}


# --- Dispatch ------------------------------------------------------------------------------
def deliveries_dispatch(
    *, delivery_ids: list[int], countdown: float = 0, lane: str | None = None
) -> int:
    """Ring the doorbells (after commit), on one broker connection: each on its lane's
    queue (`deliveries_slow`). With the broker down the first one fails fast and the rest
    are not tried: a request never waits a broker timeout per delivery; the rows stay
    pending and the sweeper sends them. Returns how many were sent (the first ones of
    `delivery_ids`). `lane`: that lane for all, whatever their endpoints. Never raises."""
    sent = 0
    try:
        if lane is None:
            slow = deliveries_slow(delivery_ids=delivery_ids)
        else:
            slow = set(delivery_ids) if lane == Lane.SLOW else set()
        # The broker of the settings as they are now (an operator's or a test's change).
        with celery_app.connection_for_write(settings.CELERY_BROKER_URL) as conn:
            for pk in delivery_ids:
                its_lane = Lane.SLOW if pk in slow else Lane.FAST
                # By name: notifications.tasks imports this module.
                celery_app.send_task(
                    SEND_TASK,
                    args=[pk],
                    kwargs={"lane": its_lane.value},
                    queue=_lane_queue(its_lane),
                    countdown=countdown or None,
                    connection=conn,
                )
                sent += 1
    except Exception as exc:
        logger.warning(
            "%s of %s deliveries not dispatched (broker unavailable: %s); the sweeper will "
            "send them.",
            len(delivery_ids) - sent,
            len(delivery_ids),
            type(exc).__name__,
        )
    return sent


def deliveries_slow(*, delivery_ids: list[int]) -> set[int]:
    """Those of `delivery_ids` whose endpoint is on the slow lane now (one query)."""
    if not delivery_ids:
        return set()
    return set(
        Delivery.objects.filter(
            pk__in=delivery_ids, endpoint__slow_until__gt=timezone.now()
        ).values_list("pk", flat=True)
    )


def _lane_queue(lane: str) -> str:
    return settings.NOTIFICATIONS_SLOW_QUEUE if lane == Lane.SLOW else settings.NOTIFICATIONS_QUEUE


# --- URL safety --------------------------------------------------------------------------
# Cloud metadata services: AWS/GCP/Azure/OpenStack (169.254.169.254), AWS IPv6, Alibaba,
# Azure's wire server. Link-local covers the first; the others are named.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "168.63.129.16")
)


def address_problem(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """Why a webhook must not be sent to `address` ("" when it may): the SSRF guard, used
    when an endpoint is saved and, on the very address connected to, when it is sent."""
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_loopback or address.is_unspecified:
        return "this machine"
    if address.is_multicast or address.is_reserved:
        return "a reserved address"
    return ""


def endpoint_url_problem(url: str, *, allow_private: bool) -> str:
    """Why Liftoff will not POST to `url`, or "". Only http(s); a host that resolves to a
    link-local, cloud-metadata, loopback or reserved address is refused unless an admin
    allowed it on the endpoint (`allow_private`). Private networks (10/8, 192.168/16) are
    allowed: a self-hosted Liftoff talks to a chat server on its own network.

    Checked here when the endpoint is saved (to tell the admin at once). What guards the
    POST is the check at send time, on the addresses the connection itself resolved and
    connects to (`liftoff.http.webhook_post`'s `refuse`), so a name that resolves
    elsewhere by then (DNS rebinding) is refused there."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return "Only http:// and https:// URLs with a host."
    if allow_private:
        return ""
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        return f"The host {parts.hostname} does not resolve."
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        problem = address_problem(address)
        if problem:
            return (
                f"The host {parts.hostname} resolves to {problem} ({address}); "
                "an admin may allow private addresses for this endpoint."
            )
    return ""


# --- Sending -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str
    duration_ms: int
    retry_after: float | None = None  # seconds the receiver asked us to wait
    refused: bool = False  # Liftoff would not send it (the URL's address): no retry
    timed_out: bool = False  # no answer within the lane's timeout


def delivery_claim(*, delivery_id: int) -> Delivery | None:
    """Move a due pending delivery to sending; None if someone else has it (or it is not
    due, or final). The status condition is the guard: two workers given the same id
    both run this UPDATE, and only one changes a row."""
    now = timezone.now()
    claimed = Delivery.objects.filter(
        pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now
    ).update(status=DeliveryStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    if claimed != 1:
        return None
    return Delivery.objects.select_related("endpoint", "user").get(pk=delivery_id)


def delivery_send(*, delivery_id: int, lane: str = Lane.FAST) -> str | None:
    """The task's body: claim, send (outside any transaction: I/O), record. Returns the
    delivery's new status, or None if it was not ours to send (or, on the fast lane, was
    handed to the slow one because its endpoint is slow now)."""
    delivery = delivery_claim(delivery_id=delivery_id)
    if delivery is None:
        return None
    if _not_on_this_lane_now(delivery, lane):
        return None
    if delivery.channel == Channel.WEBHOOK:
        outcome = _send_webhook(delivery, lane=lane)
    else:
        outcome = _send_email(delivery)
    return delivery_record(delivery=delivery, outcome=outcome, lane=lane)


def _not_on_this_lane_now(delivery: Delivery, lane: str) -> bool:
    """Whether a claimed webhook was given back instead of sent, by its lane's rules:

    - fast lane: its endpoint is slow, or has kept another delivery waiting for a quarter
      of the fast lane's time already (it has just died: the first of a burst finds out).
      Tried here, it would hold a fast-lane thread; it goes, uncounted, to the slow lane;
    - slow lane: WEBHOOK_SLOW_LANE_PER_ENDPOINT deliveries to its endpoint are being sent
      already: it waits its turn, so one dead receiver never holds the whole lane."""
    if not delivery.endpoint_id:
        return False
    if lane == Lane.FAST:
        slow_until = delivery.endpoint.slow_until
        if (slow_until and slow_until > timezone.now()) or _endpoint_sending(
            delivery, longer_than=settings.WEBHOOK_FAST_SECONDS / 4
        ):
            _delivery_to_slow_lane(delivery, attempt=None)
            return True
    elif _endpoint_sending(delivery) >= settings.WEBHOOK_SLOW_LANE_PER_ENDPOINT:
        _delivery_wait_turn(delivery)
        return True
    return False


def _send_webhook(delivery: Delivery, *, lane: str = Lane.FAST) -> Outcome:
    endpoint = delivery.endpoint
    if urlsplit(endpoint.url).scheme not in {"http", "https"}:
        return Outcome(None, "refused: only http:// and https:// URLs", 0, refused=True)
    extra = ()
    until = endpoint.previous_secret_until
    if endpoint.previous_secret and until and until > timezone.now():
        extra = (endpoint.previous_secret,)
    timeout = settings.WEBHOOK_TIMEOUT_SECONDS
    if lane == Lane.FAST:
        timeout = min(timeout, settings.WEBHOOK_FAST_SECONDS)
    started = time.monotonic()
    answer = webhook_post(
        endpoint.url,
        payload=delivery.payload,
        secret=endpoint.secret,
        timeout=timeout,
        message_id=delivery.message_id,
        also_sign_with=extra,
        # The name is resolved once, when connecting, and every address it gave checked
        # (DNS rebinding: not a check here and another lookup by the client).
        refuse=None if endpoint.allow_private else address_problem,
        ca_file=settings.WEBHOOK_CA_FILE,
    )
    ms = int((time.monotonic() - started) * 1000)
    if answer.refused:
        return Outcome(None, f"refused: {answer.error}", ms, refused=True)
    return Outcome(
        answer.status,
        answer.error,
        ms,
        _retry_after_seconds(answer.retry_after),
        timed_out=answer.timed_out,
    )


def _retry_after_seconds(value: str) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(value) - timezone.now()).total_seconds())
    except (TypeError, ValueError):
        return None


def _send_email(delivery: Delivery) -> Outcome:
    user = delivery.user
    context = {**delivery.payload, "link": _absolute(delivery.payload.get("url", ""))}
    message = EmailMultiAlternatives(
        subject=f"[Liftoff] {delivery.payload['title']}",
        body=render_to_string("notifications/email.txt", context),
        to=[user.email],
    )
    message.attach_alternative(render_to_string("notifications/email.html", context), "text/html")
    started = time.monotonic()
    try:
        message.send()
    except Exception as exc:  # any SMTP or socket failure: logged, retried
        ms = int((time.monotonic() - started) * 1000)
        return Outcome(None, f"{type(exc).__name__}: {exc}"[:300], ms)
    return Outcome(250, "", int((time.monotonic() - started) * 1000))


def _retry_delay(attempts: int, retry_after: float | None) -> float | None:
    """Seconds until the next attempt after `attempts` failed ones, or None: give up."""
    schedule = settings.WEBHOOK_RETRY_SCHEDULE
    if attempts > len(schedule):
        return None
    delay = schedule[attempts - 1] * settings.WEBHOOK_RETRY_SCALE
    delay *= 1 + random.uniform(0, 0.1)  # noqa: S311 - jitter, not a secret
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay


def delivery_record(*, delivery: Delivery, outcome: Outcome, lane: str = Lane.FAST) -> str | None:
    """Log the attempt and move the delivery on: delivered, pending again later, failed,
    or (410 Gone) disabled with its endpoint. Only if it is still ours (claimed by us and
    still sending: the sweeper may have handed a stuck one to another worker).

    A webhook that did not answer within the fast lane's time is not a failure yet: it
    goes, uncounted, to the slow lane at once, and its endpoint with it
    (`_delivery_to_slow_lane`). On the slow lane, an answer within WEBHOOK_FAST_SECONDS
    brings the endpoint back to the fast lane; none, or a slower one, keeps it there."""
    webhook = delivery.channel == Channel.WEBHOOK
    if webhook and lane == Lane.FAST and outcome.timed_out:
        return _delivery_to_slow_lane(delivery, attempt=outcome)
    code, now = outcome.status_code, timezone.now()
    ok = code is not None and 200 <= code < 300
    error = outcome.error or ("" if ok or code is None else f"HTTP {code}")
    if not ok:
        logger.warning(
            "Delivery %s (%s %s) attempt %s failed: %s",
            delivery.pk,
            delivery.channel,
            delivery.event,
            delivery.attempts,
            error,  # never the secret or the body: the status or the transport's reason
        )
    fields = {"last_status_code": code, "last_error": error[:500]}
    delay = None
    if ok:
        fields |= {"status": DeliveryStatus.DELIVERED, "delivered_at": now, "last_error": ""}
    elif code == 410 and webhook:
        fields |= {"status": DeliveryStatus.DISABLED}
    elif outcome.refused:
        fields |= {"status": DeliveryStatus.FAILED}
    elif code is None or code == 429 or code >= 500 or delivery.channel == Channel.EMAIL:
        delay = _retry_delay(delivery.attempts, outcome.retry_after)
        if delay is None:
            fields |= {"status": DeliveryStatus.FAILED}
        else:
            fields |= {
                "status": DeliveryStatus.PENDING,
                "next_attempt_at": now + timedelta(seconds=delay),
            }
    else:
        fields |= {"status": DeliveryStatus.FAILED}
    with transaction.atomic():
        DeliveryAttempt.objects.create(
            delivery=delivery,
            at=now,
            status_code=code,
            duration_ms=outcome.duration_ms,
            error=error[:500],
        )
        moved = Delivery.objects.filter(
            pk=delivery.pk, status=DeliveryStatus.SENDING, claimed_at=delivery.claimed_at
        ).update(**fields)
        if not moved:
            return None
        if fields["status"] == DeliveryStatus.DISABLED:
            _endpoint_disable(delivery.endpoint, reason=f"410 Gone on {now:%Y-%m-%d %H:%M} UTC")
        if webhook and lane == Lane.SLOW and not outcome.refused:
            _endpoint_lane_learn(delivery.endpoint, outcome=outcome, now=now)
    if delay is not None and delay <= BROKER_COUNTDOWN_MAX:
        # Short waits go by the broker's countdown; the sweeper sends the longer ones (a
        # countdown past Redis's visibility timeout would be handed out again and again).
        transaction.on_commit(
            lambda: deliveries_dispatch(delivery_ids=[delivery.pk], countdown=delay)
        )
    return fields["status"]


def _delivery_to_slow_lane(delivery: Delivery, *, attempt: Outcome | None) -> str | None:
    """Give a claimed webhook back (pending, due now, its attempt not counted against the
    retry schedule), put its endpoint on the slow lane, and send it there on commit.
    `attempt`: the fast-lane attempt that had no answer in time (logged), or None (not
    tried: its endpoint was already slow). Only if the delivery is still ours."""
    now = timezone.now()
    note = (
        f"{attempt.error} on the fast lane: moved to the slow lane"
        if attempt
        else "its endpoint is slow: moved to the slow lane"
    )
    with transaction.atomic():
        moved = Delivery.objects.filter(
            pk=delivery.pk, status=DeliveryStatus.SENDING, claimed_at=delivery.claimed_at
        ).update(
            status=DeliveryStatus.PENDING,
            next_attempt_at=now,
            attempts=F("attempts") - 1,
            last_error=note[:500] if attempt else F("last_error"),
        )
        if not moved:
            return None
        if attempt is not None:
            DeliveryAttempt.objects.create(
                delivery=delivery, at=now, duration_ms=attempt.duration_ms, error=note[:500]
            )
            _endpoint_lane_learn(delivery.endpoint, outcome=attempt, now=now)
    transaction.on_commit(lambda: deliveries_dispatch(delivery_ids=[delivery.pk], lane=Lane.SLOW))
    return DeliveryStatus.PENDING


def _endpoint_sending(delivery: Delivery, *, longer_than: float = 0) -> int:
    """How many other deliveries to its endpoint are being sent now (claimed within the
    timeout), for longer than `longer_than` seconds. Two workers asking at once may both
    go on: the limits built on it are a share of a lane, not a lock."""
    now = timezone.now()
    since = now - timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS + 5)
    sending = Delivery.objects.filter(
        endpoint_id=delivery.endpoint_id, status=DeliveryStatus.SENDING, claimed_at__gt=since
    ).exclude(pk=delivery.pk)
    if longer_than:
        sending = sending.filter(claimed_at__lt=now - timedelta(seconds=longer_than))
    return sending.count()


def _delivery_wait_turn(delivery: Delivery) -> None:
    """Give a claimed delivery back, uncounted, due when one of its endpoint's sends will
    have ended (the timeout at most), and ring again then (on the slow lane)."""
    wait = settings.WEBHOOK_TIMEOUT_SECONDS
    with transaction.atomic():
        moved = Delivery.objects.filter(
            pk=delivery.pk, status=DeliveryStatus.SENDING, claimed_at=delivery.claimed_at
        ).update(
            status=DeliveryStatus.PENDING,
            next_attempt_at=timezone.now() + timedelta(seconds=wait),
            attempts=F("attempts") - 1,
        )
    if moved:
        transaction.on_commit(
            lambda: deliveries_dispatch(delivery_ids=[delivery.pk], countdown=wait, lane=Lane.SLOW)
        )


def _endpoint_lane_learn(endpoint: WebhookEndpoint, *, outcome: Outcome, now) -> None:
    """An answer within WEBHOOK_FAST_SECONDS: the endpoint's deliveries go on the fast lane
    again. None (a timeout, a refused connection) or a slower one: the slow lane, for
    WEBHOOK_SLOW_LANE_SECONDS from now."""
    quick = outcome.status_code is not None and (
        outcome.duration_ms <= settings.WEBHOOK_FAST_SECONDS * 1000
    )
    if quick:
        WebhookEndpoint.objects.filter(pk=endpoint.pk, slow_until__isnull=False).update(
            slow_until=None
        )
    else:
        until = now + timedelta(seconds=settings.WEBHOOK_SLOW_LANE_SECONDS)
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(slow_until=until)


def _endpoint_disable(endpoint: WebhookEndpoint, *, reason: str) -> None:
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(active=False, disabled_reason=reason)
    Delivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.DISABLED, last_error="endpoint disabled"
    )
    audit_record(
        actor=None,
        action="webhook.disabled",
        obj=endpoint.project,
        after={"endpoint": endpoint.pk, "url": endpoint.url, "reason": reason},
    )


def deliveries_sweep() -> list[int]:
    """Beat: send again what waits. A pending delivery due for longer than the grace (its
    doorbell was lost: the broker was down), and a sending one claimed longer ago than
    the timeout plus the grace (its worker died): that one is made pending again first,
    conditionally, so a late finisher's record changes nothing."""
    now = timezone.now()
    grace = timedelta(seconds=settings.NOTIFICATIONS_DISPATCH_GRACE_SECONDS)
    stuck_before = now - grace - timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS)
    stuck = Delivery.objects.filter(status=DeliveryStatus.SENDING, claimed_at__lt=stuck_before)
    again = [
        pk
        for pk, claimed_at in stuck.values_list("pk", "claimed_at")[:500]
        if Delivery.objects.filter(
            pk=pk, status=DeliveryStatus.SENDING, claimed_at=claimed_at
        ).update(
            status=DeliveryStatus.PENDING,
            next_attempt_at=now,
            last_error="the sender stopped before recording an answer",
        )
    ]
    due = Delivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now - grace)
    again += list(due.values_list("pk", flat=True)[:500])
    return again[: deliveries_dispatch(delivery_ids=again)]


def delivery_send_again(*, delivery: Delivery, actor) -> Delivery:
    """An admin's "send again" of a failed (or disabled) delivery: pending now, attempts
    counted afresh."""
    require_role(actor, {Role.ADMIN}, "Only admins may send a delivery again.")
    with transaction.atomic():
        moved = Delivery.objects.filter(
            pk=delivery.pk, status__in=[DeliveryStatus.FAILED, DeliveryStatus.DISABLED]
        ).update(status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=timezone.now())
        if not moved:
            raise ValidationFailed("Only a failed delivery can be sent again.")
        audit_record(
            actor=actor,
            action="delivery.sent_again",
            object_type="notifications.delivery",
            object_id=delivery.pk,
            after={"event": delivery.event, "channel": delivery.channel},
        )
        transaction.on_commit(lambda: deliveries_dispatch(delivery_ids=[delivery.pk]))
    delivery.refresh_from_db()
    return delivery


# --- Webhook endpoints ----------------------------------------------------------------------
def _new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32).replace("-", "A").replace("_", "B")


def _clean_events(events: list[str]) -> list[str]:
    events = [e.strip() for e in events if e and e.strip()]
    if not events:
        raise ValidationFailed("Name at least one event.", errors={"events": ["Required."]})
    if "*" in events:
        return ["*"]
    unknown = sorted(set(events) - set(EVENTS))
    if unknown:
        raise ValidationFailed(
            "Unknown events.", errors={"events": [f"No event {e!r}." for e in unknown]}
        )
    return sorted(set(events))


def webhook_create(
    *,
    project: Project,
    url: str,
    events: list[str],
    format: str = WebhookFormat.STANDARD,
    allow_private: bool = False,
    actor,
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its secret: the only time the secret is handed out."""
    require_role(actor, {Role.ADMIN}, "Only admins configure webhooks.")
    if format not in WebhookFormat.values:
        raise ValidationFailed("Unknown format.", errors={"format": ["standard or slack."]})
    events = _clean_events(events)
    problem = endpoint_url_problem(url, allow_private=allow_private)
    if problem:
        raise ValidationFailed("This URL is refused.", errors={"url": [problem]})
    secret = _new_secret()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.create(
            project=project,
            url=url,
            events=events,
            format=format,
            secret=secret,
            allow_private=allow_private,
        )
        audit_record(
            actor=actor,
            action="webhook.added",
            obj=project,
            after={"endpoint": endpoint.pk, "url": url, "events": events, "format": format},
        )
    return endpoint, secret


def webhook_rotate_secret(*, endpoint: WebhookEndpoint, actor) -> str:
    """A new secret; the old one still signs for ROTATION_OVERLAP, so receivers can switch."""
    require_role(actor, {Role.ADMIN}, "Only admins configure webhooks.")
    secret = _new_secret()
    with transaction.atomic():
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            secret=secret,
            previous_secret=F("secret"),
            previous_secret_until=timezone.now() + ROTATION_OVERLAP,
        )
        audit_record(
            actor=actor,
            action="webhook.secret_rotated",
            obj=endpoint.project,
            after={"endpoint": endpoint.pk, "url": endpoint.url},
        )
    endpoint.refresh_from_db()
    return secret


def webhook_set_active(*, endpoint: WebhookEndpoint, active: bool, actor) -> WebhookEndpoint:
    require_role(actor, {Role.ADMIN}, "Only admins configure webhooks.")
    with transaction.atomic():
        if active:
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(active=True, disabled_reason="")
            audit_record(
                actor=actor,
                action="webhook.enabled",
                obj=endpoint.project,
                after={"endpoint": endpoint.pk, "url": endpoint.url},
            )
        else:
            _endpoint_disable(endpoint, reason="disabled by an admin")
    endpoint.refresh_from_db()
    return endpoint


def webhook_delete(*, endpoint: WebhookEndpoint, actor) -> None:
    require_role(actor, {Role.ADMIN}, "Only admins configure webhooks.")
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="webhook.deleted",
            obj=endpoint.project,
            after={"endpoint": endpoint.pk, "url": endpoint.url},
        )
        endpoint.delete()


# --- The inbox and preferences ----------------------------------------------------------------
def notification_mark_read(*, user, notification_id: int) -> bool:
    return bool(
        Notification.objects.filter(pk=notification_id, user=user, read_at=None).update(
            read_at=timezone.now()
        )
    )


def notifications_mark_all_read(*, user) -> int:
    return Notification.objects.filter(user=user, read_at=None).update(read_at=timezone.now())


def preferences_save(*, user, choices: dict[str, dict[str, bool]]) -> None:
    """`choices`: {event: {"in_app": bool, "email": bool}} for the events that notify."""
    if not getattr(user, "pk", None):
        raise NotAllowed("Sign in first.")
    with transaction.atomic():
        for event, channels in choices.items():
            if event not in RULES:
                raise ValidationFailed(f"No notifying event {event!r}.")
            Preference.objects.update_or_create(
                user=user,
                event=event,
                defaults={
                    "in_app": bool(channels.get("in_app")),
                    "email": bool(channels.get("email")),
                },
            )


# --- Announcements ---------------------------------------------------------------------------
MAY_ANNOUNCE = {Role.RELEASE_MANAGER}  # and admins (has_role)


def _template_errors(text: str) -> list[str]:
    problems = placeholder_problems(text)
    if not text.strip():
        problems.insert(0, "Write something.")
    if len(text) > TEMPLATE_MAX:
        problems.insert(0, f"At most {TEMPLATE_MAX:,} characters.")
    return problems


def project_announcement_templates_install(*, project, actor=None) -> int:
    """Give a project the seed's three templates where it lacks one (the project hook)."""
    have = set(project.announcement_templates.values_list("tone", flat=True))
    rows = [
        AnnouncementTemplate(project=project, tone=tone, markdown=DEFAULT_TEMPLATES[tone])
        for tone in Tone.values
        if tone not in have
    ]
    AnnouncementTemplate.objects.bulk_create(rows)
    return len(rows)


@transaction.atomic
def announcement_templates_update(*, project, actor, templates: dict[str, str]) -> None:
    """Change a project's announcement templates (release managers and admins). Each is
    checked: known placeholders only, no template tags."""
    require_role(actor, MAY_ANNOUNCE, "Only release managers and admins change announcements.")
    errors = {}
    for tone, text in templates.items():
        if tone not in Tone.values:
            errors[tone] = [f"No tone {tone!r}: one of {', '.join(Tone.values)}."]
        elif problems := _template_errors(text):
            errors[tone] = problems
    if errors:
        raise ValidationFailed("The announcement templates were not saved.", errors=errors)
    before = {
        row.tone: len(row.markdown)
        for row in AnnouncementTemplate.objects.select_for_update().filter(project=project)
    }
    for tone, text in templates.items():
        AnnouncementTemplate.objects.update_or_create(
            project=project, tone=tone, defaults={"markdown": text}
        )
    audit_record(
        actor=actor,
        action="project.announcement_templates_changed",
        obj=project,
        before={"lengths": before},
        after={"lengths": {tone: len(text) for tone, text in templates.items()}},
    )


def _tone(tone: str) -> str:
    if tone not in Tone.values:
        raise ValidationFailed(
            "Unknown tone.", errors={"tone": [f"One of {', '.join(Tone.values)}."]}
        )
    return tone


@transaction.atomic
def announcement_save(*, release: Release, tone: str, markdown: str, actor) -> Announcement:
    """Save a tone's draft (release managers and admins). A published announcement is
    not changed: the conditional UPDATE only touches an unpublished row."""
    require_role(actor, MAY_ANNOUNCE, "Only release managers and admins edit announcements.")
    _tone(tone)
    if problems := _template_errors(markdown):
        raise ValidationFailed("The draft was not saved.", errors={"markdown": problems})
    row, created = Announcement.objects.get_or_create(
        release=release, tone=tone, defaults={"markdown": markdown, "edited_by": actor}
    )
    if not created:
        changed = Announcement.objects.filter(pk=row.pk, published_at__isnull=True).update(
            markdown=markdown, edited_by=actor, updated_at=timezone.now()
        )
        if not changed:
            raise Conflict("This announcement is published already; it cannot change.")
    audit_record(
        actor=actor,
        action="announcement.edited",
        obj=release,
        after={"tone": tone, "length": len(markdown)},
    )
    row.refresh_from_db()
    return row


def _channels(channels) -> list[str]:
    chosen = sorted({str(c) for c in channels or ()})
    unknown = [c for c in chosen if c not in AnnouncementChannel.values]
    if unknown or not chosen:
        raise ValidationFailed(
            "Choose where to publish.",
            errors={"channels": [f"One or more of {', '.join(AnnouncementChannel.values)}."]},
        )
    return chosen


@transaction.atomic
def announcement_publish(
    *, release: Release, tone: str, channels: list[str], actor, markdown: str | None = None
) -> Announcement:
    """Publish a tone's announcement, once.

    1. Who: release managers and admins. What: the text given (saved as the draft
       first), else the current draft, with its placeholders filled.
    2. The guard: a conditional UPDATE sets `published_at` only where it is still empty;
       a second publish (a double click, two managers, a retried request) changes no row
       and is refused with 409, so nobody is told twice.
    3. The audit record and `announcement.published`, whose handler writes the inbox
       rows and the outbox (e-mail, webhooks) for the chosen channels, in this
       transaction; they are sent after commit."""
    require_role(actor, MAY_ANNOUNCE, "Only release managers and admins publish announcements.")
    _tone(tone)
    channels = _channels(channels)
    if markdown is not None:
        announcement_save(release=release, tone=tone, markdown=markdown, actor=actor)
    draft = announcement_draft(release=release, tone=tone)
    if problems := _template_errors(draft.text):
        raise ValidationFailed("The draft cannot be published.", errors={"markdown": problems})
    row, _ = Announcement.objects.get_or_create(
        release=release, tone=tone, defaults={"markdown": draft.text, "edited_by": actor}
    )
    now = timezone.now()
    published = Announcement.objects.filter(pk=row.pk, published_at__isnull=True).update(
        markdown=draft.markdown, published_at=now, published_by=actor, channels=channels
    )
    if not published:
        raise Conflict("This announcement is published already.")
    audit_record(
        actor=actor,
        action="announcement.published",
        obj=release,
        after={"tone": tone, "channels": channels},
    )
    emit(
        "announcement.published",
        subject=release,
        actor=actor,
        payload={
            "release": release.pk,
            "version": release.version,
            "codename": release.codename,
            "tone": tone,
            "channels": channels,
            "markdown": draft.markdown,
        },
    )
    row.refresh_from_db()
    return row
