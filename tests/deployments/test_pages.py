"""The deployment pages: the board and history, an environment (lock, unlock, emergency
rollback), a deployment (cancel, abort), and deploying from the release page. Every page
and action as an allowed role, a read-only role and an outsider; constant queries."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from deployments.models import (
    Deployment,
    DeploymentKind,
    DeploymentStatus,
    EmergencyChange,
    Environment,
    FreezeWindow,
    HealthSample,
)
from deployments.services import deployment_start, environment_health_record
from liftoff.models import AuditEvent
from liftoff.roles import Role
from releases.models import ReleaseType
from releases.policy import project_created
from tests.factories import ProjectFactory, ReleaseFactory

pytestmark = pytest.mark.django_db

HEAD = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def project():
    project = ProjectFactory(slug="svc", name="Svc")
    project_created(project=project, actor=None)
    return project


@pytest.fixture
def staging(project):
    return Environment.objects.create(
        project=project, name="staging", phase="staging", order=1, deploy_commands=[["true"]]
    )


@pytest.fixture
def production(project):
    return Environment.objects.create(
        project=project, name="production", phase="production", order=2, deploy_commands=[["true"]]
    )


def _release(project, manager, version="1.0.0", status="ready", **facts):
    return ReleaseFactory(
        project=project,
        release_manager=manager,
        version=version,
        codename="Orion",
        status=status,
        head_commit=facts.pop("head_commit", HEAD),
        prepared_at=timezone.now(),
        **facts,
    )


def _deployed(environment, release, *, when=None, user=None, **fields):
    """A deployment that succeeded and was verified (what runs there now)."""
    when = when or timezone.now()
    values = {
        "environment": environment,
        "release": release,
        "status": DeploymentStatus.SUCCEEDED,
        "strategy": environment.strategy,
        "version": release.version,
        "commit": release.head_commit,
        "verified": True,
        "verified_at": when,
        "started_at": when,
        "finished_at": when,
        "requested_by": user,
    }
    values.update(fields)
    return Deployment.objects.create(**values)


def _text(response) -> str:
    return " ".join(response.content.decode().split())


# --- Access ------------------------------------------------------------------------------


def test_anonymous_is_sent_to_login_on_every_page(client, staging, manager, project):
    release = _release(project, manager)
    deployment = _deployed(staging, release)
    for url in [
        "/deployments/",
        "/deployments/svc/staging/",
        f"/deployments/{deployment.pk}/",
        f"/deployments/releases/{release.pk}/",
        "/deployments/svc/staging/rollback/",
        f"/deployments/{deployment.pk}/abort/",
    ]:
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url


def test_every_role_reads_the_pages(client_as, make_user, staging, project, manager):
    release = _release(project, manager)
    deployment = _deployed(staging, release, user=manager)
    for role in Role:
        client = client_as(make_user(role))
        for url in [
            "/deployments/",
            "/deployments/svc/staging/",
            f"/deployments/{deployment.pk}/",
            f"/deployments/releases/{release.pk}/",
        ]:
            assert client.get(url).status_code == 200, (role, url)


def test_a_stakeholder_sees_no_buttons_and_is_refused_every_action(
    client_as, stakeholder, staging, project, manager
):
    release = _release(project, manager)
    old = _deployed(staging, _release(project, manager, version="0.9.0", status="released"))
    deployment = _deployed(staging, release, when=old.finished_at + timedelta(minutes=1))
    client = client_as(stakeholder)
    page = _text(client.get("/deployments/svc/staging/"))
    assert "Emergency rollback" not in page
    assert 'action="/deployments/svc/staging/lock/"' not in page
    assert "Deploy to staging" not in _text(client.get(f"/deployments/releases/{release.pk}/"))
    refused = [
        ("post", "/deployments/svc/staging/lock/", {"reason": "maintenance"}),
        ("post", "/deployments/svc/staging/unlock/", {}),
        ("get", "/deployments/svc/staging/rollback/", {}),
        ("post", "/deployments/svc/staging/rollback/", {"confirmed": "1"}),
        ("post", f"/deployments/{deployment.pk}/cancel/", {}),
        ("get", f"/deployments/{deployment.pk}/abort/", {}),
        ("post", f"/deployments/{deployment.pk}/abort/", {"confirmed": "1"}),
        ("post", f"/deployments/releases/{release.pk}/deploy/{staging.pk}/", {}),
    ]
    for method, url, data in refused:
        assert getattr(client, method)(url, data).status_code == 403, url
    assert not Deployment.objects.filter(kind=DeploymentKind.ROLLBACK).exists()
    assert Deployment.objects.count() == 2
    staging.refresh_from_db()
    assert not staging.locked


def test_unknown_objects_are_404(client_as, manager, staging):
    client = client_as(manager)
    assert client.get("/deployments/999999/").status_code == 404
    assert client.get("/deployments/svc/nowhere/").status_code == 404
    assert client.get("/deployments/nope/staging/").status_code == 404


def test_a_release_cannot_be_deployed_to_another_projects_environment(
    client_as, manager, project, staging
):
    other = ProjectFactory(slug="other")
    elsewhere = Environment.objects.create(project=other, name="staging", phase="staging")
    release = _release(project, manager)
    client = client_as(manager)
    url = f"/deployments/releases/{release.pk}/deploy/{elsewhere.pk}/"
    assert client.post(url).status_code == 404
    assert not Deployment.objects.exists()


# --- The board and the history -----------------------------------------------------------


def test_the_board_shows_what_runs_where_with_health_lock_and_freeze(
    client_as, stakeholder, project, staging, production, manager
):
    release = _release(project, manager, status="staging")
    _deployed(staging, release, user=manager)
    now = timezone.now()
    for i, ok in enumerate([True, False, True]):
        HealthSample.objects.create(environment=staging, at=now - timedelta(minutes=3 - i), ok=ok)
    Environment.objects.filter(pk=staging.pk).update(
        health="failing", health_detail="HTTP 502 from /healthz", health_checked_at=now
    )
    Environment.objects.filter(pk=production.pk).update(
        locked_at=now, locked_reason="database migration"
    )
    FreezeWindow.objects.create(
        project=project,
        environment=production,
        reason="Black Friday",
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=1),
    )
    page = _text(client_as(stakeholder).get("/deployments/"))
    assert f'id="environment-{staging.pk}"' in page
    assert "v1.0.0" in page and "Orion" in page and HEAD[:7] in page and "manager-user" in page
    assert "Failing" in page and "HTTP 502 from /healthz" in page
    assert "Last 3 checks: ok, failing, ok" in page
    assert "database migration" in page and "Black Friday" in page
    assert "Nothing deployed yet" in page  # production


def test_the_board_shows_the_deployment_in_progress_with_its_live_progress(
    client_as, stakeholder, manager, project, staging
):
    release = _release(project, manager)
    deployment = deployment_start(release=release, environment=staging, actor=manager)
    client = client_as(stakeholder)
    page = _text(client.get("/deployments/"))
    assert f'href="/deployments/{deployment.pk}/"' in page
    # The board loads the run's live progress, which then polls itself.
    progress_url = f"/runs/{deployment.run_id}/progress/"
    assert f'id="run-{deployment.run_id}-progress"' in page
    assert f'hx-get="{progress_url}" hx-trigger="load"' in page
    fragment = _text(client.get(progress_url, {"compact": "1"}, headers={"HX-Request": "true"}))
    assert f'id="run-{deployment.run_id}-progress"' in fragment and "every 1s" in fragment


def test_the_history_filters_without_javascript(client_as, stakeholder, project, staging, manager):
    other = ProjectFactory(slug="other", name="Other")
    elsewhere = Environment.objects.create(project=other, name="production")
    ok = _deployed(staging, _release(project, manager, version="1.1.0"))
    failed = _deployed(
        elsewhere,
        _release(other, manager, version="7.7.7"),
        status=DeploymentStatus.FAILED,
        verified=False,
    )
    client = client_as(stakeholder)
    page = _text(client.get("/deployments/", {"project": "other"}))
    assert f"#{failed.pk} v7.7.7" in page and f"#{ok.pk} v1.1.0" not in page
    page = _text(client.get("/deployments/", {"status": "succeeded"}))
    assert f"#{ok.pk} v1.1.0" in page and f"#{failed.pk} v7.7.7" not in page
    page = _text(client.get("/deployments/", {"environment": "staging", "kind": "deploy"}))
    assert f"#{ok.pk} v1.1.0" in page and f"#{failed.pk} v7.7.7" not in page
    tomorrow = (timezone.now() + timedelta(days=1)).date().isoformat()
    page = _text(client.get("/deployments/", {"since": tomorrow}))
    assert "No deployments" in page


def test_bad_filter_input_re_renders_with_the_errors(client_as, stakeholder, staging):
    client = client_as(stakeholder)
    response = client.get("/deployments/", {"since": "2025-05-02", "until": "2025-05-01"})
    assert response.status_code == 200
    assert "Until comes on or after since." in _text(response)
    response = client.get("/deployments/", {"since": "not a date", "status": "bogus"})
    assert response.status_code == 200 and "Enter a valid date." in _text(response)


def _grow(environments, release, size):
    now = timezone.now()
    Deployment.objects.bulk_create(
        Deployment(
            environment=environments[i % len(environments)],
            release=release,
            status=DeploymentStatus.SUCCEEDED if i % 3 else DeploymentStatus.FAILED,
            strategy="command",
            version=release.version,
            commit=HEAD,
            verified=bool(i % 3),
            finished_at=now - timedelta(minutes=i),
        )
        for i in range(size)
    )
    HealthSample.objects.bulk_create(
        HealthSample(environment=e, at=now - timedelta(seconds=i), ok=bool(i % 2))
        for e in environments
        for i in range(size)
    )


@pytest.mark.parametrize("path", ["/deployments/", "/deployments/svc/staging/"])
def test_the_board_and_history_make_constant_queries(
    client_as,
    stakeholder,
    manager,
    project,
    staging,
    production,
    path,
    django_assert_max_num_queries,
):
    release = _release(project, manager)
    client = client_as(stakeholder)
    client.get(path)
    counts = []
    for size in (3, 300):
        _grow([staging, production], release, size)
        with django_assert_max_num_queries(16) as captured:
            assert client.get(path).status_code == 200
        counts.append(len(captured))
    assert counts[0] == counts[1]


# --- An environment ----------------------------------------------------------------------


def test_a_manager_locks_changes_the_reason_and_unlocks(client_as, manager, staging):
    client = client_as(manager)
    response = client.post("/deployments/svc/staging/lock/", {"reason": "migrating the db"})
    assert response.status_code == 302
    staging.refresh_from_db()
    assert staging.locked and staging.locked_reason == "migrating the db"
    page = _text(client.get("/deployments/svc/staging/"))
    assert "migrating the db" in page and "Change the reason" in page and "Unlock" in page
    client.post("/deployments/svc/staging/lock/", {"reason": "still migrating"})
    staging.refresh_from_db()
    assert staging.locked_reason == "still migrating"
    assert client.post("/deployments/svc/staging/unlock/").status_code == 302
    staging.refresh_from_db()
    assert not staging.locked
    actions = list(AuditEvent.objects.values_list("action", flat=True).order_by("seq"))
    assert actions[-3:] == ["environment.locked", "environment.locked", "environment.unlocked"]


def test_a_lock_without_a_reason_re_renders_with_the_error(client_as, manager, staging):
    response = client_as(manager).post("/deployments/svc/staging/lock/", {"reason": "  "})
    assert response.status_code == 400
    assert "This field is required." in _text(response)
    staging.refresh_from_db()
    assert not staging.locked


def test_unlocking_what_is_not_locked_says_so(client_as, manager, staging):
    response = client_as(manager).post("/deployments/svc/staging/unlock/", follow=True)
    assert "staging is not locked." in _text(response)


def test_the_environment_page_lists_freezes_and_health(
    client_as, stakeholder, project, staging, manager
):
    now = timezone.now()
    FreezeWindow.objects.create(
        project=project,
        kind="weekly",
        reason="Weekend",
        weekdays=[5, 6],
        start_time="00:00",
        end_time="23:59",
    )
    FreezeWindow.objects.create(
        project=project,
        environment=staging,
        reason="Audit",
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=1),
    )
    HealthSample.objects.create(environment=staging, at=now, ok=True)
    page = _text(client_as(stakeholder).get("/deployments/svc/staging/"))
    assert f'id="environment-{staging.pk}"' in page
    assert "every Sat, Sun, 00:00–23:59 (UTC)" in page and "Weekend" in page
    assert "In force Audit" in page.replace("</span> <strong>", " ").replace("<strong>", "")
    assert "Last 1 checks: ok" in page


def test_emergency_rollback_asks_first_naming_the_target_then_rolls_back(
    client_as, manager, project, staging
):
    old = _release(project, manager, version="1.0.0", status="released")
    new = _release(project, manager, version="1.1.0", status="staging")
    first = _deployed(staging, old, when=timezone.now() - timedelta(hours=1))
    current = _deployed(staging, new)
    client = client_as(manager)
    page = _text(client.get("/deployments/svc/staging/"))
    assert "Emergency rollback to v1.0.0" in page
    ask = _text(client.get("/deployments/svc/staging/rollback/"))
    assert "Roll staging back to v1.0.0?" in ask and "v1.1.0 runs there now" in ask
    assert not Deployment.objects.filter(kind=DeploymentKind.ROLLBACK).exists()
    # Without the confirmation a POST only asks again.
    client.post("/deployments/svc/staging/rollback/")
    assert not Deployment.objects.filter(kind=DeploymentKind.ROLLBACK).exists()
    response = client.post("/deployments/svc/staging/rollback/", {"confirmed": "1"})
    rollback = Deployment.objects.get(kind=DeploymentKind.ROLLBACK)
    assert response["Location"] == f"/deployments/{rollback.pk}/"
    assert rollback.release == old and rollback.rollback_of == current and first.pk
    page = _text(client.get(f"/deployments/{current.pk}/"))
    assert "Rolled back by" in page and f'href="/deployments/{rollback.pk}/">#{rollback.pk}' in page


def test_emergency_rollback_with_nothing_to_go_back_to_says_so(
    client_as, manager, project, staging
):
    _deployed(staging, _release(project, manager))
    client = client_as(manager)
    assert "No earlier verified version" in _text(client.get("/deployments/svc/staging/"))
    assert "Nothing to roll back to" in _text(client.get("/deployments/svc/staging/rollback/"))
    response = client.post("/deployments/svc/staging/rollback/", {"confirmed": "1"}, follow=True)
    assert "no earlier verified version to roll back to" in _text(response)
    assert not Deployment.objects.filter(kind=DeploymentKind.ROLLBACK).exists()


# --- A deployment ------------------------------------------------------------------------


def test_the_deployment_page_polls_its_run_and_an_unchanged_poll_is_cheap(
    client_as, stakeholder, manager, project, staging, django_assert_max_num_queries
):
    """The deployment page's progress fragment is its run's: polled with the version the
    page carries, nothing changed gets 204 from the session, the user with their roles
    (liftoff.auth: one query) and the version: the issue's aim of 3."""
    release = _release(project, manager)
    deployment = deployment_start(release=release, environment=staging, actor=manager)
    client = client_as(stakeholder)
    page = _text(client.get(f"/deployments/{deployment.pk}/"))
    found = re.search(r"""hx-vals='\{"v": "([0-9a-f]+)"\}'""", page)
    assert found, "the deployment page's progress carries no version"
    with django_assert_max_num_queries(3):
        response = client.get(
            f"/runs/{deployment.run_id}/progress/",
            {"v": found.group(1)},
            headers={"HX-Request": "true"},
        )
    assert response.status_code == 204 and response.content == b""


