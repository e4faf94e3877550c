"""Who hears of what: the handler writes inbox rows and outbox rows in the emitting
transaction, by role and preference, and nothing for a change that rolled back."""

import time

import pytest
from django.db import transaction
from django.test import override_settings

from liftoff.events import emit
from liftoff.roles import Role
from notifications.models import Delivery, Notification, Preference
from notifications.services import preferences_save

SHIPPED = {"version": "2.0.0", "tag": "v2.0.0", "commit": "abc123"}
DEPLOYED = {
    "deployment": 7,
    "project": "rocket",
    "environment": "production",
    "release": 1,
    "version": "2.0.0",
    "kind": "rollback",
    "status": "succeeded",
    "trigger": "person",
}


@pytest.fixture
def people(make_user):
    return {role: make_user(role, role.value) for role in Role}


def _inbox(user):
    return list(Notification.objects.filter(user=user).values_list("event", flat=True))


@pytest.mark.django_db
def test_approval_requests_reach_approvers_in_the_app_and_by_email(people, raise_event, release):
    deliveries = raise_event("approval.requested", release, {"gates": ["qa"]})

    assert _inbox(people[Role.APPROVER]) == ["approval.requested"]
    assert _inbox(people[Role.STAKEHOLDER]) == []
    assert _inbox(people[Role.RELEASE_MANAGER]) == []
    assert [(d.channel, d.user) for d in deliveries] == [("email", people[Role.APPROVER])]
    note = Notification.objects.get(user=people[Role.APPROVER])
    assert note.url == release.get_absolute_url()
    assert "qa" in note.title


@pytest.mark.django_db
def test_deployments_reach_managers_and_admins_in_the_app_only(people, raise_event, release):
    deliveries = raise_event("deployment.finished", release, DEPLOYED)

    assert _inbox(people[Role.RELEASE_MANAGER]) == ["deployment.finished"]
    assert _inbox(people[Role.ADMIN]) == ["deployment.finished"]
    assert _inbox(people[Role.APPROVER]) == []
    assert deliveries == []  # e-mail is off by default for deployments
    assert "rolled back" in Notification.objects.first().title


@pytest.mark.django_db
def test_an_incident_reaches_the_audience_its_payload_names(people, raise_event, release):
    raise_event(
        "incident.opened",
        release,
        {"severity": "critical", "title": "Down", "audience": ["stakeholder"]},
    )
    assert _inbox(people[Role.STAKEHOLDER]) == ["incident.opened"]
    assert _inbox(people[Role.RELEASE_MANAGER]) == []
    # Without an audience: admins and release managers.
    raise_event("incident.resolved", release, {"summary": "fixed"})
    assert _inbox(people[Role.RELEASE_MANAGER]) == ["incident.resolved"]


@pytest.mark.django_db
def test_a_release_shipped_reaches_everyone_with_a_role(people, raise_event, release, make_user):
    nobody = make_user(None, "no-role")
    raise_event("release.shipped", release, SHIPPED)
    for user in people.values():
        assert _inbox(user) == ["release.shipped"]
    assert _inbox(nobody) == []


@pytest.mark.django_db
def test_preferences_choose_the_channels(people, raise_event, release):
    approver = people[Role.APPROVER]
    preferences_save(
        user=approver, choices={"approval.requested": {"in_app": False, "email": False}}
    )
    preferences_save(
        user=people[Role.STAKEHOLDER], choices={"release.shipped": {"in_app": True, "email": True}}
    )
    assert raise_event("approval.requested", release, {"gates": ["qa"]}) == []
    assert _inbox(approver) == []
    [mail] = raise_event("release.shipped", release, SHIPPED)
    assert mail.user == people[Role.STAKEHOLDER]
    assert Preference.objects.count() == 2


@pytest.mark.django_db
def test_nobody_is_told_what_they_did_themselves(people, raise_event, release):
    manager = people[Role.RELEASE_MANAGER]
    raise_event("deployment.started", release, DEPLOYED, actor=manager)
    assert _inbox(manager) == []
    assert _inbox(people[Role.ADMIN]) == ["deployment.started"]


@pytest.mark.django_db
def test_a_change_that_rolled_back_tells_nobody(people, release, add_webhook):
    add_webhook("http://127.0.0.1:9/hook")
    with pytest.raises(RuntimeError), transaction.atomic():
        emit("release.shipped", subject=release, payload=SHIPPED)
        raise RuntimeError("the change failed")
    assert not Notification.objects.exists()
    assert not Delivery.objects.exists()


@pytest.mark.django_db
def test_webhooks_get_only_the_events_they_listen_to(raise_event, release, add_webhook):
    add_webhook("http://127.0.0.1:9/all")
    add_webhook("http://127.0.0.1:9/incidents", events=["incident.opened"])
    deliveries = raise_event("release.shipped", release, SHIPPED)
    assert [d.endpoint.url for d in deliveries if d.channel == "webhook"] == [
        "http://127.0.0.1:9/all"
    ]


@pytest.mark.django_db
def test_deliveries_are_dispatched_only_on_commit(
    people, release, add_webhook, django_capture_on_commit_callbacks, monkeypatch
):
    rung = []
    monkeypatch.setattr(
        "notifications.services.deliveries_dispatch",
        lambda *, delivery_ids, countdown=0: rung.extend(delivery_ids) or len(delivery_ids),
    )
    add_webhook("http://127.0.0.1:9/all")
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        emit("release.shipped", subject=release, payload=SHIPPED)
        assert rung == []  # nothing leaves the transaction before it commits
    assert rung == list(Delivery.objects.order_by("pk").values_list("pk", flat=True))


@pytest.mark.django_db
def test_an_incident_naming_no_known_role_reaches_managers(people, raise_event, release):
    raise_event("incident.escalated", release, {"step": 1, "audience": ["on-call"]})
    assert _inbox(people[Role.RELEASE_MANAGER]) == ["incident.escalated"]
    assert _inbox(people[Role.STAKEHOLDER]) == []


@pytest.mark.django_db
def test_a_user_without_an_email_address_gets_no_email(make_user, raise_event, release):
    approver = make_user(Role.APPROVER, "no-mail")
    approver.email = ""
    approver.save()
    assert raise_event("approval.requested", release, {"gates": ["qa"]}) == []
    assert _inbox(approver) == ["approval.requested"]


@pytest.mark.django_db
def test_a_dead_broker_never_holds_the_request_and_the_rows_wait(
    people, release, add_webhook, django_capture_on_commit_callbacks, caplog
):
    for n in range(5):
        add_webhook(f"http://127.0.0.1:9/{n}")
    # The broker's port is closed, as if Redis were down.
    with override_settings(CELERY_BROKER_URL="redis://127.0.0.1:9/0"):
        started = time.monotonic()
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            emit("release.shipped", subject=release, payload=SHIPPED)
        elapsed = time.monotonic() - started
    assert elapsed < 2.0  # one fast failure, not one per delivery
    assert Delivery.objects.filter(status="pending").count() == 5
    assert "5 of 5 deliveries not dispatched" in caplog.text
