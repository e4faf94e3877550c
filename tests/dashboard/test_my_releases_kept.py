"""A release manager's cards ("My releases" with what blocks each) are kept rendered per
process under the digest of every row the release policy reads for their releases
(liftoff.kept): a change to any of them, made with `QuerySet.update()` (no service,
nothing told the cards), shows on the next view; a freeze window that starts shows when
it starts; a blocker that has not said what it reads keeps the cards from being kept;
and a view that finds nothing changed costs the same few queries for 6 or 24 releases."""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from checklists.models import ChecklistItem, ItemKind, ItemResult
from deployments.models import Deployment, DeploymentStatus, Environment, FreezeWindow
from gates.models import Approval, Decision, GateKind, GateResult, QualityGate, Waiver
from incidents.models import Incident
from releases import policy
from releases.models import Project, Release, ReleaseStatus
from tests.dashboard.test_role_queries import _work
from tests.factories import ReleaseFactory

pytestmark = pytest.mark.django_db

HEAD = "ab" * 20
HTMX = {"HX-Request": "true"}


def _release(project, manager, status, version="4.0.0", **facts):
    return ReleaseFactory(
        project=project,
        version=version,
        release_manager=manager,
        status=status,
        head_commit=HEAD,
        prepared_at=timezone.now(),
        **facts,
    )


def _only_production_left(release):
    """Every checklist item done, no gate, verified on staging: what blocks production is
    what production itself says (the card shows the first four reasons)."""
    ChecklistItem.objects.filter(release=release, kind=ItemKind.CHECK).update(done=True)
    ChecklistItem.objects.filter(release=release, kind=ItemKind.SCENARIO).update(
        result=ItemResult.PASS
    )
    QualityGate.objects.filter(project=release.project).update(active=False)
    Deployment.objects.create(
        environment=Environment.objects.get(project=release.project, name="staging"),
        release=release,
        version=release.version,
        commit=HEAD,
        strategy="command",
        status=DeploymentStatus.SUCCEEDED,
        verified=True,
        started_at=timezone.now(),
        finished_at=timezone.now(),
    )


def _card(client) -> str:
    page = client.get("/dashboard/cards/", headers=HTMX)
    assert page.status_code == 200
    html = page.content.decode()
    return html[html.index("My releases") : html.index("Deployments running now")]


def _summary(card: str) -> str:
    """The "N things block X" of the first release."""
    start = card.index("<summary>") + len("<summary>")
    return card[start : card.index("</summary>")]


def test_a_ticked_item_a_measured_gate_and_a_sign_off_show_on_the_next_view(
    client_as, shop, manager, approver
):
    release = _release(shop, manager, ReleaseStatus.VALIDATING)
    client = client_as(manager)
    before = _summary(_card(client))
    assert _summary(_card(client)) == before  # kept: the same answer
    required = ChecklistItem.objects.filter(release=release, required=True)
    item = required.filter(kind=ItemKind.CHECK).first()
    assert f"#item-{item.pk}" in _card(client)
    ChecklistItem.objects.filter(pk=item.pk).update(done=True)
    after = _card(client)
    assert f"#item-{item.pk}" not in after
    assert int(_summary(after).split()[0]) == int(before.split()[0]) - 1
    # Every required item done: only the gates block ready now.
    required.filter(kind=ItemKind.CHECK).update(done=True)
    required.filter(kind=ItemKind.SCENARIO).update(result=ItemResult.PASS)
    card = _card(client)
    assert "#item-" not in card and "#gate-" in card
    gate = QualityGate.objects.filter(project=shop, kind=GateKind.AUTOMATED).first()
    assert f"#gate-{release.pk}-{gate.pk}" in card
    GateResult.objects.create(
        release=release,
        gate=gate,
        status="passed",
        value=99,
        source="ci",
        commit=HEAD,
        measured_at=timezone.now(),
    )
    assert f"#gate-{release.pk}-{gate.pk}" not in _card(client)
    other = QualityGate.objects.filter(project=shop, kind=GateKind.AUTOMATED)[1]
    Waiver.objects.create(
        release=release, gate=other, approver=approver, reason="flaky", commit=HEAD
    )
    assert f"#gate-{release.pk}-{other.pk}" not in _card(client)
    # The other automated gates pass too, so the manual gates come first in the card.
    GateResult.objects.bulk_create(
        GateResult(
            release=release,
            gate=g,
            status="passed",
            value=0,
            source="ci",
            commit=HEAD,
            measured_at=timezone.now(),
        )
        for g in QualityGate.objects.filter(project=shop, kind=GateKind.AUTOMATED).exclude(
            pk__in=[gate.pk, other.pk]
        )
    )
    manual = QualityGate.objects.filter(project=shop, kind=GateKind.MANUAL).first()
    Approval.objects.create(
        release=release, gate=manual, approver=approver, decision=Decision.REJECT, commit=HEAD
    )
    assert f"rejected by {approver.username}" in _card(client)
    # Who rejected it is read from their row too: a rename shows.
    type(approver).objects.filter(pk=approver.pk).update(username="renamed-approver")
    assert "rejected by renamed-approver" in _card(client)


