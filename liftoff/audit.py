"""The audit trail: one service appends events, one function verifies the chain, and a
registry writes the events as sentences.

Each event's hash covers its own fields and the previous event's hash, so altering,
deleting or re-ordering any row breaks every hash after it.

The trail in words (`audit_trail`, `audit_entries`): liftoff/ knows neither the actions of
the apps above it nor which of their objects belong to a release. Each app says so in its
`audit_wording` module (imported at start-up by LiftoffConfig.ready):
- `register_audit_kind(key, label)`: a group of actions a reader filters by;
- `register_describer(action, fn(event, ctx) -> str, kind=...)`: the words after the actor
  ("approved Security review: “looks good”"); an action nobody describes gets a
  generic sentence;
- `register_audit_context(fn(events, subject) -> dict)`: one query for the names the
  words need (gate names, run kinds) for a whole page of events at once, never one per
  event (`subject`, the object whose trail it is, may spare it);
- `register_audit_scope(fn(object_type, object_id) -> Q | None)`: events recorded against
  other objects that belong to this one (a release's checklist items, its runs).
Reading a page of the trail is thus a constant number of queries.
"""

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from liftoff.models import AuditChainHead, AuditEvent
from liftoff.request_context import current_request_id

GENESIS_HASH = "0" * 64

# The fields a hash covers, in this order. verify_audit streams exactly these.
HASHED_FIELDS = (
    "seq",
    "created_at",
    "actor_id",
    "actor_label",
    "action",
    "object_type",
    "object_id",
    "before",
    "after",
    "request_id",
    "prev_hash",
)


