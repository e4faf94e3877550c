"""The dashboard's "Open incidents" card: unresolved incidents, most severe first, with
their time left, loaded by the card itself so the dashboard's queries do not grow."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidents.services import incident_open, incident_transition

pytestmark = pytest.mark.django_db


def _open(project, environment, manager, severity, title):
    return incident_open(
        project=project, environment=environment, severity=severity, title=title, actor=manager
    )


def test_the_card_lists_unresolved_incidents_most_severe_first_with_time_left(
    client_as, project, production, manager, stakeholder
):
    _open(project, production, manager, "medium", "Reports are slow")
    _open(project, production, manager, "critical", "Checkout is down")
    done = _open(project, production, manager, "high", "Search broke")
    incident_transition(incident=done, to="resolved", actor=manager, summary="Reindexed it all.")
    dashboard = client_as(stakeholder).get("/").content.decode()
    assert 'hx-get="/incidents/open/"' in dashboard
    card = client_as(stakeholder).get("/incidents/open/").content.decode()
    assert card.index("Checkout is down") < card.index("Reports are slow")
    assert "Search broke" not in card
    assert "min" in card and "left" in card


def test_the_card_costs_the_same_queries_for_one_or_many_incidents(
    client_as, project, production, manager, django_assert_max_num_queries
):
    client = client_as(manager)
    _open(project, production, manager, "high", "One")
    client.get("/incidents/open/")
    with CaptureQueriesContext(connection) as few:
        client.get("/incidents/open/")
    for n in range(15):
        _open(project, production, manager, "low", f"More {n}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get("/incidents/open/").status_code == 200
    assert len(few.captured_queries) == 2  # the user (with roles), the incidents


def test_the_card_is_refused_to_a_user_without_a_role(client_as, make_user):
    assert client_as(make_user(None, "nobody")).get("/incidents/open/").status_code == 403
