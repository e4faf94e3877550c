"""The risk assessment matrix on the compliance report: the release type's default until a
release manager sets it, then theirs; audited, frozen in the evidence, refused to others,
bad input re-rendered with its messages."""

import json

import pytest
from django.utils import timezone

from liftoff.models import AuditEvent
from liftoff.roles import Role
from metrics.models import EvidenceSnapshot, RiskAssessment
from releases.services import release_transition
from tests.factories import ProjectFactory, ReleaseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def release(manager):
    return ReleaseFactory(
        project=ProjectFactory(slug="risky"),
        version="2.0.0",
        type="major",
        release_manager=manager,
        status="production",
        head_commit="c" * 40,
        tag="v2.0.0",
        prepared_at=timezone.now(),
    )


def _page(client, release):
    return client.get(f"/metrics/releases/{release.pk}/compliance/")


def _verdict(response) -> str:
    text = response.content.decode()
    return text.split('id="risk-matrix-verdict">')[1].split("</p>")[0]


def test_a_release_starts_from_its_types_default_then_the_managers_assessment(
    client_as, manager, stakeholder, release
):
    verdict = _verdict(_page(client_as(stakeholder), release))
    assert "Likelihood <strong>medium</strong> × impact <strong>high</strong> = 6" in verdict
    assert "nobody has assessed it yet" in verdict
    client = client_as(manager)
    response = client.post(
        f"/metrics/releases/{release.pk}/risk/",
        {"likelihood": "1", "impact": "2", "note": "Behind a flag; <b>one</b> tenant first."},
    )
    assert response.status_code == 302
    page = _page(client_as(stakeholder), release)
    verdict = _verdict(page)
    assert "Likelihood <strong>low</strong> × impact <strong>medium</strong> = 2" in verdict
    assert "<strong>low risk</strong>, assessed by manager-user" in verdict
    assert "Behind a flag; &lt;b&gt;one&lt;/b&gt; tenant first." in page.content.decode()
    assert 'aria-current="true" class="risk-here">2 <strong>← this release' in (
        page.content.decode()
    )
    event = AuditEvent.objects.get(action="release.risk_assessed")
    assert event.before is None and event.after["likelihood"] == 1
    # Stakeholders read the matrix, never its form.
    assert (
        'action="/metrics/releases/'
        not in page.content.decode().split("risk-heading")[1].split("</section>")[0]
    )


def test_the_assessment_is_frozen_with_the_evidence(client_as, manager, release):
    client_as(manager).post(
        f"/metrics/releases/{release.pk}/risk/", {"likelihood": "3", "impact": "3"}
    )
    release_transition(
        release=release, to="released", actor=manager, system_reason="The tag is on the remote."
    )
    frozen = json.loads(EvidenceSnapshot.objects.get(release=release).content)
    assert frozen["risk_matrix"]["score"] == 9 and frozen["risk_matrix"]["level"] == "high"
    assert frozen["risk_matrix"]["set_by"] == "manager-user"


@pytest.mark.parametrize("role", [Role.APPROVER, Role.STAKEHOLDER])
def test_only_managers_and_admins_assess_risk(client_as, make_user, release, role):
    response = client_as(make_user(role, f"who-{role}")).post(
        f"/metrics/releases/{release.pk}/risk/", {"likelihood": "1", "impact": "1"}
    )
    assert response.status_code == 403
    assert not RiskAssessment.objects.exists()


def test_the_service_refuses_an_approver(release, approver):
    from liftoff.errors import NotAllowed
    from metrics.services import risk_assessment_set

    with pytest.raises(NotAllowed):
        risk_assessment_set(release=release, actor=approver, likelihood=1, impact=1)


def test_bad_input_re_renders_the_report_with_its_messages(client_as, manager, release):
    response = client_as(manager).post(
        f"/metrics/releases/{release.pk}/risk/", {"likelihood": "7", "impact": ""}
    )
    assert response.status_code == 400
    text = response.content.decode()
    assert "Select a valid choice." in text and "This field is required." in text
    assert not RiskAssessment.objects.exists()
