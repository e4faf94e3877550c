"""The dashboard's own cards (`/`: projects, releases in flight with their checklists,
what waits for the reader's sign-off, environments) and a stakeholder's cards (recent
and upcoming releases, cadence, KPI and DORA tiles) are kept per process under the digest
of the rows they read (liftoff.kept): a change made with `QuerySet.update()` shows on the
next view, the reader's roles are in the key, what is overdue follows the date, and a
view that finds nothing changed costs the same few queries at two sizes."""

from datetime import datetime, time, timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.utils import timezone

from checklists.models import ChecklistItem, ItemKind
from dashboard import views
from deployments.models import (
    Deployment,
    DeploymentStatus,
    EmergencyChange,
    Environment,
    FreezeWindow,
)
from gates.models import Approval, Decision, GateKind, QualityGate
from metrics.models import MetricsVersion
from releases.models import ActionItem, Project, Release, ReleaseStatus
from tests.dashboard.test_role_queries import _work
from tests.factories import ReleaseFactory

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
HEAD = "cd" * 20


def _home(client) -> str:
    response = client.get("/")
    assert response.status_code == 200
    return response.content.decode()


def _stakeholder(client) -> str:
    response = client.get("/dashboard/cards/", headers=HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    return html[html.index("How releasing goes") :]


def _validating(project, manager, version="6.0.0"):
    return ReleaseFactory(
        project=project,
        version=version,
        release_manager=manager,
        status=ReleaseStatus.VALIDATING,
        head_commit=HEAD,
        prepared_at=timezone.now(),
    )


def test_a_tick_a_new_release_a_rename_and_a_lock_show_on_the_next_view(
    client_as, shop, manager, approver
):
    release = _validating(shop, manager)
    client = client_as(approver)
    page = _home(client)
    assert "Shop v6.0.0" in page and "checklists 0 of" in page
    main = page[page.index("<h1>Dashboard</h1>") : page.index('id="dashboard-cards"')]
    again = _home(client)
    assert again[again.index("<h1>Dashboard</h1>") : again.index('id="dashboard-cards"')] == main
    item = ChecklistItem.objects.filter(release=release, required=True, kind=ItemKind.CHECK)
    ChecklistItem.objects.filter(pk=item.first().pk).update(done=True)
    assert "checklists 1 of" in _home(client)
    _validating(shop, manager, "6.1.0")
    assert "Shop v6.1.0" in _home(client)
    Project.objects.filter(pk=shop.pk).update(name="Shop renamed")
    assert "Shop renamed v6.0.0" in _home(client)
    Environment.objects.filter(project=shop, name="production").update(
        locked_at=timezone.now(), locked_reason="Disk full"
    )
    environments = _home(client).split('id="environments-heading"')[1]
    assert "Locked" in environments.split("</section>")[0]
    Release.objects.filter(pk=release.pk).update(status=ReleaseStatus.CANCELLED)
    assert "Shop renamed v6.0.0" not in _home(client)


def test_a_sign_off_leaves_the_approver_s_list_and_count_at_once(
    client_as, shop, manager, approver, make_user
):
    release = _validating(shop, manager)
    gate = QualityGate.objects.filter(project=shop, kind=GateKind.MANUAL, active=True).first()
    QualityGate.objects.filter(pk=gate.pk).update(required_approvals=1)
    other = make_user()
    client = client_as(approver)
    page = _home(client)
    waiting = page.split('id="approvals-heading"')[1].split("</section>")[0]
    assert gate.name in waiting
    count = page.split('id="nav-approvals-count"')[1].split("</span>")[0]
    # Someone else signs it: it no longer waits for anyone.
    Approval.objects.create(
        release=release, gate=gate, approver=other, decision=Decision.APPROVE, commit=HEAD
    )
    page = _home(client)
    waiting = page.split('id="approvals-heading"')[1].split("</section>")[0]
    assert gate.name not in waiting
    assert page.split('id="nav-approvals-count"')[1].split("</span>")[0] != count


def test_a_freeze_that_starts_later_shows_when_the_board_is_kept_inside_a_new_page(
    client_as, shop, manager, approver
):
    """The board (kept on its own) inside the page's cards (kept too): when the cards are
    rendered anew for another reason while the board is still kept, they hold no longer
    than the board does."""
    release = _validating(shop, manager)
    starts = timezone.now() + timedelta(minutes=3)
    FreezeWindow.objects.create(
        project=shop, reason="Black Friday", starts_at=starts, ends_at=starts + timedelta(hours=1)
    )
    client = client_as(approver)

    def environments() -> str:
        return _home(client).split('id="environments-heading"')[1].split("</section>")[0]

    with time_machine.travel(timezone.now(), tick=False) as clock:
        assert "Frozen" not in environments()
        item = ChecklistItem.objects.filter(release=release, kind=ItemKind.CHECK).first()
        ChecklistItem.objects.filter(pk=item.pk).update(done=True)  # the cards, not the board
        assert "Frozen" not in environments()
        clock.shift(timedelta(minutes=4))
        assert "Frozen" in environments()


def test_the_reader_s_roles_are_in_the_key(client_as, shop, manager, approver):
    _validating(shop, manager)
    client = client_as(approver)
    assert "Nothing waits for your approval" not in _home(client)
    approver.groups.set([Group.objects.get(name="stakeholder")])  # no longer a signer
    assert "Nothing waits for your approval" in _home(client)


def test_a_stakeholder_s_cards_follow_a_shipped_release_the_figures_and_the_date(
    client_as, shop, manager, stakeholder, monkeypatch
):
    client = client_as(stakeholder)
    # Two minutes to midnight (kept copies live ten minutes: the date, not their age,
    # must be what renders the cards anew).
    today = timezone.localdate()
    late = timezone.make_aware(datetime.combine(today, time(23, 58)))
    upcoming = ReleaseFactory(
        project=shop, version="7.0.0", release_manager=manager, target_date=today
    )
    with time_machine.travel(late, tick=False) as clock:
        cards = _stakeholder(client)
        assert "Nothing shipped yet." in cards
        part = cards[cards.index("Upcoming releases") : cards.index("Cadence")]
        assert f"/releases/{upcoming.pk}/" in part and "Overdue" not in part
        assert _stakeholder(client) == cards  # kept
        # Four minutes later nothing changed in the database, but the target has passed.
        clock.shift(timedelta(minutes=4))
        part = _stakeholder(client)
        part = part[part.index("Upcoming releases") : part.index("Cadence")]
        assert "Overdue" in part
    Release.objects.filter(pk=upcoming.pk).update(
        status=ReleaseStatus.RELEASED, released_at=timezone.now(), codename="Vega"
    )
    cards = _stakeholder(client)
    recent = cards[cards.index("Recently shipped") : cards.index("Upcoming releases")]
    assert "Shop v7.0.0" in recent and "Vega" in recent
    # A shipped release is no longer in flight: its own set says what changes it.
    Release.objects.filter(pk=upcoming.pk).update(codename="Rigel")
    assert "Rigel" in _stakeholder(client)
    # The figures come from metrics' report, kept under its own version: a bump (what an
    # event that changes a figure does) renders the cards with the new report.
    asked = []
    real = views.metrics_report_cached

    def watched(**kwargs):
        asked.append(kwargs["window"])
        return real(**kwargs)

    monkeypatch.setattr(views, "metrics_report_cached", watched)
    _stakeholder(client)
    assert asked == []  # kept
    MetricsVersion.objects.create(project=shop, version=5)
    _stakeholder(client)
    assert len(asked) == 1


@pytest.mark.parametrize("size", [6, 24])
def test_a_view_that_finds_nothing_changed_costs_the_same_few_queries(
    client_as, shop, admin_user, size, django_assert_max_num_queries
):
    _work(shop, admin_user, size)
    client = client_as(admin_user)  # every card
    _home(client)
    client.get("/dashboard/cards/", headers=HTMX)
    # The user with their roles, the page's digest, the critical banner.
    with django_assert_max_num_queries(3):
        _home(client)
    # The user with their roles, the manager's releases (ids only), the cards' digest.
    with django_assert_max_num_queries(3):
        client.get("/dashboard/cards/", headers=HTMX)


def test_a_deployment_that_starts_an_action_item_and_an_emergency_change_show_at_once(
    client_as, shop, admin_user, manager
):
    release = _validating(shop, admin_user)
    production = Environment.objects.get(project=shop, name="production")
    client = client_as(admin_user)  # every card

    def cards() -> str:
        response = client.get("/dashboard/cards/", headers=HTMX)
        assert response.status_code == 200
        return response.content.decode()

    assert "No deployment is running." in cards()
    running = Deployment.objects.create(
        environment=production,
        release=release,
        version=release.version,
        strategy="command",
        status=DeploymentStatus.RUNNING,
        started_at=timezone.now(),
    )
    assert f"/deployments/{running.pk}/" in cards()
    item = ActionItem.objects.create(release=release, title="Fix the alert", owner=admin_user)
    assert "Fix the alert" in cards()
    ActionItem.objects.filter(pk=item.pk).update(title="Fix the pager")
    assert "Fix the pager" in cards()
    # Queued again (a retry): only the deployment's own row changes.
    Deployment.objects.filter(pk=running.pk).update(status=DeploymentStatus.QUEUED)
    running_card = cards().split("Deployments running now")[1].split("</section>")[0]
    assert "status-queued" in running_card
    with time_machine.travel(timezone.now(), tick=False) as clock:
        EmergencyChange.objects.create(
            deployment=running,
            reason="Hotfix in a freeze",
            approved_by=manager,
            review_due=timezone.now() + timedelta(minutes=2),
        )
        page = cards()
        emergencies = page[page.index("Emergency changes to review") :]
        assert "Shop v6.0.0 to production" in emergencies and "Overdue" not in emergencies
        # No row changed, and the kept copy is younger than its ten minutes: the review
        # is late now, and the card says so.
        clock.shift(timedelta(minutes=3))
        page = cards()
        assert "Overdue" in page[page.index("Emergency changes to review") :]
