"""`GET /api/v1/metrics/`: the contract's fields, the same figures as the page, a project
token held to its project, bad windows as 4xx JSON."""

import pytest
from rest_framework.test import APIClient

from deployments.models import DeploymentStatus
from liftoff.tokens import token_create
from tests.factories import synced_project
from tests.metrics.conftest import at

pytestmark = pytest.mark.django_db
MARCH = "since=2026-03-02&until=2026-03-29"


def _client(user=None, secret=None):
    client = APIClient()
    if secret:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    elif user:
        client.force_authenticate(user)
    return client


@pytest.fixture
def history(project, production, deploy, rollback):
    deploy(production, at(2), commits=[("a", at(1))])
    failed = deploy(production, at(3), status=DeploymentStatus.FAILED, verification_failed=True)
    rollback(failed, at(3, 11))


def test_the_contract(stakeholder, history):
    response = _client(stakeholder).get(f"/api/v1/metrics/?project=shop&{MARCH}")
    assert response.status_code == 200
    body = response.json()
    for kpi in body["kpis"].values():
        assert {"value", "target", "met", "numerator", "denominator"} <= set(kpi)
    assert set(body["dora"]) == {
        "deployment_frequency",
        "lead_time",
        "change_fail_rate",
        "recovery_time",
        "rework_rate",
    }
    for figure in body["dora"].values():
        assert {"value", "band", "numerator", "denominator", "count"} <= set(figure)
    fail = body["dora"]["change_fail_rate"]
    assert (fail["numerator"], fail["denominator"], fail["band"]) == (1, 3, "low")
    assert body["dora"]["lead_time"]["count"] == 1
    assert len(body["weeks"]) == 4 and len(fail["trend"]) == 4


def test_a_project_token_reads_its_own_project_only(admin_user, project, history):
    other = synced_project(actor=admin_user, slug="blog", name="Blog", repo_url="https://x.test/b")
    _, secret = token_create(actor=admin_user, name="ci", project=project)
    client = _client(secret=secret)
    assert client.get(f"/api/v1/metrics/?{MARCH}").json()["project"] == "shop"
    refused = client.get(f"/api/v1/metrics/?project={other.slug}&{MARCH}")
    assert refused.status_code == 403 and refused.json()["detail"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("since=2026-03-29&until=2026-03-02", "until"),
        ("since=2020-01-01&until=2026-03-02", "since"),
        ("since=soon", "since"),
        ("project=nothing", "project"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(stakeholder, query, field):
    response = _client(stakeholder).get(f"/api/v1/metrics/?{query}")
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_anonymous_is_refused(db):
    assert APIClient().get("/api/v1/metrics/").status_code in (401, 403)
