"""The dashboard costs each role the same queries whatever the size of their work: a
release manager with 6 or 24 releases in flight (each with its gates and checklists, in
every phase), running deployments, open incidents and action items; an approver, a
stakeholder and an admin beside them. Both parts of the page are counted: `/` and the
cards of the reader's own work it loads (`/dashboard/cards/`)."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from deployments.models import Deployment, DeploymentStatus
from incidents.models import Incident
from liftoff.roles import Role
from releases.models import ActionItem, Release, ReleaseStatus
from tests.factories import ReleaseFactory
from tests.incidents.conftest import _environment

pytestmark = pytest.mark.django_db

PHASES = [
    ReleaseStatus.PLANNED,
    ReleaseStatus.PREPARING,
    ReleaseStatus.VALIDATING,
    ReleaseStatus.READY,
    ReleaseStatus.STAGING,
    ReleaseStatus.PRODUCTION,
]


def _work(project, manager, count: int):
    """Up to `count` releases in flight managed by `manager` (as many in each phase), each
    with a verified deployment, an open incident and an action item owned by the manager,
    and a deployment running for every third."""
    now = timezone.now()
    have = Release.objects.filter(release_manager=manager).count()
    environments = list(project.environments.order_by("order"))
    for n in range(have, count):
        status = PHASES[n % len(PHASES)]
        head = f"{n + 1:040x}" if n % len(PHASES) >= 2 else ""
        release = ReleaseFactory(
            project=project,
            version=f"5.{n}.0",
            release_manager=manager,
            status=status,
            head_commit=head,
            prepared_at=now if head else None,
            target_date=(now + timedelta(days=n)).date(),
        )
        environment = environments[n % len(environments)]
        deployment = Deployment.objects.create(
            environment=environment,
            release=release,
            version=release.version,
            commit=head,
            strategy="command",
            status=DeploymentStatus.SUCCEEDED,
            verified=True,
            started_at=now,
            finished_at=now,
        )
        if n % 3 == 0:  # one running at a time per environment: an environment of its own
            Deployment.objects.create(
                environment=_environment(project, f"edge-{n}", "production", 10 + n),
                release=release,
                version=release.version,
                commit=head,
                strategy="command",
                status=DeploymentStatus.RUNNING,
                started_at=now,
            )
        Incident.objects.create(
            project=project,
            environment=environment,
            deployment=deployment,
            severity="high",
            title=f"Incident {n}",
            opened_at=now,
            started_at=now,
            respond_by=now + timedelta(hours=1),
        )
        ActionItem.objects.create(release=release, title=f"Action {n}", owner=manager)


def _count(client, path: str, headers=None) -> int:
    cache.clear()  # what a view renders anew: the first one after a change
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, headers=headers or {})
    assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize(
    "role", [Role.RELEASE_MANAGER, Role.APPROVER, Role.STAKEHOLDER, Role.ADMIN]
)
def test_each_role_s_dashboard_makes_the_same_queries_for_6_or_24_releases_in_flight(
    client_as, shop, make_user, role, django_assert_max_num_queries
):
    user = make_user(role)
    manager = (
        user if role in {Role.RELEASE_MANAGER, Role.ADMIN} else make_user(Role.RELEASE_MANAGER)
    )
    client = client_as(user)
    client.get("/")  # the session's first read
    counts = {}
    for size in (6, 24):
        _work(shop, manager, size)
        counts[size] = (
            _count(client, "/"),
            _count(client, "/dashboard/cards/", {"HX-Request": "true"}),
        )
    assert counts[6] == counts[24], counts
    home, cards = counts[24]
    with django_assert_max_num_queries(home):
        client.get("/")
    with django_assert_max_num_queries(cards):
        client.get("/dashboard/cards/", headers={"HX-Request": "true"})


def test_a_release_manager_s_card_lists_all_their_releases_up_to_twenty_then_says_how_many_more(
    client_as, shop, manager
):
    _work(shop, manager, 24)
    page = client_as(manager).get("/dashboard/cards/", headers={"HX-Request": "true"})
    card = page.content.decode()
    card = card[card.index("My releases") : card.index("Deployments running now")]
    managed = Release.objects.filter(release_manager=manager)
    listed = [r for r in managed if f'/releases/{r.pk}/"' in card]
    assert len(listed) == 20
    assert "And 4 more" in card
    # Soonest target first: the four left out are the latest due.
    left_out = managed.exclude(pk__in=[r.pk for r in listed])
    assert sorted(r.version for r in left_out) == ["5.20.0", "5.21.0", "5.22.0", "5.23.0"]
    # Each release with what blocks its next move, from the release policy (the same
    # reasons as the release page's), linked to where it is acted on.
    assert card.count("thing blocks preparing") == 4 and card.count("blocks validating") == 4
    assert card.count("39 things block ready") == 3  # the default checklists and gates
    assert card.count("1 thing blocks staging") == 3 and "to staging yet" in card
    assert card.count("things block production") == 3
    assert card.count("block released") == 3 and "use Ship to tag" in card
    assert "#item-" in card and "#ship" in card
    # The link lists every release they manage, and only those.
    Release.objects.filter(pk=managed.first().pk).update(release_manager=None)
    listing = client_as(manager).get("/releases/?mine=on").content.decode()
    mine = Release.objects.filter(release_manager=manager)
    assert mine.count() == 23 and all(f'/releases/{r.pk}/"' in listing for r in mine)
    others = Release.objects.exclude(release_manager=manager)
    assert others.exists() and not any(f'/releases/{r.pk}/"' in listing for r in others)
