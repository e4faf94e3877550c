"""The dashboard by role: a release manager's releases with what blocks each, the
deployments running now; an approver's emergency changes; a stakeholder's recent and
upcoming releases, cadence, KPI tiles and DORA bands. Each at two sizes of history with
the same ceiling of queries."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from deployments.models import Deployment, DeploymentStatus, EmergencyChange
from liftoff.roles import Role
from releases.models import Release, ReleaseStatus
from tests.factories import ReleaseFactory
from tests.incidents.conftest import _environment

pytestmark = pytest.mark.django_db


def _history(project, environments, manager, size: int, start: int = 0):
    """`size` releases (a third shipped, a third in flight managed by `manager`, a third
    cancelled), one deployment each (one running in each of `environments`, the others
    verified) and an emergency change for every fifth, as bare rows: the pages read them,
    the services are tested elsewhere."""
    now = timezone.now()
    statuses = [ReleaseStatus.RELEASED, ReleaseStatus.VALIDATING, ReleaseStatus.CANCELLED]
    releases = Release.objects.bulk_create(
        Release(
            project=project,
            version=f"9.{start + i}.0",
            major=9,
            minor=start + i,
            patch=0,
            type="minor",
            codename=f"Star {start + i}",
            status=statuses[i % 3],
            release_manager=manager,
            target_date=(now - timedelta(days=i % 7 - 3)).date(),
            released_at=now - timedelta(days=i) if i % 3 == 0 else None,
        )
        for i in range(size)
    )
    running = len(environments)
    deployments = Deployment.objects.bulk_create(
        Deployment(
            environment=environments[i % running],
            release=release,
            version=release.version,
            strategy="command",
            status=DeploymentStatus.RUNNING if i < running else DeploymentStatus.SUCCEEDED,
            verified=i >= running,
            started_at=now - timedelta(hours=i),
            finished_at=None if i < running else now - timedelta(hours=i) + timedelta(minutes=5),
        )
        for i, release in enumerate(releases)
    )
    EmergencyChange.objects.bulk_create(
        EmergencyChange(
            deployment=d, reason="Freeze", approved_by=manager, review_due=now + timedelta(hours=i)
        )
        for i, d in enumerate(deployments)
        if i % 5 == 0
    )


def cards(client) -> str:
    """The dashboard's cards of the reader's own work, as the dashboard loads them."""
    response = client.get("/dashboard/cards/", headers={"HX-Request": "true"})
    assert response.status_code == 200
    return response.content.decode()


def _queries(client) -> int:
    cards(client)  # warm the metrics cache
    with CaptureQueriesContext(connection) as captured:
        cards(client)
    return len(captured)


# Measured: a release manager 11 at both sizes (1, then 20 managed releases listed: the
# release policy answers for all of them at once), an approver 3, a stakeholder 7.
@pytest.mark.parametrize(
    ("role", "ceiling"), [(Role.RELEASE_MANAGER, 12), (Role.APPROVER, 5), (Role.STAKEHOLDER, 10)]
)
def test_each_role_s_dashboard_costs_the_same_queries_for_3_or_300_releases(
    client_as, project, production, make_user, role, ceiling, django_assert_max_num_queries
):
    user = make_user(role)
    other_manager = make_user(Role.RELEASE_MANAGER)
    manager = user if role == Role.RELEASE_MANAGER else other_manager
    client = client_as(user)
    counts = []
    edges = [_environment(project, f"edge-{n}", "production", 3 + n) for n in range(6)]
    # Then 300 releases: one deployment running in each of seven environments.
    for size, start, environments in ((3, 0, [production]), (297, 3, edges)):
        _history(project, environments, manager, size, start)
        counts.append(_queries(client))
    with django_assert_max_num_queries(ceiling):
        cards(client)
    assert max(counts) <= ceiling
    assert counts[0] == counts[1], counts
    # The home page itself only links the cards: its queries do not change with them.
    assert 'hx-get="/dashboard/cards/"' in client.get("/").content.decode()


def test_a_release_manager_sees_their_releases_with_what_blocks_each_and_what_runs(
    client_as, project, production, manager, approver
):
    mine = ReleaseFactory(project=project, version="2.0.0", release_manager=manager)
    theirs = ReleaseFactory(project=project, version="2.1.0", release_manager=approver)
    running = Deployment.objects.create(
        environment=production,
        release=mine,
        version=mine.version,
        strategy="command",
        status=DeploymentStatus.RUNNING,
        started_at=timezone.now(),
    )
    page = cards(client_as(manager))
    card = page[page.index("My releases") : page.index("Deployments running now")]
    assert f"/releases/{mine.pk}/" in card and f"/releases/{theirs.pk}/" not in card
    # A planned release waits for Prepare: the policy's own reason, linked to the release.
    assert "block" in card and "Prepare" in card
    running_card = page[page.index("Deployments running now") : page.index("All deployments")]
    assert f"/deployments/{running.pk}/" in running_card


def test_an_approver_sees_the_emergency_changes_to_review(
    client_as, project, production, manager, approver, stakeholder
):
    release = ReleaseFactory(project=project, version="2.0.0", release_manager=manager)
    deployment = Deployment.objects.create(
        environment=production, release=release, version="2.0.0", strategy="command"
    )
    EmergencyChange.objects.create(
        deployment=deployment,
        reason="Hotfix in a freeze",
        approved_by=manager,
        review_due=timezone.now() - timedelta(hours=1),
    )
    page = cards(client_as(approver))
    assert "Emergency changes to review" in page
    assert "Shop v2.0.0 to production" in page and "Overdue" in page
    # Each role sees its own cards only.
    assert "Emergency changes to review" not in cards(client_as(stakeholder))
    assert "Emergency changes to review" not in cards(client_as(manager))


def test_a_stakeholder_sees_shipped_and_upcoming_releases_cadence_and_the_figures(
    client_as, project, manager, stakeholder
):
    ReleaseFactory(
        project=project,
        version="1.0.0",
        codename="Andromeda",
        status=ReleaseStatus.RELEASED,
        released_at=timezone.now() - timedelta(days=40),
    )
    late = ReleaseFactory(
        project=project,
        version="1.1.0",
        release_manager=manager,
        target_date=timezone.localdate() - timedelta(days=2),
    )
    page = cards(client_as(stakeholder))
    recent = page[page.index("Recently shipped") : page.index("Upcoming releases")]
    assert "Shop v1.0.0" in recent and "Andromeda" in recent
    upcoming = page[page.index("Upcoming releases") : page.index("Key performance indicators")]
    assert f"/releases/{late.pk}/" in upcoming and "Overdue" in upcoming
    # The minor cadence (30 days by default) ran out ten days ago.
    assert "overdue" in upcoming
    assert "Deployment success rate" in page and "target &gt; 99" in page
    assert "Deployment frequency" in page and "DORA metrics" in page
    assert "My releases" not in page


def test_without_javascript_the_cards_are_a_page_of_their_own(client_as, stakeholder):
    page = client_as(stakeholder).get("/dashboard/cards/").content.decode()
    assert "<h1>Your work</h1>" in page and "Key performance indicators" in page


def test_the_cards_are_for_signed_in_users_with_a_role(client, make_user, client_as):
    assert client.get("/dashboard/cards/").status_code == 302
    assert client_as(make_user()).get("/dashboard/cards/").status_code == 403
