"""The response clock: an incident nobody acknowledged in time is marked breached and
escalated step by step, each step exactly once, whoever runs the check and how often."""

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connections
from django.utils import timezone

from incidents.models import Incident
from incidents.selectors import incidents_sla_due
from incidents.services import (
    incident_escalate,
    incident_open,
    incident_transition,
    incidents_sla_check,
)
from incidents.tasks import check_incident_sla
from liftoff.events import subscribe, unsubscribe


@pytest.fixture
def escalations():
    heard = []

    def listen(event):
        heard.append(event.payload)

    subscribe("incident.escalated", listen)
    yield heard
    unsubscribe("incident.escalated", listen)


def _critical(project, production, manager):
    return incident_open(
        project=project,
        environment=production,
        severity="critical",
        title="Checkout down",
        actor=manager,
    )


@pytest.mark.django_db
def test_nothing_happens_before_the_response_time(project, production, manager, escalations):
    incident = _critical(project, production, manager)
    with time_machine.travel(incident.respond_by - timedelta(seconds=1)):
        assert incidents_sla_check() == {}
    incident.refresh_from_db()
    assert (incident.breached, incident.escalation_step) == (False, 0)
    assert escalations == []


@pytest.mark.django_db
def test_breach_then_one_step_per_interval_up_to_the_maximum(
    project, production, manager, escalations
):
    incident = _critical(project, production, manager)  # 15 min, then every 15, at most 2
    respond_by = incident.respond_by
    with time_machine.travel(respond_by + timedelta(seconds=1)):
        assert incidents_sla_check() == {incident.pk: [1]}
        assert incidents_sla_check() == {}  # the next beat: nothing new
    incident.refresh_from_db()
    assert incident.breached and incident.escalation_step == 1
    assert set(escalations[0]["audience"]["roles"]) == {
        "admin",
        "release_manager",
        "approver",
        "stakeholder",
    }
    with time_machine.travel(respond_by + timedelta(minutes=15, seconds=1)):
        assert incidents_sla_check() == {incident.pk: [2]}
    assert escalations[1]["audience"]["roles"] == ["admin"]
    with time_machine.travel(respond_by + timedelta(hours=5)):
        assert incidents_sla_check() == {}  # max_escalations reached
    kinds = list(incident.entries.values_list("kind", flat=True))
    assert kinds == ["opened", "breached", "escalated", "escalated"]


@pytest.mark.django_db
def test_a_late_check_takes_every_due_step_once(project, production, manager, escalations):
    incident = _critical(project, production, manager)
    with time_machine.travel(incident.respond_by + timedelta(minutes=40)):
        check_incident_sla()  # the beat task itself
    assert [e["step"] for e in escalations] == [1, 2]


@pytest.mark.django_db
def test_an_acknowledged_incident_is_never_escalated(project, production, manager, escalations):
    incident = _critical(project, production, manager)
    incident_transition(incident=incident, to="acknowledged", actor=manager)
    with time_machine.travel(incident.respond_by + timedelta(hours=1)):
        assert incidents_sla_check() == {}
    incident.refresh_from_db()
    assert not incident.breached and escalations == []


@pytest.mark.django_db
def test_a_low_incident_has_no_clock(project, production, manager, escalations):
    incident = incident_open(
        project=project, environment=production, severity="low", title="Typo", actor=manager
    )
    with time_machine.travel(timezone.now() + timedelta(days=30)):
        assert incidents_sla_check() == {}
    assert Incident.objects.get(pk=incident.pk).breached is False


@pytest.mark.django_db
def test_a_retried_task_holding_an_old_copy_does_not_escalate_again(
    project, production, manager, escalations
):
    incident = _critical(project, production, manager)
    with time_machine.travel(incident.respond_by + timedelta(seconds=5)):
        first = Incident.objects.select_related("project").get(pk=incident.pk)
        retry = Incident.objects.select_related("project").get(pk=incident.pk)
        assert incident_escalate(incident=first) == [1]
        assert incident_escalate(incident=retry) == []  # its copy still says step 0
    assert len(escalations) == 1
    assert incident.entries.filter(kind="escalated").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_beat_processes_racing_escalate_each_step_once(project, production, manager):
    """Both read the due incidents before either writes (the barrier), then both escalate:
    the conditional UPDATE on escalation_step lets one through per step. Without the
    `escalation_step=step - 1` condition this test fails (two entries, two events)."""
    incidents = [_critical(project, production, manager) for _ in range(3)]
    late = incidents[0].respond_by + timedelta(minutes=20)  # steps 1 and 2 are due
    barrier = threading.Barrier(2)
    taken: list[dict] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def beat():
        try:
            due = incidents_sla_due(now=late)
            barrier.wait(timeout=30)
            result = {i.pk: incident_escalate(incident=i, now=late) for i in due}
            with lock:
                taken.append(result)
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=beat) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    for incident in incidents:
        steps = sorted(s for result in taken for s in result.get(incident.pk, []))
        assert steps == [1, 2], (incident.pk, taken)
        assert incident.entries.filter(kind="escalated").count() == 2
        assert incident.entries.filter(kind="breached").count() == 1
        assert Incident.objects.get(pk=incident.pk).escalation_step == 2
