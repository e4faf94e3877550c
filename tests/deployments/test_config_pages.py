"""The configuration pages of deployments: a project's environments, their health checks
and secret variables, its freeze windows.

Admins only (a release manager or stakeholder gets 403, an anonymous visitor the login
page); bad input is said beside its field with everything typed kept; a webhook's
signing secret is shown once, a secret variable's value never.
"""

import re

import pytest
from django.utils import timezone

from deployments.models import Environment, FreezeWindow, HealthCheck, SecretVariable
from deployments.services import environment_create, freeze_window_create, secret_variable_set
from liftoff.models import AuditEvent
from releases.services import project_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(admin_user):
    return project_create(
        actor=admin_user,
        slug="svc",
        name="Svc",
        repo_url="https://git.example.test/team/svc.git",
        codename_pool=["Digital Oracle", "Quantum Sage", "Stellar Wisp"],
    )


@pytest.fixture
def staging(project, admin_user):
    environment, _ = environment_create(
        project=project,
        actor=admin_user,
        name="staging",
        phase="staging",
        strategy="command",
        deploy_commands=[["./deploy.sh", "--env", "staging"]],
    )
    return environment


def _env_post(**overrides):
    data = {
        "name": "production",
        "order": "1",
        "phase": "production",
        "url": "https://svc.example.test",
        "strategy": "command",
        "deploy_commands": "./deploy.sh --env 'prod eu'\n\nmake restart",
        "rollback_commands": "",
        "webhook_url": "",
        "blue_url": "",
        "green_url": "",
        "switch_commands": "",
        "command_timeout_seconds": "300",
        "verify_seconds": "30",
        "verify_interval_seconds": "5",
        "auto_rollback": "on",
        "lock_after_rollback": "",
    }
    return {**data, **overrides}


def _pages(project, environment, window):
    base = f"/deployments/{project.slug}"
    return [
        f"{base}/environments/new/",
        f"{base}/{environment.name}/edit/",
        f"{base}/{environment.name}/edit/health-checks/",
        f"{base}/{environment.name}/edit/secrets/",
        f"{base}/{environment.name}/edit/secrets/API_TOKEN/delete/",
        f"{base}/freezes/",
        f"{base}/freezes/new/",
        f"{base}/freezes/{window.pk}/delete/",
    ]


@pytest.fixture
def window(project, admin_user):
    now = timezone.now()
    return freeze_window_create(
        project=project,
        actor=admin_user,
        kind="one_off",
        reason="Launch weekend",
        starts_at=now - timezone.timedelta(hours=1),
        ends_at=now + timezone.timedelta(hours=1),
    )


def test_admins_only_read_the_configuration_pages(
    client, client_as, admin_user, manager, approver, stakeholder, project, staging, window
):
    secret_variable_set(environment=staging, actor=admin_user, name="API_TOKEN", value="v")
    pages = _pages(project, staging, window)
    for path in pages:
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response["Location"], path
    for user in (manager, approver, stakeholder):
        for path in pages:
            assert client_as(user).get(path).status_code == 403, (user, path)
            assert client_as(user).post(path, {}).status_code == 403, (user, path)
    rotate = f"/deployments/svc/{staging.name}/edit/rotate-secret/"
    assert client_as(manager).post(rotate).status_code == 403
    for path in pages:
        assert client_as(admin_user).get(path).status_code == 200, path
    assert SecretVariable.objects.filter(name="API_TOKEN").exists()
    assert FreezeWindow.objects.filter(pk=window.pk).exists()


def test_a_page_of_another_project_or_an_unknown_environment_is_404(
    client_as, admin_user, project, staging
):
    client = client_as(admin_user)
    assert client.get("/deployments/nope/environments/new/").status_code == 404
    assert client.get("/deployments/svc/nope/edit/").status_code == 404
    other = project_create(
        actor=admin_user, slug="other", name="Other", repo_url="https://git.example.test/o.git"
    )
    assert client.get(f"/deployments/{other.slug}/staging/edit/").status_code == 404
    window = freeze_window_create(
        project=other, actor=admin_user, kind="cron", reason="Nightly", cron="0 2 * * *"
    )
    assert client.get(f"/deployments/svc/freezes/{window.pk}/delete/").status_code == 404


