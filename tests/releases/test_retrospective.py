"""The retrospective of a shipped release: the project's questions (the seed's by default,
editable), one answer per question and person, action items with owner, due date and
status; who may do what; every change audited; open items on their owners' dashboards."""

import importlib
from datetime import timedelta

import pytest
from django.apps import apps as django_apps
from django.utils import timezone

from liftoff.errors import Conflict, NotAllowed
from liftoff.models import AuditEvent
from liftoff.roles import Role
from releases.models import ActionItem, RetroAnswer, RetroTemplate
from releases.retro import DEFAULT_RETRO_GROUPS
from releases.services import action_item_create, action_item_set_status, retro_template_update
from tests.dashboard.test_roles import cards
from tests.factories import ReleaseFactory, synced_project

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(admin_user):
    return synced_project(
        actor=admin_user, slug="shop", name="Shop", repo_url="https://git.example.test/t/shop.git"
    )


@pytest.fixture
def other_project(admin_user):
    return synced_project(
        actor=admin_user, slug="blog", name="Blog", repo_url="https://git.example.test/t/blog.git"
    )


@pytest.fixture
def shipped(project, manager):
    return ReleaseFactory(
        project=project,
        version="1.0.0",
        release_manager=manager,
        status="released",
        released_at=timezone.now(),
    )


def _url(release, tail=""):
    return f"/releases/{release.pk}/retrospective/{tail}"


def test_a_new_project_gets_the_seed_s_three_groups_of_questions(project):
    groups = RetroTemplate.objects.get(project=project).groups
    assert [g["heading"] for g in groups] == [
        "🔮 Oracle Reflection",
        "📊 Compliance Review",
        "🌠 Cosmic Celebration",
    ]
    assert groups == DEFAULT_RETRO_GROUPS


def test_the_team_answers_once_each_and_edits_its_answer(client_as, shipped, stakeholder, approver):
    page = client_as(stakeholder).get(_url(shipped)).content.decode()
    assert "What wisdom did this release bring to our cosmic journey?" in page
    assert "Were all process gates followed correctly?" in page
    client = client_as(stakeholder)
    response = client.post(_url(shipped, "answer/"), {"question": "0-0", "text": "Patience."})
    assert response.status_code == 302
    client.post(_url(shipped, "answer/"), {"question": "0-0", "text": "Patience, and tests."})
    client_as(approver).post(_url(shipped, "answer/"), {"question": "0-0", "text": "Gates."})
    answers = RetroAnswer.objects.order_by("id")
    assert [(a.author.username, a.text) for a in answers] == [
        (stakeholder.username, "Patience, and tests."),
        (approver.username, "Gates."),
    ]
    page = client.get(_url(shipped)).content.decode()
    assert "Patience, and tests." in page and "Edit your answer" in page
    actions = list(
        AuditEvent.objects.filter(action__startswith="retro.").values_list("action", flat=True)
    )
    assert actions == ["retro.answered"] * 3


def test_bad_answers_re_render_with_a_message_and_hostile_text_is_inert(
    client_as, shipped, stakeholder
):
    client = client_as(stakeholder)
    response = client.post(_url(shipped, "answer/"), {"question": "9-9", "text": "Hello"})
    assert response.status_code == 400
    assert "This question is not asked here." in response.content.decode()
    response = client.post(_url(shipped, "answer/"), {"question": "0-1", "text": "x" * 4001})
    assert response.status_code == 400 and "Your answer is not saved" in response.content.decode()
    client.post(_url(shipped, "answer/"), {"question": "0-1", "text": "<script>alert(1)</script>"})
    page = client.get(_url(shipped)).content.decode()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


def test_the_retrospective_opens_only_when_the_release_ships(client_as, project, manager):
    planned = ReleaseFactory(project=project, version="2.0.0", release_manager=manager)
    client = client_as(manager)
    assert "opens when v2.0.0 ships" in client.get(_url(planned)).content.decode()
    response = client.post(_url(planned, "answer/"), {"question": "0-0", "text": "Early"})
    assert response.status_code == 400 and not RetroAnswer.objects.exists()


def test_managers_add_action_items_and_others_may_not(
    client_as, shipped, manager, approver, stakeholder
):
    due = (timezone.localdate() + timedelta(days=7)).isoformat()
    data = {"title": "Document the rollback", "owner": approver.pk, "due_date": due}
    assert client_as(stakeholder).post(_url(shipped, "actions/"), data).status_code == 403
    assert client_as(approver).post(_url(shipped, "actions/"), data).status_code == 403
    assert not ActionItem.objects.exists()
    response = client_as(manager).post(_url(shipped, "actions/"), data)
    assert response.status_code == 302
    item = ActionItem.objects.get()
    assert (item.owner, item.status, item.created_by) == (approver, "open", manager)
    assert AuditEvent.objects.filter(action="retro.action_created").count() == 1
    # Bad input: the form comes back with its messages.
    response = client_as(manager).post(_url(shipped, "actions/"), {"title": "", "owner": ""})
    page = response.content.decode()
    assert response.status_code == 400 and "This field is required." in page


