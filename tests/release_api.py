"""What the checklists and gates API tests share: a small project of our own (two
automated gates, two manual ones, three checklists), a validating release of it and a
second approver (fixtures, offered to both folders by their conftest.py), and the
helpers `_validating` and `_post`."""

import pytest
from django.utils import timezone

from checklists.services import checklist_template_save
from gates.services import gate_save
from liftoff.roles import Role
from releases.models import Release, ReleaseStatus
from releases.services import release_create, release_git_facts_record
from tests.factories import ProjectFactory

HEAD = "a1b2c3d" + "0" * 33


@pytest.fixture
def project():
    project = ProjectFactory(slug="svc", name="Svc")
    for key, name, comparator, threshold, unit in [
        ("coverage", "Test coverage", "gte", 90, "%"),
        ("vulns", "High and critical vulnerabilities", "eq", 0, ""),
    ]:
        gate_save(
            actor=None,
            project=project,
            key=key,
            name=name,
            kind="automated",
            comparator=comparator,
            threshold=threshold,
            unit=unit,
        )
    for key, name, required in [
        ("security-review", "Security review", 1),
        ("docs", "Documentation complete", 2),
    ]:
        gate_save(
            actor=None,
            project=project,
            key=key,
            name=name,
            kind="manual",
            required_approvals=required,
        )
    for name, phase, items in [
        ("Pre-release", "preparation", "Branch cut\n[optional] Blog post drafted"),
        ("Manual tests", "validation", "[test] Smoke scenario"),
        ("Staging", "staging", "Health check green"),
    ]:
        checklist_template_save(
            actor=None, project=project, name=name, phase=phase, items_text=items
        )
    return project


def _validating(release):
    """The release as a finished preparation leaves it: pushed head, validating."""
    release_git_facts_record(release=release, head_commit=HEAD, prepared_at=timezone.now())
    Release.objects.filter(pk=release.pk).update(status=ReleaseStatus.VALIDATING)
    release.refresh_from_db()
    return release


@pytest.fixture
def release(project, manager):
    return _validating(
        release_create(actor=manager, project=project, release_type="minor", version="1.0.0")
    )


@pytest.fixture
def approver2(make_user):
    return make_user(Role.APPROVER, "approver-two")


def _post(client, url, body, **headers):
    return client.post(url, body, content_type="application/json", headers=headers)