def test_a_deployment_a_lock_an_incident_and_the_release_s_own_row_show_on_the_next_view(
    client_as, shop, manager
):
    release = _release(shop, manager, ReleaseStatus.READY)
    staging = Environment.objects.get(project=shop, name="staging")
    client = client_as(manager)
    assert "to staging yet" in _card(client)
    Deployment.objects.create(
        environment=staging,
        release=release,
        version=release.version,
        commit=HEAD,
        strategy="command",
        status=DeploymentStatus.SUCCEEDED,
        verified=True,
        started_at=timezone.now(),
        finished_at=timezone.now(),
    )
    assert "nothing blocks staging" in _card(client)
    # The release moves on: its next move and what blocks it follow.
    Release.objects.filter(pk=release.pk).update(status=ReleaseStatus.STAGING)
    assert "block production" in _card(client)
    _only_production_left(release)
    assert "nothing blocks production" in _card(client)
    Environment.objects.filter(project=shop, name="production").update(
        locked_at=timezone.now(), locked_reason="Disk full"
    )
    assert "production is locked: Disk full." in _card(client)
    Incident.objects.create(
        project=shop,
        environment=Environment.objects.get(project=shop, name="production"),
        severity="critical",
        title="Checkout down",
        opened_at=timezone.now(),
        started_at=timezone.now(),
    )
    assert "Checkout down" in _card(client)
    Project.objects.filter(pk=shop.pk).update(name="Shop renamed")
    assert "Shop renamed v4.0.0" in _card(client)


def test_a_new_release_and_one_that_ships_change_the_list_and_the_count(client_as, shop, manager):
    _work(shop, manager, 20)
    client = client_as(manager)
    assert "more:" not in _card(client)
    extra = _release(shop, manager, ReleaseStatus.PLANNED, version="9.0.0")
    Release.objects.filter(pk=extra.pk).update(target_date=None)  # listed last
    assert "And 1 more" in _card(client)
    Release.objects.filter(pk=extra.pk).update(status=ReleaseStatus.RELEASED)
    assert "more:" not in _card(client)


def test_a_freeze_window_that_starts_later_shows_when_it_starts(client_as, shop, manager):
    _only_production_left(_release(shop, manager, ReleaseStatus.STAGING))
    starts = timezone.now() + timedelta(minutes=3)
    FreezeWindow.objects.create(
        project=shop, reason="Black Friday", starts_at=starts, ends_at=starts + timedelta(hours=1)
    )
    client = client_as(manager)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        assert "frozen now" not in _card(client)
        clock.shift(timedelta(minutes=4))  # no row changed, only the clock
        assert "production is frozen now: Black Friday." in _card(client)


def test_a_blocker_that_has_not_said_what_it_reads_keeps_the_card_from_being_kept(
    client_as, shop, manager
):
    _only_production_left(_release(shop, manager, ReleaseStatus.STAGING))
    said = {"text": "First word (test app)."}
    policy.register_blocker("test-live", lambda release, to: [said["text"]])
    try:
        client = client_as(manager)
        assert "First word" in _card(client)
        said["text"] = "Second word (test app)."  # nothing in the database changed
        assert "Second word" in _card(client)
    finally:
        policy.unregister_blocker("test-live")


@pytest.mark.parametrize("size", [6, 24])
def test_a_view_that_finds_nothing_changed_makes_the_same_few_queries(
    client_as, shop, manager, size, django_assert_max_num_queries
):
    _work(shop, manager, size)
    client = client_as(manager)
    _card(client)  # rendered and kept
    with CaptureQueriesContext(connection) as rendered:
        _card(client)
    # The user with their roles, the card's releases (ids only), the digest of every row
    # the cards read: measured 3 at both sizes (17 when they are rendered anew).
    with django_assert_max_num_queries(3):
        _card(client)
    assert len(rendered) <= 3
