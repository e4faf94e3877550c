"""metrics' two writes: the rules hold in the services themselves (the page, a script or
a later API all meet them), and the database keeps one rating per person."""

import pytest
from django.db import IntegrityError
from django.utils import timezone

from liftoff.errors import NotAllowed, ValidationFailed
from metrics.models import MetricSettings, Rating
from metrics.services import metric_settings_update, release_rate
from releases.models import Release

pytestmark = pytest.mark.django_db


@pytest.fixture
def shipped(release):
    Release.objects.filter(pk=release.pk).update(status="released", released_at=timezone.now())
    release.refresh_from_db()
    return release


def test_only_an_admin_changes_targets(project, manager, admin_user):
    with pytest.raises(NotAllowed):
        metric_settings_update(project=project, actor=manager, success_rate_target=1.0)
    assert not MetricSettings.objects.exists()
    metric_settings_update(project=project, actor=admin_user, success_rate_target=95.0)
    assert MetricSettings.objects.get().success_rate_target == 95.0


def test_only_a_stakeholder_rates(shipped, manager):
    with pytest.raises(NotAllowed):
        release_rate(release=shipped, actor=manager, score=5)
    assert not Rating.objects.exists()


@pytest.mark.parametrize("score", [0, 6])
def test_a_rating_is_one_to_five(shipped, stakeholder, score):
    with pytest.raises(ValidationFailed):
        release_rate(release=shipped, actor=stakeholder, score=score)
    assert not Rating.objects.exists()


def test_a_release_not_shipped_is_refused(release, stakeholder):
    with pytest.raises(ValidationFailed):
        release_rate(release=release, actor=stakeholder, score=5)
    assert not Rating.objects.exists()


def test_the_database_keeps_one_rating_per_person(shipped, stakeholder):
    release_rate(release=shipped, actor=stakeholder, score=3)
    with pytest.raises(IntegrityError):
        Rating.objects.create(release=shipped, user=stakeholder, score=4)
