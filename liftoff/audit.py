"""The audit trail: one service appends events, one function verifies the chain.

Each event's hash covers its own fields and the previous event's hash, so altering,
deleting or re-ordering any row breaks every hash after it.
"""

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
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
    return list(
        AuditEvent.objects.filter(object_type=object_type, object_id=str(object_id))
        .select_related("actor")
        .order_by("seq")
    )