def test_only_the_owner_or_a_manager_changes_an_item_s_status(
    client_as, shipped, manager, approver, make_user
):
    item = action_item_create(
        release=shipped, actor=manager, title="Add a smoke test", owner=approver
    )
    url = _url(shipped, f"actions/{item.pk}/status/")
    other = make_user(Role.APPROVER)
    response = client_as(other).post(url, {"status": "done"})
    assert response.status_code == 403 and "Only its owner" in response.content.decode()
    item.refresh_from_db()
    assert item.status == "open"
    assert client_as(approver).post(url, {"status": "in_progress"}).status_code == 302
    assert client_as(manager).post(url, {"status": "done"}).status_code == 302
    item.refresh_from_db()
    assert item.status == "done"
    changes = AuditEvent.objects.filter(action="retro.action_status_changed").order_by("seq")
    assert [(e.before, e.after) for e in changes] == [
        ({"status": "open"}, {"status": "in_progress"}),
        ({"status": "in_progress"}, {"status": "done"}),
    ]
    assert client_as(manager).post(url, {"status": "nonsense"}).status_code == 400


def test_open_action_items_appear_on_their_owner_s_dashboard(
    client_as, shipped, manager, stakeholder
):
    open_item = action_item_create(
        release=shipped,
        actor=manager,
        title="Share the release notes",
        owner=stakeholder,
        due_date=timezone.localdate() - timedelta(days=1),
    )
    done = action_item_create(release=shipped, actor=manager, title="Done one", owner=stakeholder)
    done.status = "done"
    done.save()
    page = cards(client_as(stakeholder))
    assert "My action items" in page and "Share the release notes" in page and "Overdue" in page
    assert f"#action-{open_item.pk}" in page and "Done one" not in page
    assert "Share the release notes" not in cards(client_as(manager))


def test_the_template_is_edited_and_bad_text_re_renders(
    client_as, project, shipped, manager, stakeholder
):
    url = f"/projects/{project.slug}/retrospective/"
    assert client_as(stakeholder).get(url).status_code == 403
    client = client_as(manager)
    assert "## 🔮 Oracle Reflection" in client.get(url).content.decode()
    response = client.post(url, {"text": "- orphan question\nplain line"})
    page = response.content.decode()
    assert response.status_code == 400
    assert "Line 1: a question before any" in page and "Line 2: start it with" in page
    assert client.post(url, {"text": "## Looking back\n- What went well?\n"}).status_code == 302
    assert RetroTemplate.objects.get(project=project).groups == [
        {"heading": "Looking back", "questions": ["What went well?"]}
    ]
    assert AuditEvent.objects.filter(action="retro.template_changed").count() == 1
    assert "What went well?" in client.get(_url(shipped)).content.decode()


def test_a_begun_retrospective_keeps_its_questions_when_the_template_changes(
    client_as, project, shipped, manager
):
    client = client_as(manager)
    client.post(_url(shipped, "answer/"), {"question": "1-0", "text": "Yes, all of them."})
    client.post(f"/projects/{project.slug}/retrospective/", {"text": "## New\n- Other?\n"})
    page = client.get(_url(shipped)).content.decode()
    assert "Were all process gates followed correctly?" in page and "Other?" not in page


def test_the_release_page_has_a_retrospective_card_and_tab(client_as, shipped, stakeholder):
    page = client_as(stakeholder).get(f"/releases/{shipped.pk}/").content.decode()
    assert "Open the retrospective" in page
    assert f'href="/releases/{shipped.pk}/retrospective/"' in page


def test_the_services_refuse_whoever_the_view_would_refuse(shipped, manager, approver, project):
    with pytest.raises(NotAllowed):
        action_item_create(release=shipped, actor=approver, title="Mine", owner=approver)
    with pytest.raises(NotAllowed):
        retro_template_update(project=project, actor=approver, text="## A\n- B?\n")


def test_a_status_changed_meanwhile_is_not_overwritten(shipped, manager, approver):
    item = action_item_create(release=shipped, actor=manager, title="Fix CI", owner=approver)
    stale = ActionItem.objects.get(pk=item.pk)
    action_item_set_status(item=item, actor=approver, status="done")
    with pytest.raises(Conflict):
        action_item_set_status(item=stale, actor=manager, status="dropped")
    assert ActionItem.objects.get(pk=item.pk).status == "done"


def test_the_data_migration_gives_existing_projects_the_seed_s_questions(project, other_project):
    """Projects made before retrospectives had no template: the migration's step adds the
    seed's, and leaves an edited one as it is."""
    migration = importlib.import_module("releases.migrations.0011_default_retro_template")
    RetroTemplate.objects.filter(project=project).delete()
    RetroTemplate.objects.filter(project=other_project).update(groups=[{"heading": "Mine"}])
    migration.install(django_apps, None)
    assert RetroTemplate.objects.get(project=project).groups == DEFAULT_RETRO_GROUPS
    assert RetroTemplate.objects.get(project=other_project).groups == [{"heading": "Mine"}]
