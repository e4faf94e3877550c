"""The release policy's batch answer (`releases_blockers`, what the dashboard asks for a
release manager's releases) is the single answer (`release_blockers`, what the
transition service, the release page, the API's 409 and `release check` ask) for every
release and every move, and costs the same queries for two releases or twelve."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from checklists.models import ChecklistItem, ItemKind, ItemResult
from deployments.models import Deployment, DeploymentStatus, FreezeWindow
from gates.models import Approval, Decision, GateKind, GateResult, GateStatus, QualityGate, Waiver
from incidents.models import Incident
from releases import policy
from releases.models import RELEASE_PHASES, Release, ReleaseStatus, ReleaseType
from releases.policy import policy_snapshot, release_blockers, releases_blockers
from tests.factories import ReleaseFactory, synced_project
from tests.incidents.conftest import _environment

pytestmark = pytest.mark.django_db


def _head(n: int) -> str:
    return f"{0xC0FFEE00 + n:040x}"


def _answer(blockers) -> list[tuple]:
    """What a reader of a blocker sees: its text, who must act and where."""
    return [(str(b), b.who, b.anchor) for b in blockers]


@pytest.fixture
def varied(admin_user, manager, approver):
    """Releases of two projects in every phase, with checklists part done, gates passed,
    failed, waived and signed, verified deployments, a locked and frozen production, an
    open critical incident and its hotfix; and a project with no environment at all."""
    now = timezone.now()
    shop = synced_project(
        actor=admin_user, slug="shop", name="Shop", repo_url="https://git.example.test/t/s.git"
    )
    lib = synced_project(
        actor=admin_user, slug="lib", name="Lib", repo_url="https://git.example.test/t/l.git"
    )
    staging = _environment(shop, "staging", "staging", 1)
    production = _environment(shop, "production", "production", 2)
    releases = []
    for n, status in enumerate(
        [
            ReleaseStatus.PLANNED,
            ReleaseStatus.PREPARING,
            ReleaseStatus.VALIDATING,
            ReleaseStatus.VALIDATING,
            ReleaseStatus.READY,
            ReleaseStatus.STAGING,
            ReleaseStatus.PRODUCTION,
            ReleaseStatus.PRODUCTION,
        ]
    ):
        prepared = status not in {ReleaseStatus.PLANNED, ReleaseStatus.PREPARING}
        releases.append(
            ReleaseFactory(
                project=shop,
                version=f"3.{n}.0",
                release_manager=manager,
                status=status,
                head_commit=_head(n) if prepared else "",
                prepared_at=now if prepared else None,
                tagged_at=now if n == 7 else None,
                tag=f"v3.{n}.0",
            )
        )
    # Planned as a minor (a hotfix is planned from the version in production, and none
    # is), then made the hotfix: only its type and the incident's link to it matter here.
    hotfix = ReleaseFactory(
        project=shop,
        version="3.9.0",
        release_manager=manager,
        status=ReleaseStatus.STAGING,
        head_commit=_head(99),
        prepared_at=now,
        type=ReleaseType.MINOR,
    )
    Release.objects.filter(pk=hotfix.pk).update(type=ReleaseType.HOTFIX)
    releases.append(hotfix)
    for n, status in enumerate([ReleaseStatus.VALIDATING, ReleaseStatus.STAGING]):
        releases.append(
            ReleaseFactory(
                project=lib,
                version=f"0.{n + 1}.0",
                release_manager=manager,
                status=status,
                head_commit=_head(50 + n),
                prepared_at=now,
            )
        )
    releases.append(
        ReleaseFactory(project=lib, version="0.9.0", release_manager=manager)
    )  # planned, nothing done

    # Checklists: one release with everything required done, another part done with a
    # failed and a blocked scenario.
    done = ChecklistItem.objects.filter(release=releases[4])
    done.filter(kind=ItemKind.CHECK).update(done=True)
    done.filter(kind=ItemKind.SCENARIO).update(result=ItemResult.PASS)
    part = list(ChecklistItem.objects.filter(release=releases[3]).order_by("id"))
    ChecklistItem.objects.filter(
        pk__in=[i.pk for i in part[::2] if i.kind == ItemKind.CHECK]
    ).update(done=True)
    scenarios = [i.pk for i in part if i.kind == ItemKind.SCENARIO]
    ChecklistItem.objects.filter(pk__in=scenarios[:1]).update(result=ItemResult.FAIL)
    ChecklistItem.objects.filter(pk__in=scenarios[1:2]).update(result=ItemResult.BLOCKED)

    # Gates: results passed, failed and on an older head; a waiver; sign-offs.
    for release in [*releases[2:6], hotfix]:
        gates = list(QualityGate.objects.filter(project=release.project, active=True))
        automated = [g for g in gates if g.kind == GateKind.AUTOMATED]
        manual = [g for g in gates if g.kind == GateKind.MANUAL]
        for i, gate in enumerate(automated):
            status = [GateStatus.PASSED, GateStatus.FAILED, GateStatus.NOT_MEASURED][i % 3]
            GateResult.objects.create(
                release=release,
                gate=gate,
                status=status,
                value=90.0 if status != GateStatus.NOT_MEASURED else None,
                source="ci",
                commit=release.head_commit if i != 3 else _head(77),
                reason="no report" if status == GateStatus.NOT_MEASURED else "",
                measured_at=now - timedelta(minutes=i),
            )
        if automated and release.pk % 2:
            Waiver.objects.create(
                release=release,
                gate=automated[1 % len(automated)],
                approver=approver,
                reason="Known flake",
                commit=release.head_commit,
            )
        for gate in manual[:1]:
            Approval.objects.create(
                release=release,
                gate=gate,
                approver=approver,
                decision=Decision.APPROVE if release.pk % 2 else Decision.REJECT,
                commit=release.head_commit,
            )

    # Deployments: verified on staging for some heads, on production for one.
    for release, environment in [
        (releases[5], staging),
        (releases[6], staging),
        (releases[7], staging),
        (releases[7], production),
        (hotfix, staging),
    ]:
        Deployment.objects.create(
            environment=environment,
            release=release,
            version=release.version,
            commit=release.head_commit,
            strategy="command",
            status=DeploymentStatus.SUCCEEDED,
            verified=True,
            started_at=now,
            finished_at=now,
        )
    production.locked_at, production.locked_reason = now, "Database migration"
    production.save()
    FreezeWindow.objects.create(
        project=shop,
        environment=production,
        reason="Black Friday",
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=1),
    )
    FreezeWindow.objects.create(
        project=shop,
        reason="Later",
        starts_at=now + timedelta(days=2),
        ends_at=now + timedelta(days=3),
    )
    Incident.objects.create(
        project=shop,
        environment=production,
        severity="critical",
        title="Checkout down",
        opened_at=now,
        started_at=now,
        hotfix_release=hotfix,
    )
    return [Release.objects.select_related("project").get(pk=r.pk) for r in releases]


def test_the_batch_answer_is_the_single_answer_for_every_release_and_move(varied):
    # Every move of every release, so each app's every branch is asked.
    for to in RELEASE_PHASES:
        batch = releases_blockers(releases=varied, to={r.pk: to for r in varied})
        for release in varied:
            single = release_blockers(release=release, to=to)
            assert _answer(batch[release.pk]) == _answer(single), (release.version, to)
    # Each release towards its own next move, as the dashboard asks, inside a snapshot.
    moves = {r.pk: to for r, to in zip(varied, RELEASE_PHASES[1:] * 2, strict=False)}
    with policy_snapshot():
        batch = releases_blockers(releases=varied, to=moves)
    for release in varied:
        if release.pk in moves:
            single = release_blockers(release=release, to=moves[release.pk])
            assert _answer(batch[release.pk]) == _answer(single)
        else:
            assert release.pk not in batch


def test_the_varied_set_is_blocked_by_every_app(varied):
    """The comparison above means something only if every app had something to say."""
    texts = [
        str(b)
        for to in RELEASE_PHASES
        for blockers in releases_blockers(releases=varied, to={r.pk: to for r in varied}).values()
        for b in blockers
    ]
    assert any("is not ticked" in t for t in texts)  # checklists
    assert any(" failed." in t for t in texts)  # a failed scenario
    assert any(t.startswith("Gate ") for t in texts)  # gates
    assert any("is locked" in t for t in texts) and any("is frozen now" in t for t in texts)
    assert any("No verified deployment" in t for t in texts)  # deployments
    assert any("Critical incident" in t for t in texts)  # incidents
    assert any("not prepared yet" in t for t in texts)  # the release's own


def _queries(releases, to) -> int:
    with CaptureQueriesContext(connection) as captured:
        releases_blockers(releases=releases, to={r.pk: to for r in releases})
    return len(captured)


@pytest.mark.parametrize(
    "to", [ReleaseStatus.READY, ReleaseStatus.STAGING, ReleaseStatus.PRODUCTION]
)
def test_the_batch_costs_the_same_queries_for_two_releases_or_twelve(varied, to):
    few = [r for r in varied if r.project.slug == "shop"][2:4]
    assert _queries(few, to) == _queries(varied, to) <= 12


def test_a_blocker_registered_in_its_single_form_still_answers_in_the_batch(varied):
    said = []

    def frozen(release, to):
        said.append(release.pk)
        return [f"v{release.version} is held (test app)."] if to == "production" else []

    policy.register_blocker("test-single", frozen)
    try:
        batch = releases_blockers(releases=varied[:3], to={r.pk: "production" for r in varied[:3]})
    finally:
        policy.unregister_blocker("test-single")
    assert sorted(said) == sorted(r.pk for r in varied[:3])
    for release in varied[:3]:
        assert f"v{release.version} is held (test app)." in batch[release.pk]


def test_register_blocker_takes_one_form():
    with pytest.raises(TypeError):
        policy.register_blocker("test-both", lambda r, to: [], many=lambda rs, to: {})
    with pytest.raises(TypeError):
        policy.register_blocker("test-none")
