"""The audit trail: append-only, hash-chained, verifiable, never forked."""

import threading

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from liftoff.audit import audit_record, audit_verify
from liftoff.models import AuditChainHead, AuditEvent

pytestmark = pytest.mark.django_db


def _record(n, actor=None):
    return [
        audit_record(
            actor=actor,
            action="thing.changed",
            object_type="thing",
            object_id=i,
            before={"n": i},
            after={"n": i + 1, "note": "ünïcode ✓"},
        )
        for i in range(n)
    ]


def _tamper(sql, params=()):
    """Change rows behind the application's back, as a database user could."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL liftoff.audit_maintenance = 'on'")
        cursor.execute(sql, params)


def _verify_fails_at(seq):
    with pytest.raises(CommandError) as failure:
        call_command("verify_audit")
    assert f"event #{seq}" in str(failure.value)
    return str(failure.value)


def test_events_chain_and_verify(admin_user):
    events = _record(5, actor=admin_user)
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert events[1].prev_hash == events[0].hash
    assert events[0].actor_label == admin_user.username
    assert AuditChainHead.objects.get().seq == 5
    assert audit_verify() == (5, None)


def test_verify_audit_command_reports_intact_chain(capsys):
    _record(3)
    call_command("verify_audit")
    assert "3 events verified" in capsys.readouterr().out


def test_verify_audit_catches_an_altered_row():
    _record(5)
    _tamper("UPDATE liftoff_auditevent SET action = 'nothing.happened' WHERE seq = 3")
    message = _verify_fails_at(3)
    assert "altered" in message


def test_verify_audit_catches_an_altered_json_value():
    _record(4)
    _tamper(
        "UPDATE liftoff_auditevent SET after = %s WHERE seq = 2",
        ['{"n": 999, "note": "ünïcode ✓"}'],
    )
    _verify_fails_at(2)


def test_verify_audit_catches_a_deleted_row():
    _record(5)
    _tamper("DELETE FROM liftoff_auditevent WHERE seq = 2")
    message = _verify_fails_at(3)
    assert "missing" in message


def test_verify_audit_catches_a_deleted_tail():
    _record(5)
    _tamper("DELETE FROM liftoff_auditevent WHERE seq = 5")
    with pytest.raises(CommandError, match="removed from the end"):
        call_command("verify_audit")


def test_verify_audit_catches_reordered_rows():
    _record(5)
    # Swap events 2 and 4 (through a free sequence number, as seq is unique).
    _tamper("UPDATE liftoff_auditevent SET seq = 1000 WHERE seq = 2")
    _tamper("UPDATE liftoff_auditevent SET seq = 2 WHERE seq = 4")
    _tamper("UPDATE liftoff_auditevent SET seq = 4 WHERE seq = 1000")
    message = _verify_fails_at(2)
    assert "re-ordered" in message


def test_verify_audit_catches_an_inserted_row():
    events = _record(3)
    forged = events[1]
    _tamper(
        "INSERT INTO liftoff_auditevent (seq, created_at, actor_label, action, object_type, "
        "object_id, request_id, prev_hash, hash) VALUES (4, %s, 'mallory', 'forged', 'x', '1', "
        "'', %s, %s)",
        [forged.created_at, forged.hash, "f" * 64],
    )
    _verify_fails_at(4)


@pytest.mark.skipif("connection.vendor != 'postgresql'")
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE liftoff_auditevent SET action = 'x'",
        "DELETE FROM liftoff_auditevent",
        "TRUNCATE liftoff_auditevent",
    ],
)
def test_postgres_refuses_changes_to_the_audit_table(statement):
    _record(2)
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("SET LOCAL liftoff.audit_maintenance = 'off'")
        cursor.execute(statement)
    assert AuditEvent.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_writers_leave_one_unbroken_chain():
    from django.db import connections

    start = threading.Barrier(20)
    errors = []

    def writer(n):
        try:
            start.wait()
            for i in range(5):
                with transaction.atomic():
                    audit_record(
                        actor=None, action="race", object_type="w", object_id=n, after={"i": i}
                    )
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert AuditEvent.objects.count() == 100
    assert list(AuditEvent.objects.values_list("seq", flat=True)) == list(range(1, 101))
    assert audit_verify() == (100, None)


def test_audit_event_rolls_back_with_the_change():
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_record(actor=None, action="doomed", object_type="x")
        raise RuntimeError("the change failed")
    assert AuditEvent.objects.count() == 0
    assert AuditChainHead.objects.get().seq == 0
    audit_record(actor=None, action="next", object_type="x")
    assert audit_verify() == (1, None)
