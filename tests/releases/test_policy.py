"""The release policy: a blocker registered by an app (here, a test app) shows up in the
transition service, the release page, the API's 409 `missing` and `release check`, with no
change to releases/; a system move skips the checks and says so in the audit trail."""

import io

import pytest
from django.core.management import call_command

from liftoff.models import AuditEvent
from releases import policy
from releases.models import Release, ReleaseStatus
from releases.services import release_transition
from tests.factories import ProjectFactory, ReleaseFactory, synced_project

pytestmark = pytest.mark.django_db

FREEZE = "Production is frozen until Monday 08:00 (test app)."


@pytest.fixture
def freeze():
    """What a later app (deployments: freeze windows) registers in its AppConfig.ready."""
    calls = []

    def frozen(release, to):
        calls.append((release.pk, to))
        return [FREEZE] if to == ReleaseStatus.PRODUCTION else []

    policy.register_blocker("test-freeze", frozen)
    yield calls
    policy.unregister_blocker("test-freeze")


@pytest.fixture
def staged(manager):
    # A project without default gates or checklists: only the test app's blocker speaks.
    return ReleaseFactory(
        project=ProjectFactory(slug="policy"),
        version="2.0.0",
        release_manager=manager,
        status=ReleaseStatus.STAGING,
    )


def test_a_registered_blocker_refuses_the_move_in_the_service(freeze, staged, manager):
    from liftoff.errors import Conflict

    with pytest.raises(Conflict) as refused:
        release_transition(release=staged, to=ReleaseStatus.PRODUCTION, actor=manager)
    assert refused.value.extra["missing"] == [FREEZE]
    assert Release.objects.get(pk=staged.pk).status == ReleaseStatus.STAGING
    # It is asked about the move at hand only, and only blocks that one.
    assert (staged.pk, ReleaseStatus.PRODUCTION) in freeze
    release_transition(release=staged, to=ReleaseStatus.READY, actor=manager)


def test_without_the_blocker_the_same_move_goes_through(staged, manager):
    release_transition(release=staged, to=ReleaseStatus.PRODUCTION, actor=manager)
    assert Release.objects.get(pk=staged.pk).status == ReleaseStatus.PRODUCTION


def test_the_release_page_lists_the_registered_blocker(freeze, staged, client_as, manager):
    page = client_as(manager).get(f"/releases/{staged.pk}/").content.decode()
    assert "left before production" in page
    assert FREEZE in page


def test_the_api_answers_409_with_the_registered_blocker(freeze, staged, client_as, manager):
    response = client_as(manager).post(
        f"/api/v1/releases/{staged.pk}/transition/",
        {"to": "production"},
        content_type="application/json",
    )
    assert response.status_code == 409
    assert response.json()["missing"] == [FREEZE]


def test_release_check_prints_the_registered_blocker_and_exits_1(freeze, staged):
    out = io.StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command(
            "release", "check", "--project", "policy", "2.0.0", "--to", "production", stdout=out
        )
    assert exited.value.code == 1
    assert FREEZE in out.getvalue()


def test_a_system_move_skips_the_policy_and_records_why(freeze, staged):
    release_transition(
        release=staged, to=ReleaseStatus.PRODUCTION, actor=None, system_reason="Test rollback."
    )
    assert Release.objects.get(pk=staged.pk).status == ReleaseStatus.PRODUCTION
    assert not freeze, "a system move does not ask the policy"
    event = AuditEvent.objects.filter(action="release.transition").latest("seq")
    assert event.after == {"status": "production", "checks_skipped": "Test rollback."}
    assert event.actor_id is None


def test_the_release_page_reads_gates_and_checklists_once_for_sections_and_blockers(
    client_as, manager
):
    """Inside the page's policy snapshot the gates and checklists are read once for their
    sections and for the blockers: listing what blocks costs no extra query."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    project = synced_project(
        actor=None, slug="snap", name="Snap", repo_url="https://git.example.test/snap.git"
    )
    release = ReleaseFactory(project=project, release_manager=manager, status="ready")
    client = client_as(manager)
    client.get(f"/releases/{release.pk}/")
    counts = {}
    for status in ("ready", "staging"):  # staging lists what blocks production
        Release.objects.filter(pk=release.pk).update(status=status)
        with CaptureQueriesContext(connection) as queries:
            page = client.get(f"/releases/{release.pk}/").content.decode()
        counts[status] = len(queries.captured_queries)
        assert ("left before production" in page) == (status == "staging")
    assert counts["staging"] == counts["ready"], counts
