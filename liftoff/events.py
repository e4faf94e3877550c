"""Domain events: what happened, told to whoever listens, inside the transaction of the
change.

A service that changes state emits an event beside its audit record:

    emit("release.moved", subject=release, actor=actor, payload={"from": ..., "to": ...})

Handlers are registered per app in `AppConfig.ready` (`subscribe("release.moved", fn)`,
or `"*"` for every event) and run at once, in the same transaction: they only write rows
(a notification delivery, an incident timeline entry, a metric's cache), never do I/O.
So a handler's rows commit with the change and vanish with it when it rolls back, and a
change that rolled back never told anyone anything.

Work that does I/O (an e-mail, a webhook) is a row a handler writes and a Celery task
picks up after commit, swept by beat when the broker was down: the transactional outbox.
The run engine already works this way (`runs.services.run_create` dispatches on commit,
`runs.sweep` sends again what waited); an app whose I/O is not a run follows the same
pattern for its own rows.

No Django signals: they hide the flow, and `.update()` sends none. A handler's exception
is not swallowed: the change fails with it, visibly, rather than half-happening.
"""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection
from django.utils import timezone

# Every event that exists, with what its payload holds. `emit` refuses any other name,
# so a typo never becomes an event nobody hears.
EVENTS: dict[str, str] = {
    "release.planned": "A release was planned: version, type, codename, project.",
    "release.moved": "A release changed phase: from, to, and `system` (why checks were "
    "skipped) for a system move.",
    "release.shipped": "A release's tag is on the remote and it is released: version, tag, commit.",
    "gate.failed": "An automated gate's new result failed or could not be measured: gate, "
    "status, value, threshold, reason.",
    "gate.passed": "An automated gate's new result passed: gate, status, value, threshold.",
    "approval.requested": "Manual gates of a release wait for sign-off: gates (keys), phase.",
    "approval.given": "An approver decided on a manual gate: gate, decision, comment.",
    "gate.waived": "An automated gate was waived for the release head: gate, reason, commit, "
    "status (what was waived: failed, not measured or pending).",
    "validation.finished": "A validation run ended: run, status, and each gate's status.",
    "run.finished": "Any run ended: run, kind, status, error.",
    "deployment.scheduled": "A deployment was scheduled for later: deployment, project, "
    "environment, release, version, kind, status, trigger.",
    "deployment.started": "A deployment or rollback was queued to run now (same payload).",
    "deployment.finished": "A deployment or rollback ended: succeeded (verified), failed or "
    "cancelled (same payload, with its final status).",
    "emergency_change.recorded": "A frozen environment was deployed to under an approver's "
    "override and waits for review: deployment, project, environment, reason.",
    "incident.opened": "An incident was opened: incident, project, environment, severity, "
    "title, deployment, respond_by.",
    "incident.acknowledged": "Someone took an incident: incident, by.",
    "incident.mitigated": "An incident's impact was stopped: incident, by.",
    "incident.escalated": "An incident passed its response time unacknowledged and the next "
    "group is told: incident, step, audience.",
    "incident.resolved": "An incident was resolved: incident, by, summary.",
    "incident.changed": "A person changed an incident's facts: incident, field (`deployment` "
    "or `security`), before, after, reason.",
    "announcement.published": "A release's announcement was published: release, tone, channels.",
}

WILDCARD = "*"


@dataclass(frozen=True)
class Event:
    name: str
    subject: object
    payload: dict = field(default_factory=dict)
    # A user, a project token's principal, or None for Liftoff itself.
    actor: object = None
    at: datetime = field(default_factory=timezone.now)


Handler = Callable[[Event], None]
_HANDLERS: dict[str, list[Handler]] = defaultdict(list)


def subscribe(name: str, handler: Handler) -> None:
    """Call `handler(event)` for every `name` event (or every event, with "*"). The same
    handler twice is kept once (an app's ready() may run again in tests)."""
    if name != WILDCARD and name not in EVENTS:
        raise ValueError(f"No event {name!r}: add it to liftoff.events.EVENTS first.")
    if handler not in _HANDLERS[name]:
        _HANDLERS[name].append(handler)


def unsubscribe(name: str, handler: Handler) -> None:
    if handler in _HANDLERS[name]:
        _HANDLERS[name].remove(handler)


def emit(name: str, *, subject, payload: dict | None = None, actor=None) -> Event:
    """Tell every handler of `name`, now, in the caller's transaction."""
    if name not in EVENTS:
        raise ValueError(f"No event {name!r}: add it to liftoff.events.EVENTS first.")
    if not connection.in_atomic_block:
        # Outside a transaction a handler's rows would commit even if the change did not.
        raise RuntimeError(f"emit({name!r}) must run inside the transaction of its change.")
    event = Event(name=name, subject=subject, payload=payload or {}, actor=actor)
    for handler in (*_HANDLERS[name], *_HANDLERS[WILDCARD]):
        handler(event)
    return event
