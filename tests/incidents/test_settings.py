"""A project's incident settings page (admins): stakeholders opening incidents, and which
environments open one when a deployment fails verification there."""

import pytest

from incidents.models import EnvironmentIncidentSetting, IncidentSettings
from incidents.selectors import auto_open_wanted, stakeholders_may_open
from liftoff.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_an_admin_changes_the_settings_and_they_hold(
    client_as, project, production, staging, admin_user
):
    url = f"/incidents/settings/{project.slug}/"
    client = client_as(admin_user)
    assert f'href="{url}"' in client.get("/incidents/").content.decode()
    assert client.get(url).status_code == 200
    answer = client.post(url, {"stakeholders_may_open": "on", "auto_open": [str(production.pk)]})
    assert answer.status_code == 302
    assert stakeholders_may_open(project=project)
    assert auto_open_wanted(environment=production) and not auto_open_wanted(environment=staging)
    assert AuditEvent.objects.filter(action="project.incident_settings_changed").exists()
    page = client.get(url).content.decode()
    assert "checked" in page


def test_other_roles_are_refused_and_bad_input_changes_nothing(
    client_as, project, production, manager, stakeholder, admin_user
):
    url = f"/incidents/settings/{project.slug}/"
    for user in (manager, stakeholder):
        assert client_as(user).get(url).status_code == 403
        assert client_as(user).post(url, {"stakeholders_may_open": "on"}).status_code == 403
    bad = client_as(admin_user).post(url, {"auto_open": ["999999"]})
    assert bad.status_code == 400
    assert "Select a valid choice" in bad.content.decode()
    assert not IncidentSettings.objects.exists()
    assert not EnvironmentIncidentSetting.objects.exists()
    assert client_as(admin_user).get("/incidents/settings/nope/").status_code == 404
