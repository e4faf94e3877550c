"""The release page keeps each checklist's rendered items (per process) under a digest of
their rows, the reader's right to tick, their session and time zone: what it shows is
never older than the rows, and one session never gets another's forms."""

import re

import pytest
from django.contrib.auth.models import Group
from django.middleware.csrf import _unmask_cipher_token
from django.test import Client

from checklists.models import ChecklistItem
from liftoff.roles import Role
from releases.policy import project_created
from tests.factories import ProjectFactory, ReleaseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def release(manager):
    project = ProjectFactory(slug="svc", name="Svc")
    project_created(project=project, actor=None)
    return ReleaseFactory(project=project, release_manager=manager, status="validating")


def test_a_change_made_anywhere_shows_on_the_next_view(client_as, manager, release):
    item = ChecklistItem.objects.filter(release=release, kind="check").first()
    client = client_as(manager)
    assert item.title in client.get(f"/releases/{release.pk}/").content.decode()
    # Not through a service (an admin's edit, a data migration): the rows still decide.
    ChecklistItem.objects.filter(pk=item.pk).update(title="Renamed in the admin")
    page = client.get(f"/releases/{release.pk}/").content.decode()
    assert "Renamed in the admin" in page and f">{item.title}<" not in page


def test_a_release_manager_who_loses_the_role_loses_the_forms_at_once(client_as, manager, release):
    client = client_as(manager)
    assert 'name="done"' in client.get(f"/releases/{release.pk}/").content.decode()
    manager.groups.set([Group.objects.get(name=Role.STAKEHOLDER)])  # same session
    assert 'name="done"' not in client.get(f"/releases/{release.pk}/").content.decode()


def test_each_session_gets_forms_with_its_own_csrf_token(manager, release):
    sessions = [Client(), Client()]
    for client in sessions:
        client.force_login(manager)
    for client in sessions:
        page = client.get(f"/releases/{release.pk}/").content.decode()
        item_form = page[page.index('class="items"') :]
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', item_form).group(1)
        secret = client.cookies["csrftoken"].value
        assert _unmask_cipher_token(token) == secret