def test_admin_creates_a_command_environment_with_argument_lists(client_as, admin_user, project):
    client = client_as(admin_user)
    form = client.get("/deployments/svc/environments/new/").content.decode()
    assert "<legend>Commands</legend>" in form and "<legend>Webhook</legend>" in form
    response = client.post("/deployments/svc/environments/new/", _env_post())
    assert response.status_code == 302
    environment = Environment.objects.get(project=project, name="production")
    assert response["Location"] == environment.get_absolute_url()
    assert environment.deploy_commands == [
        ["./deploy.sh", "--env", "prod eu"],
        ["make", "restart"],
    ]
    assert (environment.order, environment.phase, environment.verify_seconds) == (
        1,
        "production",
        30,
    )
    assert environment.auto_rollback and not environment.lock_after_rollback
    assert environment.webhook_secret == ""
    # Shown back joined as a terminal would read it.
    edit = client.get("/deployments/svc/production/edit/").content.decode()
    assert "./deploy.sh --env &#x27;prod eu&#x27;\nmake restart" in edit


def test_admin_edits_an_environment_and_the_other_strategys_settings_stay(
    client_as, admin_user, project, staging
):
    client = client_as(admin_user)
    blue_green = _env_post(
        name="staging",
        strategy="blue_green",
        deploy_commands="./deploy.sh",
        blue_url="https://blue.example.test",
        green_url="https://green.example.test",
        switch_commands="./switch.sh",
    )
    response = client.post("/deployments/svc/staging/edit/", blue_green)
    assert response.status_code == 302
    staging.refresh_from_db()
    assert staging.strategy == "blue_green" and staging.switch_commands == [["./switch.sh"]]
    # Back to commands: the browser sends no blue-green fields (their fieldset is
    # disabled); what was set for blue-green is kept, not wiped.
    back = {k: v for k, v in blue_green.items() if k not in {"blue_url", "green_url"}}
    back.update(strategy="command", switch_commands="")
    del back["switch_commands"]
    assert client.post("/deployments/svc/staging/edit/", back).status_code == 302
    staging.refresh_from_db()
    assert staging.strategy == "command" and staging.blue_url == "https://blue.example.test"
    assert AuditEvent.objects.filter(action="environment.updated").count() == 2


def _fieldset(page: str, legend: str) -> str:
    """The opening tag of the fieldset with `legend`."""
    start = page.index(f"<legend>{legend}</legend>")
    opening = page.rindex("<fieldset", 0, start)
    return page[opening : page.index(">", opening) + 1]


def test_the_environment_form_shows_the_fields_of_its_strategy(
    client_as, admin_user, project, staging
):
    client = client_as(admin_user)
    new = client.get("/deployments/svc/environments/new/").content.decode()
    assert "hidden" not in _fieldset(new, "Commands")
    assert 'data-shown-for="strategy=command|blue_green"' in _fieldset(new, "Commands")
    assert "hidden disabled" in _fieldset(new, "Webhook")
    assert "hidden disabled" in _fieldset(new, "Blue-green")
    # Without JavaScript: the strategy posted decides what comes back.
    page = client.post(
        "/deployments/svc/environments/new/", _env_post(strategy="blue_green")
    ).content.decode()
    assert "hidden" not in _fieldset(page, "Blue-green")
    assert "hidden" not in _fieldset(page, "Commands")
    assert "hidden disabled" in _fieldset(page, "Rollback")


def test_an_invalid_command_line_is_refused_with_everything_typed_kept(
    client_as, admin_user, project
):
    client = client_as(admin_user)
    data = _env_post(deploy_commands="./deploy.sh\n./notify.sh 'unclosed", url="https://kept.test")
    response = client.post("/deployments/svc/environments/new/", data)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Line 2 is not a command line" in page
    assert "./notify.sh &#x27;unclosed" in page and 'value="https://kept.test"' in page
    assert 'value="production"' in page and 'value="300"' in page
    assert not Environment.objects.filter(name="production").exists()


