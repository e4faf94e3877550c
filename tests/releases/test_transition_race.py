"""Two people moving one release from the same phase at once: one move wins, the other is
told (a Conflict) and changes nothing. The conditional UPDATE in release_transition
(`filter(pk=…, status=current)`) is what decides; both tests fail without it."""

import threading

import pytest
from django.db import connections

from liftoff.errors import Conflict
from liftoff.models import AuditEvent
from releases.models import Release, ReleaseStatus
from releases.services import release_create, release_transition
from tests.factories import ProjectFactory


def _ready_release(manager) -> Release:
    release = release_create(
        actor=manager, project=ProjectFactory(), release_type="minor", version="1.0.0"
    )
    # The phases before ready are tested elsewhere; ready → staging and ready → cancelled
    # have no blockers, so only the race decides here.
    Release.objects.filter(pk=release.pk).update(status=ReleaseStatus.READY)
    return release


def _moves(release) -> int:
    return AuditEvent.objects.filter(action="release.transition", object_id=str(release.pk)).count()


@pytest.mark.django_db
def test_a_move_made_from_a_stale_copy_is_refused_and_changes_nothing(manager, approver):
    release = _ready_release(manager)
    # Two pages opened while the release was ready.
    mine = Release.objects.get(pk=release.pk)
    theirs = Release.objects.get(pk=release.pk)

    release_transition(release=mine, to=ReleaseStatus.STAGING, actor=manager)
    with pytest.raises(Conflict, match="Someone else moved this release"):
        release_transition(release=theirs, to=ReleaseStatus.CANCELLED, actor=approver)

    release.refresh_from_db()
    assert release.status == ReleaseStatus.STAGING
    assert _moves(release) == 1


@pytest.mark.django_db(transaction=True)
def test_two_moves_at_the_same_moment_one_wins_the_other_is_told(manager, approver):
    release = _ready_release(manager)
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def move(to, actor):
        try:
            # Both read the release as ready before either writes: the barrier lets them
            # go at once, like two people pressing the button together.
            copy = Release.objects.get(pk=release.pk)
            barrier.wait(timeout=10)
            release_transition(release=copy, to=to, actor=actor)
            outcomes[to] = "moved"
        except Conflict as exc:
            outcomes[to] = f"told: {exc.message}"
        except Exception as exc:  # reported by the assertion below, not lost in the thread
            outcomes[to] = f"error: {exc!r}"
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=move, args=(ReleaseStatus.STAGING, manager)),
        threading.Thread(target=move, args=(ReleaseStatus.CANCELLED, approver)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    winners = [to for to, outcome in outcomes.items() if outcome == "moved"]
    told = [o for o in outcomes.values() if o.startswith("told: Someone else moved")]
    assert len(winners) == 1 and len(told) == 1, outcomes
    release.refresh_from_db()
    assert release.status == winners[0]
    assert _moves(release) == 1