def test_the_deployment_page_shows_its_facts_and_live_progress(
    client_as, stakeholder, manager, project, staging
):
    old = _release(project, manager, version="0.9.0", status="released")
    before = _deployed(staging, old, when=timezone.now() - timedelta(hours=1))
    release = _release(project, manager)
    deployment = deployment_start(release=release, environment=staging, actor=manager)
    page = _text(client_as(stakeholder).get(f"/deployments/{deployment.pk}/"))
    assert "v1.0.0 to staging" in page and "Queued" in page and "A person: manager-user" in page
    assert f'href="/deployments/{before.pk}/">v0.9.0' in page
    assert f'id="run-{deployment.run_id}-progress"' in page and "every 1s" in page
    assert "Abort and roll back" not in page  # a stakeholder


def test_a_manager_cancels_a_scheduled_deployment(client_as, manager, project, staging):
    release = _release(project, manager)
    at = timezone.now() + timedelta(hours=2)
    deployment = deployment_start(release=release, environment=staging, actor=manager, at=at)
    client = client_as(manager)
    page = _text(client.get(f"/deployments/{deployment.pk}/"))
    assert "Scheduled: starts at" in page and "Cancel the scheduled deployment" in page
    assert "Abort and roll back" not in page
    response = client.post(f"/deployments/{deployment.pk}/cancel/", follow=True)
    deployment.refresh_from_db()
    assert deployment.status == DeploymentStatus.CANCELLED
    assert "Cancelling the deployment of v1.0.0" in _text(response)
    again = client.post(f"/deployments/{deployment.pk}/cancel/", follow=True)
    assert "already cancelled" in _text(again)