def test_a_webhook_environment_without_its_url_is_refused(client_as, admin_user, project):
    client = client_as(admin_user)
    data = _env_post(strategy="webhook", url="https://typed.test")
    response = client.post("/deployments/svc/environments/new/", data)
    assert response.status_code == 400
    page = response.content.decode()
    assert "A webhook environment needs the deployer" in page
    assert 'value="https://typed.test"' in page
    assert re.search(r'value="webhook"[^>]*checked', page)
    assert not Environment.objects.exists()


def test_a_duplicate_name_is_refused_beside_the_name(client_as, admin_user, project, staging):
    response = client_as(admin_user).post(
        "/deployments/svc/environments/new/", _env_post(name="staging")
    )
    assert response.status_code == 400
    assert "has an environment “staging” already" in response.content.decode()


SECRET = re.compile(r"whsec_[A-Za-z0-9+/=]+")


def test_the_webhook_secret_is_shown_once(client_as, admin_user, manager, project):
    client = client_as(admin_user)
    data = _env_post(strategy="webhook", webhook_url="https://deployer.example.test/hook")
    response = client.post("/deployments/svc/environments/new/", data)
    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"]
    environment = Environment.objects.get(name="production")
    shown = SECRET.findall(response.content.decode())
    assert shown == [environment.webhook_secret]

    pages = [
        "/deployments/svc/production/edit/",
        "/deployments/svc/production/edit/health-checks/",
        "/deployments/svc/production/edit/secrets/",
        "/deployments/svc/freezes/",
        "/projects/svc/",
        environment.get_absolute_url(),
    ]
    for path in pages:
        assert environment.webhook_secret not in client.get(path).content.decode(), path
    edit = client.get("/deployments/svc/production/edit/").content.decode()
    assert "Rotate secret" in edit and "whsec_" not in edit

    # Rotating: a new secret, shown once; the old one is gone.
    rotate = "/deployments/svc/production/edit/rotate-secret/"
    assert client.get(rotate).status_code == 405
    response = client.post(rotate)
    environment.refresh_from_db()
    assert SECRET.findall(response.content.decode()) == [environment.webhook_secret]
    assert shown[0] != environment.webhook_secret
    for path in pages:
        assert environment.webhook_secret not in client.get(path).content.decode(), path
    assert AuditEvent.objects.filter(action="environment.secret_rotated").count() == 1


def test_a_command_environment_has_no_secret_to_show(client_as, admin_user, project, staging):
    page = client_as(admin_user).get("/deployments/svc/staging/edit/").content.decode()
    assert "Rotate secret" not in page


def _checks_post(rows, initial=0):
    data = {
        "checks-TOTAL_FORMS": str(len(rows)),
        "checks-INITIAL_FORMS": str(initial),
        "checks-MIN_NUM_FORMS": "0",
        "checks-MAX_NUM_FORMS": "1000",
    }
    for n, row in enumerate(rows):
        for key, value in row.items():
            data[f"checks-{n}-{key}"] = value
    return data


def _check(**overrides):
    row = {
        "url": "https://svc.example.test/health/oracle",
        "expected_status": "200",
        "json_field": "version",
        "json_value": "{version}",
        "timeout_seconds": "2.5",
        "retries": "4",
    }
    return {**row, **overrides}


def test_admin_sets_health_checks(client_as, admin_user, project, staging):
    client = client_as(admin_user)
    path = "/deployments/svc/staging/edit/health-checks/"
    # The empty row as a browser sends it: its defaults, no URL.
    empty = _check(url="", json_field="", json_value="", timeout_seconds="5", retries="3")
    response = client.post(path, _checks_post([_check(), empty]))
    assert response.status_code == 302 and response["Location"] == path
    (check,) = HealthCheck.objects.filter(environment=staging)
    assert (check.json_field, check.json_value, check.timeout_seconds, check.retries) == (
        "version",
        "{version}",
        2.5,
        4,
    )
    page = client.get(path).content.decode()
    assert 'value="https://svc.example.test/health/oracle"' in page
    # Add one, delete the first.
    second = _check(url="https://svc.example.test/health/cosmic", json_field="", json_value="")
    response = client.post(path, _checks_post([{**_check(), "DELETE": "on"}, second], initial=1))
    assert response.status_code == 302
    assert list(HealthCheck.objects.values_list("url", flat=True)) == [
        "https://svc.example.test/health/cosmic"
    ]


