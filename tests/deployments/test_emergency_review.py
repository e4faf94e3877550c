"""Emergency changes on the approvals page: a hotfix let through a freeze window waits
there, with its reason, who overrode and when the review is due, until a second
approver (not the one who overrode) reviews it."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from deployments.models import Deployment, EmergencyChange
from deployments.services import environment_create
from liftoff.models import AuditEvent
from liftoff.roles import Role
from tests.factories import ProjectFactory, ReleaseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def second_approver(make_user):
    return make_user(Role.APPROVER, "approver-two")


@pytest.fixture
def change(admin_user, approver, manager):
    """An override by `approver`, recorded as deployment_start records one."""
    project = ProjectFactory(slug="svc", name="Svc")
    environment, _ = environment_create(
        project=project,
        actor=admin_user,
        name="production",
        phase="production",
        deploy_commands=[["./deploy.sh"]],
    )
    # A hotfix is what may override a freeze; the rows are made as deployment_start
    # makes them (its rules are tested with the service).
    release = ReleaseFactory(project=project, release_manager=manager, version="1.4.0")
    release.type = "hotfix"
    release.save(update_fields=["type"])
    deployment = Deployment.objects.create(
        environment=environment,
        release=release,
        strategy=environment.strategy,
        version=release.version,
        status="succeeded",
        freeze_override_reason="Payments are down for every EU customer.",
        freeze_override_by=approver,
    )
    return EmergencyChange.objects.create(
        deployment=deployment,
        reason="Payments are down for every EU customer.",
        approved_by=approver,
        review_due=timezone.now() + timedelta(hours=EmergencyChange.REVIEW_HOURS),
    )


def _review(pk: int) -> str:
    return f"/deployments/emergency-changes/{pk}/review/"


def test_the_approvals_page_lists_emergency_changes_to_review(client_as, second_approver, change):
    page = client_as(second_approver).get("/approvals/").content.decode()
    assert "Emergency changes to review" in page
    assert "Payments are down for every EU customer." in page
    assert "approver-user" in page and change.review_due.strftime("%Y-%m-%d %H:%M") in page
    assert f'href="{change.deployment.get_absolute_url()}"' in page
    assert f'action="{_review(change.pk)}"' in page
    assert "overdue" not in page.split("Emergency changes to review")[1]
    assert "Nothing waits for your approval" not in page


def test_an_overdue_review_is_highlighted(client_as, second_approver, change):
    EmergencyChange.objects.filter(pk=change.pk).update(
        review_due=timezone.now() - timedelta(hours=1)
    )
    page = client_as(second_approver).get("/approvals/").content.decode()
    assert 'class="emergency-change overdue"' in page
    assert '<span class="badge status-failed">overdue</span>' in page


def test_a_second_approver_reviews_an_emergency_change(client_as, second_approver, change):
    client = client_as(second_approver)
    response = client.post(_review(change.pk), {"note": "Checked the diff and the incident."})
    assert response.status_code == 302
    assert response["Location"] == "/approvals/#emergency-changes"
    change.refresh_from_db()
    assert change.reviewed_by == second_approver and change.reviewed_at is not None
    assert change.review_note == "Checked the diff and the incident."
    assert AuditEvent.objects.filter(action="deployment.emergency_reviewed").count() == 1
    page = client.get("/approvals/").content.decode()
    assert "Reviewed the emergency change" in page
    assert "Emergency changes to review" not in page
    assert "Nothing waits for your approval" in page


def test_the_approver_who_overrode_may_not_review_it(client_as, approver, change):
    client = client_as(approver)
    page = client.get("/approvals/").content.decode()
    assert "Emergency changes to review" in page
    assert f'action="{_review(change.pk)}"' not in page
    assert "You overrode this freeze: another approver reviews it." in page
    # The service refuses even a hand-made request; the page says why.
    response = client.post(_review(change.pk), {"note": "Looks fine to me."}, follow=True)
    assert "A second approver reviews it" in response.content.decode()
    change.refresh_from_db()
    assert change.reviewed_at is None


def test_a_reviewed_change_is_not_reviewed_twice(client_as, second_approver, admin_user, change):
    client_as(second_approver).post(_review(change.pk), {"note": ""})
    response = client_as(admin_user).post(_review(change.pk), {"note": "again"}, follow=True)
    assert "reviewed already" in response.content.decode()
    change.refresh_from_db()
    assert change.reviewed_by == second_approver


def test_stakeholders_and_managers_read_but_may_not_review(
    client, client_as, stakeholder, manager, change
):
    for user in (stakeholder, manager):
        page = client_as(user).get("/approvals/").content.decode()
        assert "Payments are down for every EU customer." in page
        assert f'action="{_review(change.pk)}"' not in page
        assert client_as(user).post(_review(change.pk), {"note": "x"}).status_code == 403
    client.logout()
    response = client.post(_review(change.pk), {"note": "x"})
    assert response.status_code == 302 and "/login" in response["Location"]
    change.refresh_from_db()
    assert change.reviewed_at is None


def test_an_unknown_change_is_404_and_a_get_changes_nothing(client_as, second_approver, change):
    client = client_as(second_approver)
    assert client.post(_review(999999), {"note": ""}).status_code == 404
    assert client.get(_review(change.pk)).status_code == 405


def _nav_count(client) -> str:
    """The navigation's Approvals count on the releases page (not the approvals page, which
    counts from what it has just read): the kept count."""
    page = client.get("/releases/").content.decode()
    found = re.search(
        r'id="nav-approvals-count">(.*?)</span></span>|id="nav-approvals-count">', page
    )
    assert found, "no approvals count in the navigation"
    return re.sub(r"<[^>]+>", "", found.group(1) or "").replace("waiting", "").strip()


def test_the_navigation_counts_a_change_for_those_who_may_review_it(
    client_as, approver, second_approver, change
):
    assert _nav_count(client_as(second_approver)) == "1"
    # The approver who overrode may not review it: nothing waits for them.
    assert _nav_count(client_as(approver)) == ""
    client = client_as(second_approver)
    client.post(_review(change.pk), {"note": "Checked the diff and the incident."})
    assert _nav_count(client) == ""  # the kept count follows the review
