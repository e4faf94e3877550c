"""The release history stakeholders read: shipped releases with codenames, notes,
deployments, incidents and each release's deployment figures; filtered by project, type
and date in a URL one can share; the same queries for a page of 3 or of 300 releases."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from deployments.models import Deployment, DeploymentKind, DeploymentStatus
from gates.models import GateResult, QualityGate
from incidents.services import incident_open
from metrics.models import MetricSettings, Rating
from metrics.services import release_rate
from releases.models import Release, ReleaseStatus
from tests.factories import ReleaseFactory, synced_project

pytestmark = pytest.mark.django_db


@pytest.fixture
def other(admin_user):
    return synced_project(
        actor=admin_user, slug="blog", name="Blog", repo_url="https://git.example.test/t/blog.git"
    )


def _shipped(project, version, days_ago, **facts):
    return ReleaseFactory(
        project=project,
        version=version,
        status=ReleaseStatus.RELEASED,
        released_at=timezone.now() - timedelta(days=days_ago),
        **facts,
    )


def _deploy(release, environment, status=DeploymentStatus.SUCCEEDED, minutes=10, **facts):
    began = timezone.now() - timedelta(hours=2)
    return Deployment.objects.create(
        environment=environment,
        release=release,
        version=release.version,
        strategy="command",
        status=status,
        verified=status == DeploymentStatus.SUCCEEDED,
        started_at=began,
        finished_at=began + timedelta(minutes=minutes),
        **facts,
    )


def test_a_stakeholder_reads_each_shipped_release_with_its_record(
    client_as, project, production, manager, stakeholder
):
    release = _shipped(
        project,
        "1.0.0",
        3,
        codename="Andromeda",
        notes="## ✨ Cosmic Highlights\n\n- Checkout <script>alert(1)</script>",
    )
    _deploy(release, production, minutes=10)
    failed = _deploy(release, production, status=DeploymentStatus.FAILED, minutes=20)
    _deploy(release, production, kind=DeploymentKind.ROLLBACK, minutes=4, rollback_of=failed)
    incident_open(
        project=project,
        environment=production,
        severity="high",
        title="Checkout slow",
        actor=manager,
    )
    ReleaseFactory(project=project, version="1.1.0")  # not shipped: not history
    page = client_as(stakeholder).get("/history/").content.decode()
    assert "Shop v1.0.0</a> “Andromeda”" in page and "v1.1.0" not in page
    assert "Deployments: 2 of 3 finished succeeded, median 10.0 min, 1 rollback" in page
    assert "Cosmic Highlights" in page and "<script>alert(1)</script>" not in page
    assert "Incidents: 1." in page and "Checkout slow" in page


def test_the_history_filters_by_project_type_and_date_in_its_address(
    client_as, project, other, stakeholder
):
    _shipped(project, "1.0.0", 40, type="major")
    _shipped(project, "1.1.0", 10, type="minor")
    _shipped(other, "0.5.0", 5, type="minor")
    client = client_as(stakeholder)
    since = (timezone.localdate() - timedelta(days=20)).isoformat()
    page = client.get(f"/history/?project=shop&type=minor&since={since}").content.decode()
    assert "Shop v1.1.0" in page and "Shop v1.0.0" not in page and "Blog v0.5.0" not in page
    assert "1 shipped release." in page
    # Bad filters: the form says what is wrong, the page still answers.
    response = client.get("/history/?project=nope&since=2026-05-01&until=2026-01-01")
    body = response.content.decode()
    assert response.status_code == 400
    assert "Select a valid choice." in body and "The end comes before the start." in body


def test_the_history_is_for_signed_in_users_with_a_role(client, client_as, make_user):
    assert client.get("/history/").status_code == 302
    assert client_as(make_user()).get("/history/").status_code == 403


def test_a_page_of_history_costs_the_same_queries_for_3_or_300_releases(
    client_as, project, production, manager, stakeholder, django_assert_max_num_queries
):
    client = client_as(stakeholder)
    counts = []
    now = timezone.now()
    for size, start in ((3, 0), (297, 3)):
        releases = Release.objects.bulk_create(
            Release(
                project=project,
                version=f"5.{start + i}.0",
                major=5,
                minor=start + i,
                patch=0,
                type="minor",
                status=ReleaseStatus.RELEASED,
                released_at=now - timedelta(hours=start + i),
                notes=f"- change {i}",
            )
            for i in range(size)
        )
        for release in releases:
            _deploy(release, production)
        # Each release rated and measured, so a query per release would show.
        Rating.objects.bulk_create(Rating(release=r, user=stakeholder, score=4) for r in releases)
        scan = QualityGate.objects.get(project=project, key="security-scan")
        GateResult.objects.bulk_create(
            GateResult(release=r, gate=scan, status="passed", value=0, source="ci", measured_at=now)
            for r in releases
        )
        client.get("/history/")
        with CaptureQueriesContext(connection) as captured:
            page = client.get("/history/").content.decode()
        counts.append(len(captured))
    assert counts[0] == counts[1], counts
    with django_assert_max_num_queries(counts[0]):
        client.get("/history/?page=2")
    assert "Page 1 of 15" in page


def test_each_release_shows_its_kpis_against_its_projects_targets(
    client_as, project, production, manager, stakeholder, make_user, admin_user
):
    older = _shipped(project, "0.9.0", 9)
    release = _shipped(project, "1.0.0", 3)
    release_rate(release=release, actor=stakeholder, score=5)
    release_rate(release=release, actor=make_user("stakeholder", username="sam"), score=4)
    now = timezone.now()
    for key, value, at in (
        ("security-scan", 4, now - timedelta(hours=2)),
        ("security-scan", 1, now),  # the latest counts
        ("dependency-vulnerabilities", 0, now),
        ("performance-regression", 2.5, now),
    ):
        GateResult.objects.create(
            release=release,
            gate=QualityGate.objects.get(project=project, key=key),
            status="passed",
            value=value,
            source="ci",
            measured_at=at,
        )
    # This project asks less than the seed's 4.5 of satisfaction, and allows 3 % regression.
    MetricSettings.objects.create(
        project=project, satisfaction_target=4.0, performance_regression_target=3.0
    )
    deployment = _deploy(release, production)
    incident_open(
        project=project,
        environment=production,
        severity="low",
        title="Token in a log",
        actor=manager,
        security=True,
        deployment=deployment,
    )
    page = client_as(stakeholder).get("/history/").content.decode()
    mine = page[page.index(f'id="release-{release.pk}"') : page.index(f'id="release-{older.pk}"')]
    text = " ".join(mine.split())
    assert 'satisfaction 4.5/5 from 2 ratings <span class="badge badge-ok">✓ met</span>' in text
    assert 'security findings 1 <span class="badge status-failed">✗ not met</span>' in text
    assert "1 security incident;" in text
    assert 'performance regression 2.5 % <span class="badge badge-ok">✓ met</span>' in text
    rest = " ".join(page[page.index(f'id="release-{older.pk}"') :].split())
    assert "satisfaction not rated; security findings not measured;" in rest
