"""/metrics/, its exports and the lists its counts link to: who may read, what a reader
sees (each figure with its definition, counts and table), bad windows, and a constant
number of queries whatever the history's size."""

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from deployments.models import Deployment, DeploymentKind, DeploymentStatus
from deployments.services import deployment_cancel
from incidents.services import incident_open
from liftoff.audit import audit_for_object
from metrics.models import MetricSettings, Rating
from metrics.selectors import metrics_version
from metrics.services import metrics_version_bump
from releases.models import Release
from tests.metrics.conftest import at

pytestmark = pytest.mark.django_db

MARCH = "since=2026-03-02&until=2026-03-29"


@pytest.fixture
def history(project, production, deploy, rollback):
    d1 = deploy(production, at(2), commits=[("a", at(1))])
    d2 = deploy(production, at(3), status=DeploymentStatus.FAILED, verification_failed=True)
    rollback(d2, at(3, 11))
    return d1


@pytest.mark.parametrize("role", ["admin", "release_manager", "approver", "stakeholder"])
def test_every_role_reads_the_metrics(client_as, make_user, role, history):
    response = client_as(make_user(role)).get(f"/metrics/?project=shop&{MARCH}")
    assert response.status_code == 200
    text = response.content.decode()
    assert "Change fail rate" in text and "Deployment rework rate" in text


