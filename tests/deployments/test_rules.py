"""The rules a deployment meets before it starts, without a worker: freeze windows (one-off,
weekly, cron, at the time a deployment will start), the override for a hotfix and its
review, the lock, the release's phase and promotion order, and the release policy."""

from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine
from django.utils import timezone

from deployments.freezes import freeze_in_force
from deployments.models import (
    Deployment,
    DeploymentStatus,
    EmergencyChange,
    Environment,
    FreezeWindow,
)
from deployments.selectors import (
    emergency_changes_unreviewed,
    environment_current,
    rollback_target,
)
from deployments.services import (
    deployment_cancel,
    deployment_start,
    deployments_start_due,
    emergency_change_review,
    environment_create,
    environment_lock,
    freeze_window_create,
)
from liftoff.errors import Conflict, NotAllowed, ValidationFailed
from releases.models import ReleaseStatus
from releases.policy import release_blockers
from releases.services import release_ship, release_transition
from runs.services import run_retry
from tests.factories import ProjectFactory, ReleaseFactory, UserFactory

pytestmark = pytest.mark.django_db

HEAD = "a" * 40


@pytest.fixture
def project():
    return ProjectFactory(slug="shop")


def _environment(project, name="staging", order=1, phase="staging", **extra):
    return Environment.objects.create(
        project=project,
        name=name,
        order=order,
        phase=phase,
        strategy="command",
        deploy_commands=[["true"]],
        **extra,
    )


def _release(project, manager, version="1.0.0", status="ready", **facts):
    return ReleaseFactory(
        project=project,
        version=version,
        release_manager=manager,
        status=status,
        head_commit=HEAD,
        prepared_at=timezone.now(),
        tag=f"v{version}",
        **facts,
    )


def test_a_one_off_freeze_holds_from_its_start_to_its_end(project):
    start = datetime(2026, 12, 24, 0, 0, tzinfo=UTC)
    window = FreezeWindow(
        project=project, kind="one_off", starts_at=start, ends_at=start + timedelta(days=2)
    )
    assert not freeze_in_force(window, start - timedelta(seconds=1))
    assert freeze_in_force(window, start)
    assert freeze_in_force(window, start + timedelta(days=1, hours=23))
    assert not freeze_in_force(window, start + timedelta(days=2))


def test_a_weekly_freeze_is_read_in_its_time_zone_and_may_cross_midnight(project):
    # Fridays 18:00 to 06:00 in Berlin (UTC+1 in December).
    window = FreezeWindow(
        project=project,
        kind="weekly",
        weekdays=[4],
        start_time=time(18, 0),
        end_time=time(6, 0),
        time_zone="Europe/Berlin",
    )
    friday = datetime(2026, 12, 4, tzinfo=UTC)  # a Friday
    assert not freeze_in_force(window, friday.replace(hour=16, minute=59))  # 17:59 Berlin
    assert freeze_in_force(window, friday.replace(hour=17))  # 18:00 Berlin
    assert freeze_in_force(window, friday + timedelta(hours=28))  # Saturday 05:00 Berlin
    assert not freeze_in_force(window, friday + timedelta(hours=29))  # Saturday 06:00
    assert not freeze_in_force(window, friday - timedelta(hours=5))  # Thursday 20:00


def test_a_cron_freeze_holds_for_its_duration_after_each_time_it_fires(project):
    # Every day at 23:00 UTC for 90 minutes (a nightly batch).
    window = FreezeWindow(
        project=project, kind="cron", cron="0 23 * * *", duration_minutes=90, time_zone="UTC"
    )
    night = datetime(2026, 12, 1, 23, 0, tzinfo=UTC)
    assert freeze_in_force(window, night)
    assert freeze_in_force(window, night + timedelta(minutes=89))
    assert not freeze_in_force(window, night + timedelta(minutes=90))
    assert not freeze_in_force(window, night - timedelta(minutes=1))


