"""The periodic health check against real HTTP services on 127.0.0.1."""

import pytest

from deployments.health import environments_check_health
from deployments.models import Environment, HealthSample
from deployments.services import (
    HEALTH_SAMPLES_KEPT,
    environment_health_record,
    health_check_set,
)
from tests.factories import ProjectFactory
from tests.helpers import free_port

pytestmark = pytest.mark.django_db


def _environment(project, name, url, **check):
    environment = Environment.objects.create(
        project=project, name=name, strategy="command", deploy_commands=[["true"]]
    )
    health_check_set(environment=environment, actor=None, checks=[{"url": url, **check}])
    return environment


def test_each_environment_is_marked_healthy_or_failing_with_the_reason(health_service, settings):
    settings.HEALTH_CHECK_BUDGET_SECONDS = 10
    (health_service.state / "up.version").write_text("2.0.0")
    (health_service.state / "down.version").write_text("broken")
    up, down = health_service.start("up"), health_service.start("down")
    project = ProjectFactory(slug="shop")
    healthy = _environment(project, "healthy", f"{up}/health", retries=0)
    failing = _environment(project, "failing", f"{down}/health", retries=0)
    refused = _environment(
        project, "gone", f"http://127.0.0.1:{free_port()}/health", retries=0, timeout_seconds=1
    )

    assert environments_check_health() == {healthy.pk: True, failing.pk: False, refused.pk: False}

    healthy, failing, refused = (
        Environment.objects.get(pk=e.pk) for e in (healthy, failing, refused)
    )
    assert healthy.health == "ok" and healthy.health_checked_at is not None
    assert failing.health == "failing" and "answered 503" in failing.health_detail
    assert refused.health == "failing" and "connection refused" in refused.health_detail
    assert HealthSample.objects.filter(environment=failing, ok=False).count() == 1


def test_the_history_keeps_the_newest_samples_only():
    environment = _environment(ProjectFactory(slug="shop"), "staging", "http://127.0.0.1:9/")
    for i in range(HEALTH_SAMPLES_KEPT + 3):
        environment_health_record(
            environment=environment, ok=i % 2 == 0, detail=str(i), milliseconds=1
        )
    kept = HealthSample.objects.filter(environment=environment)
    assert kept.count() == HEALTH_SAMPLES_KEPT
    assert kept.order_by("-at").first().detail == str(HEALTH_SAMPLES_KEPT + 2), "the newest"
