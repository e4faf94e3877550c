"""The real services' events reach the inbox and the outbox: no test double between the
gate service and the notifications handler."""

import pytest
from django.utils import timezone

from gates.models import GateResultSource, QualityGate
from gates.services import gate_result_record
from notifications.models import Delivery, Notification
from notifications.services import webhook_create
from releases.models import ReleaseStatus
from tests.factories import ReleaseFactory, synced_project

HEAD = "c" * 40


@pytest.mark.django_db
def test_a_failed_gate_result_tells_managers_and_the_projects_webhooks(
    manager, admin_user, stakeholder, django_capture_on_commit_callbacks, monkeypatch
):
    project = synced_project(
        actor=None, slug="gated", name="Gated", repo_url="https://git.example.test/gated.git"
    )
    release = ReleaseFactory(
        project=project,
        release_manager=manager,
        status=ReleaseStatus.VALIDATING,
        head_commit=HEAD,
        prepared_at=timezone.now(),
    )
    webhook_create(
        project=project,
        url="http://127.0.0.1:9/hook",
        events=["gate.failed"],
        allow_private=True,
        actor=admin_user,
    )
    rung = []
    monkeypatch.setattr(
        "notifications.services.deliveries_dispatch",
        lambda *, delivery_ids, countdown=0: rung.extend(delivery_ids) or len(delivery_ids),
    )
    coverage = QualityGate.objects.get(project=project, key="coverage")
    with django_capture_on_commit_callbacks(execute=True):
        gate_result_record(
            release=release, gate=coverage, source=GateResultSource.CI, value=50.0, commit=HEAD
        )

    titles = dict(Notification.objects.values_list("user__username", "title"))
    assert set(titles) == {manager.username, admin_user.username}
    assert "coverage" in titles[manager.username]
    webhook = Delivery.objects.get(channel="webhook")
    assert webhook.payload["type"] == "gate.failed"
    assert webhook.payload["data"]["project"] == "gated"
    assert rung == [webhook.pk]
