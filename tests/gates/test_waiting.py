"""What waits for a signer: one definition (`approvals_waiting`), one number on the
navigation, the approvals page and the dashboard; sign-offs are work only from
validation on; a change of what blocks a release tells the release page."""

import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gates.models import QualityGate
from gates.services import gate_result_record, waiver_grant
from liftoff import events
from liftoff.roles import Role
from releases.models import ReleaseStatus
from releases.policy import project_created
from releases.services import release_transition
from tests.factories import ProjectFactory, ReleaseFactory

pytestmark = pytest.mark.django_db

HEAD = "d" * 40
HTMX = {"HX-Request": "true"}
NAV_COUNT = re.compile(r'<span class="nav-count">(\d+)<span class="visually-hidden"> waiting')


@pytest.fixture
def project():
    project = ProjectFactory(slug="wait", name="Wait")
    project_created(project=project, actor=None)
    return project


def _release(project, manager, version, status=ReleaseStatus.VALIDATING):
    return ReleaseFactory(
        project=project,
        release_manager=manager,
        version=version,
        status=status,
        head_commit=HEAD,
    )


def _gate(project, key) -> QualityGate:
    return QualityGate.objects.get(project=project, key=key)


def _result(release, project, key, value):
    gate_result_record(
        release=release, gate=_gate(project, key), source="ci", value=value, commit=HEAD
    )


def _nav_count(page: str) -> int:
    found = NAV_COUNT.findall(page)
    return int(found[0]) if found else 0


def test_the_navigation_the_approvals_page_and_the_dashboard_show_one_number(
    client_as, project, manager, approver
):
    """Three sign-offs, a failed gate and an unmeasured one wait on the validating
    release; a waived gate, a preparing release and a released one do not."""
    validating = _release(project, manager, "1.0.0")
    _result(validating, project, "coverage", 70)  # failed: waivable
    _result(validating, project, "dependency-vulnerabilities", None)  # not measured
    _result(validating, project, "security-scan", 3)  # failed, then waived below
    waiver_grant(
        release=validating,
        gate=_gate(project, "security-scan"),
        actor=approver,
        reason="False positives in generated code.",
    )
    preparing = _release(project, manager, "1.1.0", status=ReleaseStatus.PREPARING)
    _result(preparing, project, "coverage", 70)
    _release(project, manager, "0.9.0", status=ReleaseStatus.RELEASED)
    client = client_as(approver)

    approvals = client.get("/approvals/").content.decode()
    dashboard = client.get("/").content.decode()
    other = client.get("/releases/").content.decode()

    rows = approvals.count('<li id="gate-')
    assert rows == 5
    assert "v1.1.0" not in approvals and "v0.9.0" not in approvals
    assert _nav_count(approvals) == _nav_count(dashboard) == _nav_count(other) == 5
    assert "All 5 on the approvals page" in dashboard


def test_a_waivable_gate_alone_keeps_the_navigation_badge(client_as, project, manager, approver):
    """Every sign-off given, a failed gate still waits for a decision: the badge stays."""
    release = _release(project, manager, "1.0.0")
    QualityGate.objects.filter(project=project, kind="manual").update(active=False)
    _result(release, project, "coverage", 70)
    page = client_as(approver).get("/releases/").content.decode()
    assert _nav_count(page) == 1
    # Waived, nothing waits any more: the badge goes.
    waiver_grant(
        release=release,
        gate=_gate(project, "coverage"),
        actor=approver,
        reason="Legacy module, covered by the e2e suite.",
    )
    assert _nav_count(client_as(approver).get("/releases/").content.decode()) == 0


def test_a_release_manager_named_as_signer_counts_too(
    client_as, project, manager, make_user, approver
):
    """A gate signed by release managers waits for another release manager: the badge
    shows for them like for approvers, with the same number as the approvals page."""
    other_manager = make_user(Role.RELEASE_MANAGER, "other-manager")
    QualityGate.objects.filter(project=project, key="documentation").update(
        approver_role=Role.RELEASE_MANAGER
    )
    _release(project, manager, "1.0.0")
    client = client_as(other_manager)
    approvals = client.get("/approvals/").content.decode()
    assert approvals.count('<li id="gate-') == 1 == _nav_count(approvals)
    assert _nav_count(client.get("/").content.decode()) == 1


@pytest.fixture
def heard():
    seen = []

    def handler(event):
        seen.append(event)

    events.subscribe("approval.requested", handler)
    yield seen
    events.unsubscribe("approval.requested", handler)


