"""/incidents/ keeps a page of its list rendered per process under the version of the rows
it shows (liftoff.kept): a change to an incident on the page, or to the deployment it is
about, shows on the next view, however it was made; a response clock keeps counting; and
the page makes the same number of queries at 3 and at 300 incidents."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from deployments.models import Deployment
from incidents.models import Incident

pytestmark = pytest.mark.django_db


def _incidents(project, environment, count, *, deployment=None, **fields):
    """`count` incidents, newest first a minute apart (written as history leaves them)."""
    now = timezone.now()
    have = Incident.objects.count()
    Incident.objects.bulk_create(
        Incident(
            project=project,
            environment=environment,
            deployment=deployment,
            severity=fields.get("severity", "medium"),
            status=fields.get("status", "resolved"),
            title=f"Incident {n}",
            opened_at=now - timedelta(minutes=n + 1),
            started_at=now - timedelta(minutes=n + 2),
            respond_by=fields.get("respond_by"),
        )
        for n in range(have, count)
    )


def _get(client, path="/incidents/") -> str:
    response = client.get(path)
    assert response.status_code == 200
    return response.content.decode()


def test_the_list_makes_a_constant_number_of_queries_at_3_and_300_incidents(
    client_as, project, production, manager, deployed, django_assert_max_num_queries
):
    deployment = deployed(production, 500)
    client = client_as(manager)
    client.get("/incidents/")  # warm: the session's first read
    for count in (3, 300):
        _incidents(project, production, count, deployment=deployment)
        # session, user, projects, environment names, the count, the page's version, the
        # navigation's approvals digest, the critical banner; and the page of incidents
        # with its joins when it is rendered (the first view after a change).
        with django_assert_max_num_queries(9):
            assert f"Incident {count - 1}" in _get(client, f"/incidents/?page={count // 25 + 1}")
        with django_assert_max_num_queries(8):  # kept: nothing changed
            _get(client, f"/incidents/?page={count // 25 + 1}")


def test_a_change_to_an_incident_or_its_deployment_shows_on_the_next_view(
    client_as, project, production, manager, deployed
):
    deployment = deployed(production, 30)
    _incidents(project, production, 30, deployment=deployment)
    client = client_as(manager)
    assert "Incident 0" in _get(client)
    # Changed with QuerySet.update(): no service, no event, nothing told the page.
    Incident.objects.filter(title="Incident 3").update(title="Renamed by hand", status="open")
    page = _get(client)
    assert "Renamed by hand" in page and "Incident 3<" not in page
    Deployment.objects.filter(pk=deployment.pk).update(version="9.9.9")
    assert "v9.9.9" in _get(client)
    # A new incident moves the page: the 25th is now on page 2.
    _incidents(project, production, 31)
    assert "Page 1 of 2" in _get(client)


def test_a_response_clock_keeps_counting_on_a_kept_list(client_as, project, production, manager):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        respond_by = timezone.now() + timedelta(minutes=10)
        _incidents(project, production, 1, status="open", respond_by=respond_by)
        client = client_as(manager)
        assert "10 min 00 s left" in _get(client)
        clock.shift(timedelta(seconds=1))
        assert "9 min 59 s left" in _get(client)
        clock.shift(timedelta(minutes=10))
        assert "0 min 01 s overdue" in _get(client)