def _normalise(value):
    """What the JSON column will give back: plain JSON types only."""
    if value is None:
        return None
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def event_hash(row: tuple) -> str:
    """Hash of one event given its HASHED_FIELDS values, in order."""
    seq, created_at, actor_id, actor_label, action, otype, oid, before, after, rid, prev = row
    payload = json.dumps(
        [
            seq,
            created_at.isoformat(),
            actor_id,
            actor_label,
            action,
            otype,
            oid,
            before,
            after,
            rid,
            prev,
        ],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def audit_record(
    *,
    actor,
    action: str,
    obj=None,
    object_type: str = "",
    object_id: str | int = "",
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEvent:
    """Append one event inside the caller's transaction.

    1. Lock the chain head (FOR UPDATE), so concurrent writers queue here.
    2. Build the event on the head's hash and insert it.
    3. Move the head. Everything commits or rolls back with the caller's change.
    """
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
    actor_user = actor if getattr(actor, "is_authenticated", False) and actor.pk else None
    actor_label = actor_user.get_username() if actor_user else (str(actor) if actor else "system")
    with transaction.atomic():
        head = AuditChainHead.objects.select_for_update().filter(pk=1).first()
        if head is None:
            AuditChainHead.objects.get_or_create(pk=1, defaults={"seq": 0, "hash": GENESIS_HASH})
            head = AuditChainHead.objects.select_for_update().get(pk=1)
        event = AuditEvent(
            seq=head.seq + 1,
            created_at=timezone.now(),
            actor=actor_user,
            actor_label=actor_label[:150],
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            before=_normalise(before),
            after=_normalise(after),
            request_id=current_request_id()[:64],
            prev_hash=head.hash,
        )
        event.hash = event_hash(
            tuple(event.actor_id if f == "actor_id" else getattr(event, f) for f in HASHED_FIELDS)
        )
        event.save(force_insert=True)
        AuditChainHead.objects.filter(pk=1).update(seq=event.seq, hash=event.hash)
    return event


@dataclass(frozen=True)
class AuditProblem:
    seq: int | None
    reason: str

    def __str__(self):
        where = f"event #{self.seq}" if self.seq is not None else "the chain head"
        return f"{where}: {self.reason}"


def _stream(chunk_size: int) -> Iterator[tuple]:
    yield from (
        AuditEvent.objects.order_by("seq")
        .values_list(*HASHED_FIELDS, "hash")
        .iterator(chunk_size=chunk_size)
    )


def audit_verify(*, chunk_size: int = 10_000) -> tuple[int, AuditProblem | None]:
    """Walk the chain in sequence order. Returns (events checked, first problem or None).

    On PostgreSQL the walk and the head are read in one REPEATABLE READ snapshot: an event
    appended during a long check must not look like a removed tail. Inside a transaction
    the server-side cursor also streams instead of materialising the whole table.
    """
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return _audit_verify(chunk_size)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        return _audit_verify(chunk_size)


def _audit_verify(chunk_size: int) -> tuple[int, AuditProblem | None]:
    expected_prev = GENESIS_HASH
    expected_seq = 1
    count = 0
    for row in _stream(chunk_size):
        seq = row[0]
        if seq != expected_seq:
            gap = "missing" if seq > expected_seq else "duplicated"
            return count, AuditProblem(
                seq,
                f"sequence jumps from {expected_seq - 1} to {seq} (event #{expected_seq} {gap})",
            )
        if row[10] != expected_prev:
            return count, AuditProblem(
                seq,
                "previous-hash link does not match the event before "
                "it (deleted, inserted or re-ordered)",
            )
        computed = event_hash(row[:11])
        if computed != row[11]:
            return count, AuditProblem(seq, "content does not match its hash (altered)")
        expected_prev = computed
        expected_seq += 1
        count += 1
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is not None and (head.seq != count or head.hash != expected_prev):
        return count, AuditProblem(
            None,
            f"records {head.seq} events but the table ends at "
            f"#{count} (events removed from the end)",
        )
    return count, None


def audit_for_object(*, object_type: str, object_id) -> list[AuditEvent]:
    """The events recorded against one object only, oldest first (see `audit_trail` for an
    object's whole history in words)."""
    return list(
        AuditEvent.objects.filter(object_type=object_type, object_id=str(object_id))
        .select_related("actor")
        .order_by("seq")
    )


# --- The trail in words -----------------------------------------------------------------

# The actor shown for events nobody signed in made (runs, tasks, the seed).
SYSTEM_ACTOR = "Liftoff"
# The person filter's value for those events: no username can contain a colon.
SYSTEM_PERSON = ":liftoff"
OTHER_KIND = "other"

Describer = Callable[[AuditEvent, dict], str]


@dataclass(frozen=True)
class _Wording:
    kind: str
    describe: Describer


_KINDS: dict[str, tuple[int, str]] = {}
_WORDING: dict[str, _Wording] = {}
_CONTEXTS: list[Callable[[list[AuditEvent], object], dict]] = []
_SCOPES: list[Callable[[str, str], Q | None]] = []


def register_audit_kind(key: str, label: str, *, order: int) -> None:
    """A group of actions the trail can be filtered by ("gates": "Gates and approvals"),
    listed by `order`."""
    _KINDS[key] = (order, label)


def register_describer(action: str, describe: Describer, *, kind: str) -> None:
    """How an action reads after its actor. `describe(event, ctx)` gets the merged
    results of the registered contexts; it must not query the database."""
    if kind not in _KINDS:
        raise ValueError(f"Register the audit kind {kind!r} before describing {action!r}.")
    _WORDING[action] = _Wording(kind, describe)


def register_audit_context(fn: Callable[[list[AuditEvent], object], dict]) -> None:
    """`fn(events, subject)` returns names the describers need, for all of `events` at once
    (at most one query, none when no event of its app is among them or `subject`, the
    object whose trail is read, already says it)."""
    _CONTEXTS.append(fn)


def register_audit_scope(fn: Callable[[str, str], Q | None]) -> None:
    """`fn(object_type, object_id)` returns which other events belong to that object's
    history (as a Q on AuditEvent, with subqueries, not lists of ids), or None."""
    _SCOPES.append(fn)


def audit_kinds() -> list[tuple[str, str]]:
    """The filter's kinds in their order, then "Other" (actions nobody describes)."""
    ordered = sorted(_KINDS.items(), key=lambda item: item[1][0])
    return [*((key, label) for key, (_, label) in ordered), (OTHER_KIND, "Other")]


def audit_trail(*, obj, kind: str = "", person: str = "") -> QuerySet[AuditEvent]:
    """The events of `obj` and of everything the scopes count as part of it, newest first.
    `kind` (a key of audit_kinds()) and `person` (a username, or SYSTEM_PERSON) narrow it."""
    object_type, object_id = obj._meta.label_lower, str(obj.pk)
    where = Q(object_type=object_type, object_id=object_id)
    for scope in _SCOPES:
        if (extra := scope(object_type, object_id)) is not None:
            where |= extra
    events = AuditEvent.objects.filter(where)
    if kind == OTHER_KIND:
        events = events.exclude(action__in=list(_WORDING))
    elif kind:
        events = events.filter(action__in=[a for a, w in _WORDING.items() if w.kind == kind])
    if person == SYSTEM_PERSON:
        events = events.filter(actor_id__isnull=True)
    elif person:
        events = events.filter(actor_id__isnull=False, actor_label=person)
    return events.order_by("-seq")


def audit_people(events: QuerySet[AuditEvent]) -> list[tuple[str, str]]:
    """(filter value, label) of everyone who appears in `events`: one query."""
    labels = set(events.filter(actor_id__isnull=False).values_list("actor_label", flat=True))
    people = [(label, label) for label in sorted(labels, key=str.casefold)]
    if events.filter(actor_id__isnull=True).exists():
        people.append((SYSTEM_PERSON, SYSTEM_ACTOR))
    return people


@dataclass(frozen=True)
class AuditEntry:
    event: AuditEvent
    actor: str
    text: str
    kind: str

    @property
    def created_at(self) -> datetime:
        return self.event.created_at

    @property
    def sentence(self) -> str:
        return f"{self.actor} {self.text}"


def audit_entries(events: Iterable[AuditEvent], *, subject=None) -> list[AuditEntry]:
    """The events as sentences: at most one query per registered context, whatever their
    number. `subject`: the object whose trail they are, if the caller has it."""
    events = list(events)
    ctx: dict = {}
    for load in _CONTEXTS:
        ctx.update(load(events, subject))
    return [_entry(event, ctx) for event in events]


def audit_latest(*, obj, limit: int = 10) -> list[AuditEntry]:
    """The newest `limit` entries of `obj`'s trail (a page's summary of it)."""
    return audit_entries(audit_trail(obj=obj)[:limit], subject=obj)


def _entry(event: AuditEvent, ctx: dict) -> AuditEntry:
    actor = event.actor_label if event.actor_id else SYSTEM_ACTOR
    wording = _WORDING.get(event.action)
    if wording is None:
        return AuditEntry(event, actor, _generic(event), OTHER_KIND)
    try:
        text = wording.describe(event, ctx)
    except (KeyError, TypeError, ValueError, AttributeError):
        # An old event without a field today's wording expects: still say what happened.
        text = _generic(event)
    return AuditEntry(event, actor, text, wording.kind)


def _generic(event: AuditEvent) -> str:
    """An action no app describes: "recorded token revoked", with a status if it has one."""
    words = event.action.replace(".", " ").replace("_", " ")
    status = (event.after or {}).get("status") if isinstance(event.after, dict) else None
    return f"recorded {words}" + (f" → {status}" if status else "")


def quoted(text) -> str:
    """A person's words inside a sentence: “like this”, shortened past 200 characters."""
    text = " ".join(str(text or "").split())
    return f"“{text[:199]}…”" if len(text) > 200 else f"“{text}”"
