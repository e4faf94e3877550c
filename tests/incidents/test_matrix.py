"""The incident response matrix on the settings page (admins only): each severity's row
edited in place, wrong input shown with its messages, every change audited, and the
edited row used by the next incident."""

import pytest

from incidents.models import SeverityPolicy
from incidents.services import incident_open, severity_policy_update
from liftoff.errors import NotAllowed
from liftoff.models import AuditEvent

pytestmark = pytest.mark.django_db

GOOD = {
    "high-respond_minutes": "30",
    "high-action": "Hotfix within the hour",
    "high-audience_roles": ["admin", "approver"],
    "high-escalate_after_minutes": "10",
    "high-max_escalations": "3",
}


def _url(project, severity="high"):
    return f"/incidents/settings/{project.slug}/severity/{severity}/"


def test_the_settings_page_shows_the_seed_matrix(client_as, project, admin_user):
    page = client_as(admin_user).get(f"/incidents/settings/{project.slug}/").content.decode()
    assert 'value="Immediate rollback"' in page
    assert 'name="critical-respond_minutes" value="15"' in page
    assert 'value="Next release"' in page
    assert page.count('action="/incidents/settings/shop/severity/') == 4


def test_an_admin_edits_a_row_and_the_next_incident_uses_it(
    client_as, project, production, admin_user, manager, stakeholder
):
    answer = client_as(admin_user).post(
        _url(project), {**GOOD, "high-audience_users": [str(stakeholder.pk)]}
    )
    assert answer.status_code == 302
    row = SeverityPolicy.objects.get(project=project, severity="high")
    assert (row.respond_minutes, row.action) == (30, "Hotfix within the hour")
    assert row.audience_roles == ["admin", "approver"]
    assert list(row.audience_users.all()) == [stakeholder]
    assert (row.escalate_after_minutes, row.max_escalations) == (10, 3)
    event = AuditEvent.objects.get(action="project.severity_policy_changed")
    assert event.before["respond_minutes"] == 60 and event.after["respond_minutes"] == 30
    assert event.after["audience_users"] == [stakeholder.username]

    incident = incident_open(
        project=project, environment=production, severity="high", title="Slow", actor=manager
    )
    assert (incident.respond_by - incident.opened_at).total_seconds() == 30 * 60
    page = client_as(admin_user).get(f"/incidents/settings/{project.slug}/").content.decode()
    assert 'value="Hotfix within the hour"' in page


def test_an_empty_response_time_means_no_clock(client_as, project, admin_user):
    data = {**GOOD, "high-respond_minutes": "", "high-max_escalations": "0"}
    assert client_as(admin_user).post(_url(project), data).status_code == 302
    assert SeverityPolicy.objects.get(project=project, severity="high").respond_minutes is None


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("high-respond_minutes", "-5", "greater than or equal to 1"),
        ("high-respond_minutes", "20000", "Between 1 and 10080 minutes"),
        ("high-action", "   ", "This field is required"),
        ("high-max_escalations", "99", "Between 0 and 10"),
        ("high-audience_roles", ["pilot"], "Select a valid choice"),
        ("high-audience_users", ["999999"], "Select a valid choice"),
        ("high-escalate_after_minutes", "soon", "Enter a whole number"),
    ],
)
def test_bad_input_comes_back_with_its_message_and_changes_nothing(
    client_as, project, admin_user, field, value, message
):
    answer = client_as(admin_user).post(_url(project), {**GOOD, field: value})
    assert answer.status_code == 400
    assert message in answer.content.decode()
    assert SeverityPolicy.objects.get(project=project, severity="high").respond_minutes == 60
    assert not AuditEvent.objects.filter(action="project.severity_policy_changed").exists()


def test_escalation_steps_without_a_clock_are_refused(client_as, project, admin_user):
    data = {**GOOD, "high-respond_minutes": "", "high-max_escalations": "2"}
    answer = client_as(admin_user).post(_url(project), data)
    assert answer.status_code == 400
    assert "nothing escalates: set 0 steps" in answer.content.decode()


def test_only_admins_edit_the_matrix(client_as, project, manager, approver, stakeholder):
    for user in (manager, approver, stakeholder):
        answer = client_as(user).post(_url(project), GOOD)
        assert answer.status_code == 403
    assert SeverityPolicy.objects.get(project=project, severity="high").respond_minutes == 60
    assert client_as(manager).get(f"/incidents/settings/{project.slug}/").status_code == 403


def test_an_unknown_severity_or_project_is_404_and_a_get_is_refused(client_as, project, admin_user):
    client = client_as(admin_user)
    assert client.post(_url(project, "apocalyptic"), GOOD).status_code == 404
    assert client.post("/incidents/settings/nope/severity/high/", GOOD).status_code == 404
    assert client.get(_url(project)).status_code == 405


def test_the_service_refuses_a_non_admin(project, manager):
    with pytest.raises(NotAllowed):
        severity_policy_update(
            project=project,
            severity="high",
            actor=manager,
            respond_minutes=5,
            action="x",
            audience_roles=[],
            audience_users=[],
            escalate_after_minutes=1,
            max_escalations=0,
        )


@pytest.mark.parametrize("users", [3, 60])
def test_the_settings_page_costs_the_same_queries_for_few_or_many_people(
    client_as, project, production, admin_user, make_user, users, django_assert_max_num_queries
):
    for n in range(users):
        make_user(None, f"person-{n}")
    client = client_as(admin_user)
    client.get(f"/incidents/settings/{project.slug}/")
    with django_assert_max_num_queries(10):
        assert client.get(f"/incidents/settings/{project.slug}/").status_code == 200