def test_a_bad_health_check_is_refused_with_what_was_typed(client_as, admin_user, staging):
    response = client_as(admin_user).post(
        "/deployments/svc/staging/edit/health-checks/",
        _checks_post([_check(url="not a url", json_field="build")]),
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Enter a valid URL" in page and 'value="build"' in page
    assert not HealthCheck.objects.exists()


def test_secret_values_never_appear_on_a_page(client_as, admin_user, project, staging):
    client = client_as(admin_user)
    path = "/deployments/svc/staging/edit/secrets/"
    value = "hunter2-very-secret-value"
    response = client.post(path, {"name": "DATABASE_PASSWORD", "value": value})
    assert response.status_code == 302
    assert SecretVariable.objects.get(name="DATABASE_PASSWORD").value == value
    page = client.get(path).content.decode()
    assert "DATABASE_PASSWORD" in page and value not in page
    # A refused set keeps the name typed, never the value.
    response = client.post(path, {"name": "lower_case", "value": value})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Upper case letters" in page and 'value="lower_case"' in page
    assert value not in page
    for other in (
        "/deployments/svc/staging/edit/",
        "/deployments/svc/staging/edit/health-checks/",
        "/deployments/svc/staging/edit/secrets/DATABASE_PASSWORD/delete/",
        "/projects/svc/",
        staging.get_absolute_url(),
    ):
        assert value not in client.get(other).content.decode(), other
    assert value not in str(list(AuditEvent.objects.values_list("after", flat=True)))


def test_admin_deletes_a_secret_variable(client_as, admin_user, staging):
    secret_variable_set(environment=staging, actor=admin_user, name="API_TOKEN", value="x1")
    client = client_as(admin_user)
    path = "/deployments/svc/staging/edit/secrets/API_TOKEN/delete/"
    assert "Delete the secret API_TOKEN?" in client.get(path).content.decode()
    assert SecretVariable.objects.exists()
    response = client.post(path)
    assert response.status_code == 302
    assert response["Location"] == "/deployments/svc/staging/edit/secrets/"
    assert not SecretVariable.objects.exists()
    # Gone already: the refusal is a message, not an error page.
    response = client.post(path, follow=True)
    assert "has no secret API_TOKEN" in response.content.decode()


# --- Freeze windows ---------------------------------------------------------------------


def _freeze_post(**overrides):
    data = {
        "kind": "one_off",
        "reason": "Launch weekend",
        "environment": "",
        "time_zone": "Europe/Berlin",
        "starts_at": "2031-05-02T18:00",
        "ends_at": "2031-05-05T06:00",
        "start_time": "",
        "end_time": "",
        "cron": "",
        "duration_minutes": "60",
    }
    return {**data, **overrides}


def test_freeze_windows_are_listed_with_whether_they_hold_now(
    client_as, admin_user, project, window
):
    freeze_window_create(
        project=project,
        actor=admin_user,
        kind="cron",
        reason="Nightly backup",
        cron="0 2 * * *",
        duration_minutes=1,
        time_zone="UTC",
    )
    page = client_as(admin_user).get("/deployments/svc/freezes/").content.decode()
    assert "Launch weekend" in page and "cron “0 2 * * *” for 1 min (UTC)" in page
    assert page.count(">in force<") == 1


def test_admin_creates_a_one_off_window_in_its_time_zone(client_as, admin_user, project, staging):
    client = client_as(admin_user)
    form = client.get("/deployments/svc/freezes/new/").content.decode()
    assert 'value="UTC"' in form  # settings.TIME_ZONE by default
    data = _freeze_post(environment=str(staging.pk))
    response = client.post("/deployments/svc/freezes/new/", data)
    assert response.status_code == 302 and response["Location"] == "/deployments/svc/freezes/"
    window = FreezeWindow.objects.get(project=project)
    # 18:00 in Berlin (summer time) is 16:00 UTC.
    assert window.starts_at.isoformat() == "2031-05-02T16:00:00+00:00"
    assert window.environment == staging and window.time_zone == "Europe/Berlin"


def test_admin_creates_weekly_and_cron_windows(client_as, admin_user, project):
    client = client_as(admin_user)
    weekly = _freeze_post(
        kind="weekly",
        reason="Friday evenings",
        starts_at="",
        ends_at="",
        weekdays=["4", "5"],
        start_time="18:00",
        end_time="06:00",
    )
    assert client.post("/deployments/svc/freezes/new/", weekly).status_code == 302
    cron = _freeze_post(kind="cron", reason="Month end", cron="0 0 L * *", duration_minutes="120")
    cron["cron"] = "0 0 28 * *"
    assert client.post("/deployments/svc/freezes/new/", cron).status_code == 302
    weekly_window, cron_window = FreezeWindow.objects.order_by("pk")
    assert weekly_window.weekdays == [4, 5] and weekly_window.starts_at is None
    assert str(weekly_window.start_time) == "18:00:00"
    assert (cron_window.cron, cron_window.duration_minutes) == ("0 0 28 * *", 120)
    page = client.get("/deployments/svc/freezes/").content.decode()
    assert "every Fri, Sat, 18:00–06:00 (Europe/Berlin)" in page


@pytest.mark.parametrize(
    "overrides, message, kept",
    [
        (
            {"kind": "cron", "cron": "every friday", "reason": "Typed reason"},
            "is not a cron expression",
            'value="every friday"',
        ),
        (
            {"time_zone": "Mars/Olympus", "reason": "Typed reason"},
            "is not a time zone",
            'value="Mars/Olympus"',
        ),
        (
            {"ends_at": "2031-05-01T06:00", "reason": "Typed reason"},
            "A one-off window ends after it starts",
            'value="2031-05-02T18:00"',
        ),
        (
            {"kind": "weekly", "reason": "Typed reason", "start_time": "18:00"},
            "Choose at least one day",
            'value="18:00"',
        ),
    ],
)
def test_a_bad_freeze_window_is_refused_with_everything_typed_kept(
    client_as, admin_user, project, overrides, message, kept
):
    response = client_as(admin_user).post(
        "/deployments/svc/freezes/new/", _freeze_post(**overrides)
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page and kept in page and 'value="Typed reason"' in page
    assert not FreezeWindow.objects.exists()


def test_admin_deletes_a_freeze_window(client_as, admin_user, project, window):
    client = client_as(admin_user)
    path = f"/deployments/svc/freezes/{window.pk}/delete/"
    assert "Delete “Launch weekend”?" in client.get(path).content.decode()
    assert FreezeWindow.objects.exists()
    response = client.post(path)
    assert response.status_code == 302 and response["Location"] == "/deployments/svc/freezes/"
    assert not FreezeWindow.objects.exists()
    assert AuditEvent.objects.filter(action="freeze.deleted").count() == 1


# --- The project page -------------------------------------------------------------------


def test_the_project_page_lists_its_environments(client_as, admin_user, stakeholder, staging):
    admin_page = client_as(admin_user).get("/projects/svc/").content.decode()
    assert f'href="{staging.get_absolute_url()}"' in admin_page
    assert 'href="/deployments/svc/staging/edit/"' in admin_page
    assert 'href="/deployments/svc/environments/new/"' in admin_page
    assert 'href="/deployments/svc/freezes/"' in admin_page
    page = client_as(stakeholder).get("/projects/svc/").content.decode()
    assert f'href="{staging.get_absolute_url()}"' in page
    assert "/edit/" not in page and "/environments/new/" not in page