def test_an_outsider_is_sent_to_log_in(client):
    response = client.get("/metrics/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert client.get("/metrics/export.json").status_code == 302
    assert client.get("/metrics/deployments/failed/").status_code == 302


def test_each_figure_has_its_definition_counts_links_chart_and_table(
    client_as, stakeholder, history
):
    text = client_as(stakeholder).get(f"/metrics/?project=shop&{MARCH}").content.decode()
    # Change fail rate: D2 of D1, D2, R1; its counts link to those very deployments.
    failed = "/metrics/deployments/failed/?since=2026-03-02&amp;until=2026-03-29&amp;project=shop"
    assert f'href="{failed}">1</a> of' in text
    assert "3 production deployments</a>" in text
    assert "needed intervention (verification failed, rolled back" in text  # the definition
    assert "<svg" in text and 'role="img"' in text
    assert "Weekly figures of change fail rate" in text and '<th scope="col">Week of</th>' in text
    assert "✗ Not met" in text  # not colour alone
    assert "Band: Low" in text


def test_a_count_opens_the_list_of_exactly_those_deployments(client_as, stakeholder, history):
    text = client_as(stakeholder).get(f"/metrics/deployments/failed/?project=shop&{MARCH}")
    text = text.content.decode()
    failed = Deployment.objects.get(verification_failed=True)
    assert f'href="/deployments/{failed.pk}/"' in text
    assert f'href="/deployments/{history.pk}/"' not in text
    assert "1 production deployments that needed intervention" in text


def test_an_unknown_count_is_404(client_as, stakeholder):
    assert client_as(stakeholder).get("/metrics/deployments/everything/").status_code == 404


@pytest.mark.parametrize(
    "query",
    ["since=2026-03-29&until=2026-03-02", "since=2020-01-01&until=2026-03-02", "since=yesterday"],
)
def test_a_bad_window_re_renders_with_a_message(client_as, stakeholder, query):
    client = client_as(stakeholder)
    response = client.get(f"/metrics/?{query}")
    assert response.status_code == 400
    assert 'class="error-text"' in response.content.decode()
    assert client.get(f"/metrics/export.json?{query}").status_code == 400
    assert client.get(f"/metrics/export.csv?{query}").status_code == 400


def test_the_exports_carry_the_same_figures(client_as, stakeholder, history):
    client = client_as(stakeholder)
    data = client.get(f"/metrics/export.json?project=shop&{MARCH}").json()
    fail = data["dora"]["change_fail_rate"]
    assert (fail["numerator"], fail["denominator"], fail["value"]) == (1, 3, 33.33)
    rows = list(
        csv.DictReader(
            io.StringIO(client.get(f"/metrics/export.csv?project=shop&{MARCH}").content.decode())
        )
    )
    row = next(r for r in rows if r["metric"] == "change_fail_rate")
    assert (row["numerator"], row["denominator"], row["value"]) == ("1", "3", "33.33")
    assert {r["metric"] for r in rows} >= {"deployment_success_rate", "rework_rate", "lead_time"}


def _grow(production, release, n):
    began = timezone.now() - timedelta(days=3)
    Deployment.objects.bulk_create(
        Deployment(
            environment=production,
            release=release,
            version=release.version,
            strategy="command",
            kind=DeploymentKind.DEPLOY,
            status=DeploymentStatus.SUCCEEDED,
            verified=True,
            started_at=began,
            finished_at=began + timedelta(minutes=5),
            verified_at=began + timedelta(minutes=5),
            new_commits=[
                {"sha": f"s{i}", "committed_at": (began - timedelta(hours=1)).isoformat()}
            ],
        )
        for i in range(n)
    )


def test_the_page_and_the_api_make_a_constant_number_of_queries(
    client_as, stakeholder, project, production, release, django_assert_max_num_queries
):
    client = client_as(stakeholder)
    client.get("/metrics/?project=shop")  # warm: the session's first read
    for size in (3, 300):
        _grow(production, release, size - Deployment.objects.count())
        # The computing path, not a cached report: bulk_create tells no one, so the
        # version is moved as an event's handler moves it.
        metrics_version_bump(project_id=project.pk)
        # The user, the projects, the figures' version, the project's settings, then one
        # query per figure group (counts, 4 medians, ratings, gate evidence, security
        # incidents, days with a deployment), and the navigation's incident banner: 14 at
        # either size; the API reads no banner.
        with django_assert_max_num_queries(14):
            assert client.get("/metrics/?project=shop").status_code == 200
        metrics_version_bump(project_id=project.pk)
        with django_assert_max_num_queries(13):
            assert client.get("/api/v1/metrics/?project=shop").status_code == 200
        # Cached: the user, the projects, the figures' version, the banner.
        with django_assert_max_num_queries(4):
            assert client.get("/metrics/?project=shop").status_code == 200


def test_a_cached_report_gives_way_to_the_event_that_changes_it(
    client_as, stakeholder, manager, project, production, history, django_assert_max_num_queries
):
    """R1 is the last deployment to production: an incident opened now names it, so it
    needed intervention too, and the page says so at once, cache or not."""
    client = client_as(stakeholder)
    url = f"/metrics/export.json?project=shop&{MARCH}"
    assert client.get(url).json()["dora"]["change_fail_rate"]["numerator"] == 1
    incident_open(
        project=project, environment=production, severity="high", title="Slow", actor=manager
    )
    assert client.get(url).json()["dora"]["change_fail_rate"]["numerator"] == 2


def test_a_deployment_that_finishes_moves_the_version(project, production, manager, release):
    before = metrics_version(project=project)
    scheduled = Deployment.objects.create(
        environment=production,
        release=release,
        version=release.version,
        strategy="command",
        status=DeploymentStatus.SCHEDULED,
        scheduled_for=timezone.now() + timedelta(hours=1),
    )
    deployment_cancel(deployment=scheduled, actor=manager)  # emits deployment.finished
    assert metrics_version(project=project)[0] == before[0] + 1


def test_an_admin_edits_the_targets_and_the_page_judges_by_them(
    client_as, admin_user, stakeholder, history
):
    client = client_as(admin_user)
    form = client.get("/metrics/settings/shop/")
    assert form.status_code == 200
    values = {
        "success_rate_target": "50",
        "rollback_rate_target": "60",
        "deployment_minutes_target": "15",
        "satisfaction_target": "4.5",
        "security_issues_target": "0",
        "performance_regression_target": "0",
        "dora_year": "2022",
        "performance_gate_key": "performance-regression",
    }
    assert client.post("/metrics/settings/shop/", values).status_code == 302
    settings = MetricSettings.objects.get(project__slug="shop")
    assert (settings.success_rate_target, settings.dora_year) == (50, 2022)
    assert [
        e.action
        for e in audit_for_object(object_type="releases.project", object_id=settings.project_id)
    ][-1] == "project.metric_settings_changed"
    data = client.get(f"/metrics/export.json?project=shop&{MARCH}").json()
    # D1 verified of D1, D2: 50 % is not above 50 %; R1 of two deploys: 50 % < 60 %.
    assert data["kpis"]["deployment_success_rate"]["met"] is False
    assert data["kpis"]["rollback_frequency"]["met"] is True
    # D2 10:10 → R1 11:10 = 1 h: "elite" (within an hour) in 2023, "high" in 2022.
    assert data["dora_year"] == 2022 and data["dora"]["recovery_time"]["band"] == "high"


def test_a_bad_target_re_renders_the_form(client_as, admin_user, project):
    response = client_as(admin_user).post("/metrics/settings/shop/", {"success_rate_target": "250"})
    assert response.status_code == 400
    assert not MetricSettings.objects.exists()


@pytest.mark.parametrize("role", ["release_manager", "approver", "stakeholder"])
def test_only_an_admin_edits_the_targets(client_as, make_user, role, project):
    client = client_as(make_user(role))
    assert client.get("/metrics/settings/shop/").status_code == 403
    assert client.post("/metrics/settings/shop/", {"success_rate_target": "1"}).status_code == 403
    assert not MetricSettings.objects.exists()


def test_a_stakeholder_rates_a_shipped_release_once_and_may_change_it(
    client_as, stakeholder, release
):
    Release.objects.filter(pk=release.pk).update(status="released", released_at=timezone.now())
    client = client_as(stakeholder)
    assert client.post(f"/metrics/releases/{release.pk}/rate/", {"score": "2"}).status_code == 302
    assert client.post(f"/metrics/releases/{release.pk}/rate/", {"score": "5"}).status_code == 302
    assert list(Rating.objects.values_list("score", flat=True)) == [5]


def test_a_release_not_shipped_is_not_rated(client_as, stakeholder, release):
    client_as(stakeholder).post(f"/metrics/releases/{release.pk}/rate/", {"score": "5"})
    assert not Rating.objects.exists()


@pytest.mark.parametrize("role", ["release_manager", "approver"])
def test_only_stakeholders_rate(client_as, make_user, role, release):
    Release.objects.filter(pk=release.pk).update(status="released", released_at=timezone.now())
    response = client_as(make_user(role)).post(
        f"/metrics/releases/{release.pk}/rate/", {"score": "5"}
    )
    assert response.status_code == 403
    assert not Rating.objects.exists()


def test_the_release_page_shows_ratings_and_the_form_to_stakeholders_only(
    client_as, stakeholder, manager, release
):
    Release.objects.filter(pk=release.pk).update(status="released", released_at=timezone.now())
    page = client_as(stakeholder).get(f"/releases/{release.pk}/").content.decode()
    assert "Not rated yet." in page and f'action="/metrics/releases/{release.pk}/rate/"' in page
    client_as(stakeholder).post(f"/metrics/releases/{release.pk}/rate/", {"score": "4"})
    page = client_as(stakeholder).get(f"/releases/{release.pk}/").content.decode()
    assert "4.0 of 5, from 1 rating." in page and "Your rating: 4 of 5." in page
    assert 'value="4" required checked' in page
    seen_by_manager = client_as(manager).get(f"/releases/{release.pk}/").content.decode()
    assert "4.0 of 5, from 1 rating." in seen_by_manager
    assert "/rate/" not in seen_by_manager


def test_a_release_not_shipped_has_no_rating_section(client_as, stakeholder, release):
    assert (
        "User satisfaction"
        not in client_as(stakeholder).get(f"/releases/{release.pk}/").content.decode()
    )