def test_bad_freeze_windows_are_refused_with_the_field_to_fix(project, admin_user):
    with pytest.raises(ValidationFailed) as bad:
        freeze_window_create(
            project=project, actor=admin_user, kind="cron", cron="every day", reason="Nightly batch"
        )
    assert "cron" in bad.value.errors
    with pytest.raises(ValidationFailed) as bad:
        freeze_window_create(
            project=project,
            actor=admin_user,
            kind="weekly",
            weekdays=[],
            start_time=time(9),
            end_time=time(17),
            reason="x",
            time_zone="Mars/Olympus",
        )
    assert {"weekdays", "time_zone"} <= set(bad.value.errors)
    now = timezone.now()
    with pytest.raises(ValidationFailed) as bad:
        freeze_window_create(
            project=project,
            actor=admin_user,
            kind="one_off",
            starts_at=now,
            ends_at=now - timedelta(hours=1),
            reason="Backwards",
        )
    assert "ends_at" in bad.value.errors
    assert FreezeWindow.objects.count() == 0


def test_a_deployment_inside_a_freeze_is_refused_and_one_outside_it_is_not(
    project, manager, admin_user
):
    staging = _environment(project)
    release = _release(project, manager)
    now = timezone.now()
    freeze_window_create(
        project=project,
        actor=admin_user,
        kind="one_off",
        starts_at=now,
        ends_at=now + timedelta(hours=2),
        reason="Black Friday",
    )
    with pytest.raises(Conflict) as refused:
        deployment_start(release=release, environment=staging, actor=manager)
    assert any("frozen now: Black Friday" in m for m in refused.value.extra["missing"])
    # After the freeze: scheduled for then, accepted.
    at = now + timedelta(hours=3)
    scheduled = deployment_start(release=release, environment=staging, actor=manager, at=at)
    assert scheduled.status == DeploymentStatus.SCHEDULED and scheduled.run is None


def test_a_scheduled_deployment_is_checked_against_a_freeze_at_its_time_and_again_at_start(
    project, manager, admin_user
):
    staging = _environment(project)
    release = _release(project, manager)
    now = timezone.now()
    freeze_window_create(
        project=project,
        actor=admin_user,
        kind="one_off",
        starts_at=now + timedelta(days=1),
        ends_at=now + timedelta(days=2),
        reason="Release weekend",
    )
    # Inside the future freeze: refused when scheduled.
    with pytest.raises(Conflict) as refused:
        deployment_start(
            release=release, environment=staging, actor=manager, at=now + timedelta(days=1, hours=1)
        )
    assert any("frozen then" in m for m in refused.value.extra["missing"])
    # Before it: accepted; a freeze added later covers its time: checked again at start.
    at = now + timedelta(hours=6)
    scheduled = deployment_start(release=release, environment=staging, actor=manager, at=at)
    freeze_window_create(
        project=project,
        actor=admin_user,
        kind="one_off",
        starts_at=now + timedelta(hours=5),
        ends_at=now + timedelta(hours=8),
        reason="Incident review",
    )
    with time_machine.travel(at + timedelta(seconds=1), tick=False):
        assert deployments_start_due() == []
    scheduled.refresh_from_db()
    assert scheduled.status == DeploymentStatus.FAILED
    assert "Incident review" in scheduled.error and scheduled.run is None


def test_a_scheduled_deployment_starts_at_its_time_once(project, manager):
    staging = _environment(project)
    release = _release(project, manager)
    at = timezone.now() + timedelta(hours=1)
    scheduled = deployment_start(release=release, environment=staging, actor=manager, at=at)
    assert deployments_start_due() == [], "not before its time"
    with time_machine.travel(at + timedelta(seconds=1), tick=False):
        assert deployments_start_due() == [scheduled.pk]
        assert deployments_start_due() == [], "and only once"
    scheduled.refresh_from_db()
    assert scheduled.status == DeploymentStatus.QUEUED and scheduled.run is not None


def test_a_cancelled_scheduled_deployment_never_starts(project, manager):
    staging = _environment(project)
    at = timezone.now() + timedelta(minutes=30)
    scheduled = deployment_start(
        release=_release(project, manager), environment=staging, actor=manager, at=at
    )
    deployment_cancel(deployment=scheduled, actor=manager)
    with time_machine.travel(at + timedelta(minutes=1), tick=False):
        assert deployments_start_due() == []
    assert Deployment.objects.get(pk=scheduled.pk).status == DeploymentStatus.CANCELLED