def test_sign_offs_are_asked_for_on_entering_validation_not_before(
    heard, client_as, project, manager, approver
):
    release = ReleaseFactory(
        project=project, release_manager=manager, status=ReleaseStatus.PLANNED, head_commit=HEAD
    )
    release_transition(
        release=release, to=ReleaseStatus.PREPARING, actor=None, system_reason="test: prepare"
    )
    assert heard == []
    client = client_as(approver)
    assert "Nothing waits for your approval" in client.get("/approvals/").content.decode()
    page = client.get(f"/releases/{release.pk}/gates/").content.decode()
    assert page.count('<span class="badge gate-upcoming">Upcoming</span>') == 3
    assert "Sign-off is asked for when the release enters validation." in page
    assert _nav_count(page) == 0

    release_transition(
        release=release,
        to=ReleaseStatus.VALIDATING,
        actor=manager,
        system_reason="A validation run of the prepared head started.",
    )
    (requested,) = heard
    assert requested.payload["phase"] == ReleaseStatus.VALIDATING
    assert len(requested.payload["gates"]) == 3
    page = client.get(f"/releases/{release.pk}/gates/").content.decode()
    assert "gate-upcoming" not in page
    assert _nav_count(page) == 3


def test_the_dashboard_makes_constant_queries(
    client_as, project, approver, make_user, django_assert_max_num_queries
):
    client = client_as(approver)
    client.get("/")
    counts = []
    for size in (1, 6):
        n = 0
        while project.releases.count() < size:
            n = project.releases.count()
            release = _release(project, make_user(Role.RELEASE_MANAGER), f"3.{n}.0")
            _result(release, project, "coverage", 1)
        with django_assert_max_num_queries(14), CaptureQueriesContext(connection) as captured:
            page = client.get("/").content.decode()
        assert f"All {4 * size} on the approvals page" in page
        counts.append(len(captured))
    assert counts[0] == counts[1]


# --- The release page learns that what blocks the release changed ----------------------


def _trigger(response) -> dict:
    return json.loads(response.headers.get("HX-Trigger", "{}"))


def test_each_gate_change_tells_the_release_page(client_as, project, manager, approver):
    release = _release(project, manager, "1.0.0")
    _result(release, project, "coverage", 70)
    coverage, review = _gate(project, "coverage"), _gate(project, "security-review")
    client = client_as(approver)
    base = f"/releases/{release.pk}/gates"
    posts = [
        (f"{base}/{review.pk}/approve/", {"decision": "approve"}),
        (f"{base}/{review.pk}/approve/", {"decision": "reject", "comment": "No threat model"}),
        (f"{base}/{coverage.pk}/waive/", {"reason": "Legacy module, covered by e2e."}),
        (f"{base}/{coverage.pk}/waiver/revoke/", {}),
    ]
    for url, data in posts:
        response = client.post(url, data, headers=HTMX)
        assert _trigger(response) == {"liftoff:release-changed": {"release": release.pk}}, url


def test_a_refused_gate_change_tells_nothing(client_as, project, manager, approver):
    release = _release(project, manager, "1.0.0")
    review = _gate(project, "security-review")
    url = f"/releases/{release.pk}/gates/{review.pk}/approve/"
    response = client_as(approver).post(url, {"decision": "reject"}, headers=HTMX)
    assert "A rejection needs a comment." in response.content.decode()
    assert "HX-Trigger" not in response.headers


@pytest.mark.parametrize(
    "change",
    [
        "approval",  # a sign-off recorded outside the services
        "result",  # a gate's result, changed by hand
        "gate",  # a gate made inactive in the admin
        "release",  # the release leaves the phases that ask for sign-off
    ],
)
def test_the_navigation_count_follows_every_row_it_reads(
    client_as, project, manager, approver, change
):
    """The count is kept per process under the version of the rows it reads
    (liftoff.kept): a change to any of them, made anywhere, shows on the next page."""
    from gates.models import Approval, GateResult
    from releases.models import Release

    release = _release(project, manager, "1.0.0")
    _result(release, project, "coverage", 70)  # failed: waivable
    client = client_as(approver)
    before = _nav_count(client.get("/releases/").content.decode())
    assert before == _nav_count(client.get("/runs/").content.decode()) > 0  # kept
    manual = QualityGate.objects.filter(project=project, kind="manual").first()
    if change == "approval":
        Approval.objects.create(
            release=release,
            gate=manual,
            approver=approver,
            decision="approve",
            commit=HEAD,
        )
        expected = before - 1
    elif change == "result":
        GateResult.objects.filter(release=release).update(value=95, status="passed")
        expected = before - 1
    elif change == "gate":
        QualityGate.objects.filter(pk=manual.pk).update(active=False)
        expected = before - 1
    else:
        Release.objects.filter(pk=release.pk).update(status=ReleaseStatus.PREPARING)
        expected = 0
    assert _nav_count(client.get("/releases/").content.decode()) == expected