def test_abort_asks_first_then_requests_the_abort(client_as, manager, project, staging):
    release = _release(project, manager)
    deployment = deployment_start(release=release, environment=staging, actor=manager)
    client = client_as(manager)
    assert "Abort and roll back…" in _text(client.get(f"/deployments/{deployment.pk}/"))
    ask = _text(client.get(f"/deployments/{deployment.pk}/abort/"))
    assert "Abort v1.0.0 on staging and roll back?" in ask
    client.post(f"/deployments/{deployment.pk}/abort/")  # not confirmed: nothing
    deployment.refresh_from_db()
    assert deployment.abort_requested_at is None
    client.post(f"/deployments/{deployment.pk}/abort/", {"confirmed": "1"})
    deployment.refresh_from_db()
    assert deployment.abort_requested_at is not None
    assert "Abort requested" in _text(client.get(f"/deployments/{deployment.pk}/"))


def test_aborting_a_finished_deployment_is_refused_with_a_message(
    client_as, manager, project, staging
):
    deployment = _deployed(staging, _release(project, manager))
    response = client_as(manager).post(
        f"/deployments/{deployment.pk}/abort/", {"confirmed": "1"}, follow=True
    )
    assert "Only a queued or running deployment is aborted." in _text(response)


def test_the_emergency_change_shows_on_its_deployment(
    client_as, stakeholder, manager, approver, project, staging
):
    _release(project, manager, version="0.9.0", status="released")
    deployment = _deployed(
        staging, _release(project, manager, version="0.9.1", type=ReleaseType.HOTFIX)
    )
    EmergencyChange.objects.create(
        deployment=deployment,
        reason="customers cannot log in",
        approved_by=approver,
        review_due=timezone.now() + timedelta(hours=48),
    )
    page = _text(client_as(stakeholder).get(f"/deployments/{deployment.pk}/"))
    assert "Emergency change" in page and "customers cannot log in" in page
    assert "Not reviewed yet" in page