def test_only_a_hotfix_overridden_by_an_approver_with_a_reason_deploys_in_a_freeze(
    project, manager, approver, admin_user
):
    staging = _environment(project)
    now = timezone.now()
    freeze_window_create(
        project=project,
        actor=admin_user,
        kind="one_off",
        starts_at=now,
        ends_at=now + timedelta(hours=2),
        reason="Holiday freeze",
    )
    _release(project, manager, version="1.0.0", status="released")
    minor = _release(project, manager, version="1.1.0")
    hotfix = _release(project, manager, version="1.0.1", type="hotfix")
    reason = "Payments fail for every customer since 10:02."
    with pytest.raises(NotAllowed):  # not a hotfix
        deployment_start(release=minor, environment=staging, actor=approver, override_reason=reason)
    with pytest.raises(NotAllowed):  # a release manager is no approver
        deployment_start(release=hotfix, environment=staging, actor=manager, override_reason=reason)
    with pytest.raises(ValidationFailed):  # no real reason
        deployment_start(
            release=hotfix, environment=staging, actor=approver, override_reason="urgent"
        )
    assert Deployment.objects.count() == 0

    deployment = deployment_start(
        release=hotfix, environment=staging, actor=approver, override_reason=reason
    )
    change = EmergencyChange.objects.get(deployment=deployment)
    assert change.approved_by == approver and change.reason == reason
    assert abs(change.review_due - change.created_at - timedelta(hours=48)) < timedelta(minutes=1)
    assert list(emergency_changes_unreviewed()) == [change]

    # The approver who overrode does not review it; a second approver does.
    with pytest.raises(NotAllowed):
        emergency_change_review(change=change, actor=approver, note="fine")
    second = UserFactory(username="approver2", role="approver")
    emergency_change_review(change=change, actor=second, note="Checked the payment logs.")
    assert list(emergency_changes_unreviewed()) == []


def test_a_locked_environment_refuses_deployments(project, manager):
    staging = _environment(project)
    environment_lock(environment=staging, actor=manager, reason="Database migration running")
    with pytest.raises(Conflict) as refused:
        deployment_start(release=_release(project, manager), environment=staging, actor=manager)
    assert any("Database migration running" in m for m in refused.value.extra["missing"])
    with pytest.raises(ValidationFailed):
        environment_lock(environment=staging, actor=manager, reason="  ")


def test_only_release_managers_deploy(project, approver, stakeholder, manager):
    staging = _environment(project)
    release = _release(project, manager)
    for outsider in (approver, stakeholder):
        with pytest.raises(NotAllowed):
            deployment_start(release=release, environment=staging, actor=outsider)
    assert Deployment.objects.count() == 0


def test_staging_takes_a_release_once_it_is_ready(project, manager):
    staging = _environment(project)
    release = _release(project, manager, status="validating")
    with pytest.raises(Conflict) as refused:
        deployment_start(release=release, environment=staging, actor=manager)
    assert any("once it is ready" in m for m in refused.value.extra["missing"])


def test_a_second_deployment_to_a_busy_environment_is_refused(project, manager):
    staging = _environment(project)
    first = deployment_start(release=_release(project, manager), environment=staging, actor=manager)
    with pytest.raises(Conflict) as refused:
        deployment_start(
            release=_release(project, manager, version="1.1.0"), environment=staging, actor=manager
        )
    assert f"#{first.pk}" in refused.value.message
    assert refused.value.extra["deployment_id"] == first.pk


def test_the_release_follows_its_deployments_where_the_project_has_environments(project, manager):
    _environment(project)
    _environment(project, name="production", order=2, phase="production")
    release = _release(project, manager)
    # No manual move to staging: a verified deployment there moves it.
    missing = release_blockers(release=release, to=ReleaseStatus.STAGING)
    assert any("to staging yet" in m for m in missing)
    with pytest.raises(Conflict):
        release_transition(release=release, to=ReleaseStatus.STAGING, actor=manager)
    # A project without environments keeps its manual moves.
    other = _release(ProjectFactory(slug="plain"), manager)
    assert release_blockers(release=other, to=ReleaseStatus.STAGING) == []


def test_a_time_in_the_past_is_refused_not_taken_for_now(project, manager):
    staging = _environment(project)
    with pytest.raises(ValidationFailed) as refused:
        deployment_start(
            release=_release(project, manager),
            environment=staging,
            actor=manager,
            at=timezone.now() - timedelta(hours=1),
        )
    assert "at" in refused.value.errors
    assert Deployment.objects.count() == 0


