"""Domain events: handlers run inside the transaction of the change that raised the event,
so their rows commit with it and roll back with it; nothing is emitted outside one."""

import pytest
from django.contrib.auth.models import Group
from django.db import transaction

from liftoff import events
from releases.models import Release, ReleaseStatus
from releases.services import release_transition
from tests.factories import ProjectFactory, ReleaseFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def recorder():
    """A handler as a later app writes one (a notification delivery, a timeline entry):
    it only writes a row. Here the row is a Group named after the event."""
    seen = []

    def handler(event):
        seen.append(event)
        Group.objects.create(name=f"seen {event.name} {event.payload.get('to', '')}")

    events.subscribe("release.moved", handler)
    yield seen
    events.unsubscribe("release.moved", handler)


@pytest.fixture
def release(manager):
    return ReleaseFactory(project=ProjectFactory(), release_manager=manager, status="staging")


def test_a_handlers_rows_commit_with_the_change(recorder, release, manager):
    release_transition(release=release, to=ReleaseStatus.READY, actor=manager)
    assert Release.objects.get(pk=release.pk).status == ReleaseStatus.READY
    assert Group.objects.filter(name="seen release.moved ready").exists()
    (event,) = recorder
    assert event.subject.pk == release.pk
    assert event.actor == manager
    assert event.payload == {"from": "staging", "to": "ready", "system": None}


def test_a_handlers_rows_roll_back_with_the_change(recorder, release, manager):
    with pytest.raises(RuntimeError), transaction.atomic():
        release_transition(release=release, to=ReleaseStatus.READY, actor=manager)
        raise RuntimeError("something later in the same change failed")
    assert Release.objects.get(pk=release.pk).status == ReleaseStatus.STAGING
    assert not Group.objects.filter(name__startswith="seen ").exists()
    assert len(recorder) == 1  # it was told, inside the transaction that then rolled back


def test_a_failing_handler_fails_the_change_instead_of_half_doing_it(release, manager):
    def broken(event):
        raise ValueError("handler bug")

    events.subscribe("release.moved", broken)
    try:
        with pytest.raises(ValueError):
            release_transition(release=release, to=ReleaseStatus.READY, actor=manager)
    finally:
        events.unsubscribe("release.moved", broken)
    assert Release.objects.get(pk=release.pk).status == ReleaseStatus.STAGING


def test_emit_outside_a_transaction_is_refused(release):
    with pytest.raises(RuntimeError, match="inside the transaction"):
        events.emit("release.moved", subject=release, payload={})


def test_an_unknown_event_name_is_refused():
    with pytest.raises(ValueError, match=r"release\.moveed"):
        events.subscribe("release.moveed", lambda event: None)
    with pytest.raises(ValueError), transaction.atomic():
        events.emit("release.moveed", subject=None)


def test_planning_and_shipping_emit_their_events(release, manager):
    seen = []
    for name in ("release.planned", "release.shipped"):
        events.subscribe(name, seen.append)
    try:
        planned = ReleaseFactory(project=release.project, version="3.0.0")
        Release.objects.filter(pk=release.pk).update(status="production")
        release.refresh_from_db()
        release_transition(
            release=release, to=ReleaseStatus.RELEASED, actor=None, system_reason="tag pushed"
        )
    finally:
        for name in ("release.planned", "release.shipped"):
            events.unsubscribe(name, seen.append)
    assert [(e.name, e.subject.pk) for e in seen] == [
        ("release.planned", planned.pk),
        ("release.shipped", release.pk),
    ]


def test_a_run_that_ends_raises_run_finished(manager):
    from releases.services import project_sync
    from runs.services import run_cancel

    seen = []
    events.subscribe("run.finished", seen.append)
    try:
        run = project_sync(project=ProjectFactory(), actor=manager)
        run_cancel(run=run, actor=manager)  # a queued run ends at once
    finally:
        events.unsubscribe("run.finished", seen.append)
    (event,) = seen
    assert event.payload["run"] == run.pk and event.payload["status"] == "cancelled"