# --- Deploying from the release page -----------------------------------------------------


def test_the_release_page_offers_deploy_to_staging_as_its_next_step(
    client_as, manager, project, staging, production
):
    release = _release(project, manager)
    page = _text(client_as(manager).get(f"/releases/{release.pk}/"))
    deploy = f'action="/deployments/releases/{release.pk}/deploy/{staging.pk}/"'
    assert deploy in page and 'class="button primary">Deploy to staging' in page
    assert f'id="environment-{production.pk}"' in page
    # Production waits for staging: its button is disabled with the reason.
    assert "has no verified deployment to staging yet" in page


def test_a_manager_deploys_from_the_release_page(client_as, manager, project, staging):
    release = _release(project, manager)
    response = client_as(manager).post(f"/deployments/releases/{release.pk}/deploy/{staging.pk}/")
    deployment = Deployment.objects.get()
    assert response["Location"] == f"/deployments/{deployment.pk}/"
    assert deployment.status == DeploymentStatus.QUEUED and deployment.requested_by == manager


def test_a_scheduled_deploy_from_the_release_page(client_as, manager, project, staging):
    release = _release(project, manager)
    at = (timezone.localtime() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    client_as(manager).post(f"/deployments/releases/{release.pk}/deploy/{staging.pk}/", {"at": at})
    deployment = Deployment.objects.get()
    assert deployment.status == DeploymentStatus.SCHEDULED and deployment.scheduled_for


def test_a_blocked_deploy_re_renders_with_what_is_missing(client_as, manager, project, staging):
    Environment.objects.filter(pk=staging.pk).update(
        locked_at=timezone.now(), locked_reason="db migration"
    )
    release = _release(project, manager)
    client = client_as(manager)
    page = _text(client.get(f"/deployments/releases/{release.pk}/"))
    assert "staging is locked: db migration." in page and "disabled" in page
    response = client.post(f"/deployments/releases/{release.pk}/deploy/{staging.pk}/")
    assert response.status_code == 400
    assert "cannot be deployed to staging yet" in _text(response)
    assert "staging is locked: db migration." in _text(response)
    assert not Deployment.objects.exists()


def test_bad_deploy_input_re_renders(client_as, manager, project, staging):
    release = _release(project, manager)
    response = client_as(manager).post(
        f"/deployments/releases/{release.pk}/deploy/{staging.pk}/", {"at": "tomorrow-ish"}
    )
    assert response.status_code == 400 and "Enter a valid date/time." in _text(response)
    assert not Deployment.objects.exists()


def test_the_override_reason_shows_only_to_an_approver_for_a_frozen_hotfix(
    client_as, make_user, manager, project, staging
):
    now = timezone.now()
    FreezeWindow.objects.create(
        project=project,
        reason="Release freeze",
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=1),
    )
    _release(project, manager, version="1.0.0", status="released")
    hotfix = _release(project, manager, version="1.0.1", type=ReleaseType.HOTFIX)
    minor = _release(project, manager, version="1.1.0")
    both = make_user(Role.RELEASE_MANAGER)
    both.groups.add(*make_user(Role.APPROVER).groups.all())
    field = "override_reason"
    assert field not in _text(client_as(manager).get(f"/deployments/releases/{hotfix.pk}/"))
    client = client_as(both)
    assert field not in _text(client.get(f"/deployments/releases/{minor.pk}/"))
    assert field in _text(client.get(f"/deployments/releases/{hotfix.pk}/"))
    response = client.post(
        f"/deployments/releases/{hotfix.pk}/deploy/{staging.pk}/",
        {"override_reason": "login is broken for everyone"},
    )
    deployment = Deployment.objects.get()
    assert response.status_code == 302
    assert EmergencyChange.objects.get().deployment == deployment