def test_an_environment_may_not_take_the_name_of_a_project_page(project, admin_user):
    with pytest.raises(ValidationFailed) as refused:
        environment_create(
            project=project,
            actor=admin_user,
            name="freezes",
            strategy="command",
            deploy_commands=[["true"]],
        )
    assert "name" in refused.value.errors
    assert not Environment.objects.filter(name="freezes").exists()


def test_a_deployments_run_is_not_retried_as_a_run_but_deployed_again(project, manager, client_as):
    staging = _environment(project)
    release = _release(project, manager)
    deployment = deployment_start(release=release, environment=staging, actor=manager)
    deployment_cancel(deployment=deployment, actor=manager)
    deployment.refresh_from_db()
    assert deployment.status == DeploymentStatus.CANCELLED
    with pytest.raises(Conflict, match="deploy the release again"):
        run_retry(run=deployment.run, actor=manager)
    page = client_as(manager).get(f"/runs/{deployment.run_id}/").content.decode()
    assert ">Retry<" not in page
    # Deploying again is a new deployment.
    again = deployment_start(release=release, environment=staging, actor=manager)
    assert again.pk != deployment.pk and again.status == DeploymentStatus.QUEUED


def test_the_rollback_target_skips_unverified_and_rolled_back_releases(project, manager):
    staging = _environment(project)
    now = timezone.now()

    def deployed(version, status, verified, minutes_ago):
        release = _release(project, manager, version=version, status=status)
        return Deployment.objects.create(
            environment=staging,
            release=release,
            status="succeeded" if verified else "failed",
            strategy="command",
            version=version,
            commit=HEAD,
            verified=verified,
            finished_at=now - timedelta(minutes=minutes_ago),
        )

    stable = deployed("1.0.0", "released", True, 50)
    deployed("1.1.0", "rolled_back", True, 40)  # verified once, then rolled back
    deployed("1.2.0", "ready", False, 30)  # never verified
    current = deployed("1.3.0", "production", True, 20)
    assert environment_current(environment=staging) == current
    assert rollback_target(environment=staging, current=current) == stable


def test_ship_is_refused_where_a_production_environment_has_not_verified_the_release(
    project, manager
):
    _environment(project, name="production", order=1, phase="production")
    release = _release(project, manager, status="production")
    with pytest.raises(Conflict) as refused:
        release_ship(release=release, actor=manager)
    assert any("to production yet" in m for m in refused.value.extra["missing"])
    # A project without environments ships as before.
    plain = _release(ProjectFactory(slug="plain"), manager, status="production")
    assert release_ship(release=plain, actor=manager).kind == "release.ship"


@pytest.mark.parametrize(
    "window",
    [
        {
            "kind": "one_off",
            "starts_at": datetime(2026, 12, 2, 9, tzinfo=UTC),
            "ends_at": datetime(2026, 12, 3, 17, 30, tzinfo=UTC),
        },
        {
            "kind": "weekly",
            "weekdays": [4],
            "start_time": time(18),
            "end_time": time(6),
            "time_zone": "Europe/Berlin",
        },
        {
            "kind": "weekly",
            "weekdays": [0, 2],
            "start_time": time(9, 15),
            "end_time": time(17, 45),
            "time_zone": "America/New_York",
        },
        {"kind": "cron", "cron": "0 */6 * * *", "duration_minutes": 90, "time_zone": "UTC"},
        {"kind": "cron", "cron": "30 22 * * 5", "duration_minutes": 600, "time_zone": "Asia/Tokyo"},
    ],
    ids=["one-off", "weekly-overnight", "weekly-day", "cron-6h", "cron-weekly-long"],
)
def test_a_freeze_holds_or_not_until_the_moment_it_says_it_changes(project, window):
    """What a kept page relies on (liftoff.kept): between a moment and the change
    freeze_changes_at names, freeze_in_force says the same; right after a real change it
    says the other thing."""
    from deployments.freezes import freeze_changes_at

    w = FreezeWindow(project=project, reason="r", **window)
    at = datetime(2026, 11, 30, 0, 7, tzinfo=UTC)
    changes = 0
    while at < datetime(2026, 12, 8, tzinfo=UTC):
        state = freeze_in_force(w, at)
        change = freeze_changes_at(w, at)
        if change is None:
            assert freeze_in_force(w, at + timedelta(days=30)) == state
            break
        assert change > at
        assert freeze_in_force(w, change - timedelta(seconds=1)) == state
        if freeze_in_force(w, change) != state:
            changes += 1
        at = change
    assert changes >= 2