def test_the_release_page_of_a_project_without_environments_says_so(client_as, manager, project):
    release = _release(project, manager)
    page = _text(client_as(manager).get(f"/releases/{release.pk}/"))
    assert "This project has no environments" in page and "Deploy to" not in page


def test_the_release_page_with_environments_makes_constant_queries(
    client_as, manager, project, staging, production, django_assert_max_num_queries
):
    """Every environment's blockers share one read of the environments, the freezes and
    the verified deployments (inside the page's policy snapshot). Each size changes rows
    the page reads, so this is the page rendered anew, after its digest (liftoff.kept)."""
    release = _release(project, manager)
    client = client_as(manager)
    client.get(f"/releases/{release.pk}/")
    counts = []
    for size in (3, 300):
        _grow([staging, production], release, size)
        # 24, then one for the incidents' blocker (critical incidents on production, read
        # once for the page) and one for the layout's critical-incident banner.
        with django_assert_max_num_queries(26) as captured:
            assert client.get(f"/releases/{release.pk}/").status_code == 200
        counts.append(len(captured))
    assert counts[0] == counts[1]


def test_the_dashboard_shows_each_environments_health_and_version(
    client_as, stakeholder, manager, project, staging, production, django_assert_max_num_queries
):
    release = _release(project, manager)
    _grow([staging], release, 3)
    environment_health_record(
        environment=staging, ok=False, detail="503 on /health", milliseconds=4
    )
    client = client_as(stakeholder)
    client.get("/")
    counts = []
    for size in (3, 300):
        _grow([staging, production], release, size)
        with django_assert_max_num_queries(20) as captured:
            page = client.get("/").content.decode()
        counts.append(len(captured))
    assert counts[0] == counts[1]
    assert "Svc · staging" in page or "staging</a>" in page
    assert "503 on /health" in page and "Failing" in page


def test_an_approver_deploys_a_frozen_hotfix_with_the_override_and_nothing_else(
    client_as, approver, manager, project, staging
):
    now = timezone.now()
    FreezeWindow.objects.create(
        project=project,
        reason="Release freeze",
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=1),
    )
    _release(project, manager, version="1.0.0", status="released")
    hotfix = _release(project, manager, version="1.0.1", type=ReleaseType.HOTFIX)
    client = client_as(approver)
    assert "override_reason" in _text(client.get(f"/deployments/releases/{hotfix.pk}/"))
    url = f"/deployments/releases/{hotfix.pk}/deploy/{staging.pk}/"
    # Without the override an approver may not deploy: refused, nothing made.
    assert client.post(url, {}).status_code == 400
    assert not Deployment.objects.exists()
    response = client.post(url, {"override_reason": "login is broken for everyone"})
    assert response.status_code == 302
    assert EmergencyChange.objects.get().approved_by == approver
