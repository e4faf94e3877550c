"""Checklists in a few clicks: the phases worked on now first and the others folded,
required and optional counted apart (release page, dashboard, approvals), Mark all done,
scenario results as buttons, the release-changed event, and the items Liftoff ticks
itself when its own runs did the work."""

import json
import re
from importlib import import_module

import pytest
from django.apps import apps
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from checklists.models import ChecklistItem, ChecklistTemplate, ItemKind
from checklists.selectors import PHASE_ORDER, releases_checklist_progress
from checklists.services import (
    checklist_complete_all,
    checklist_item_update,
    checklist_items_tick_by_liftoff,
    checklist_template_save,
    items_as_text,
    parse_items,
)
from liftoff.errors import DomainError, ValidationFailed
from liftoff.models import AuditEvent
from releases.policy import project_created
from releases.services import release_prepare, release_ship
from runs.services import run_claim, run_finish
from tests.factories import ProjectFactory, ReleaseFactory

pytestmark = pytest.mark.django_db

HEAD = "0123456789abcdef0123456789abcdef01234567"
HTMX = {"HX-Request": "true"}
CHANGED = "liftoff:release-changed"


@pytest.fixture
def project():
    project = ProjectFactory(slug="svc", name="Svc")
    project_created(project=project, actor=None)
    return project


def _release(project, manager, status="validating", version="1.0.0"):
    return ReleaseFactory(
        project=project,
        release_manager=manager,
        version=version,
        codename="Orion",
        status=status,
        head_commit=HEAD,
    )


def _text(response):
    return response.content.decode()


def _checklist(release, name):
    return release.checklists.get(name=name)


def _phase_ids(page):
    return re.findall(r'<(?:section|details) id="phase-([a-z_]+)"', page)


# --- Phases: now first, the others folded, in the order they block -----------------------


def test_phases_are_ordered_by_the_move_they_block():
    # The security checklist blocks `ready`: it sits with validation, not after post-release.
    assert [p.value for p in PHASE_ORDER] == [
        "preparation",
        "validation",
        "security",
        "staging",
        "production",
        "post_release",
    ]


def test_the_phases_worked_on_now_come_first_and_the_others_are_folded(client_as, project, manager):
    release = _release(project, manager, status="validating")
    page = _text(client_as(manager).get(f"/releases/{release.pk}/"))
    # Validation and security now; preparation still has open required items (it blocks
    # `ready` too), so it is open as well; the later phases are folded with their counts.
    assert _phase_ids(page) == [
        "validation",
        "security",
        "preparation",
        "staging",
        "production",
        "post_release",
    ]
    for phase in ("validation", "security", "preparation"):
        assert f'<section id="phase-{phase}"' in page
    for phase in ("staging", "production", "post_release"):
        assert f'<details id="phase-{phase}" class="phase-checklists phase-folded">' in page
    folded = page[page.index('<details id="phase-staging"') :]
    summary = folded[: folded.index("</summary>")]
    assert "Staging" in summary and "0 of 6 required done" in summary
    assert '<span id="checklists-now"></span>' in page
    assert "{#" not in page and "#}" not in page  # no template comment shown as text
    full = _text(
        client_as(manager).get(f"/checklists/{_checklist(release, 'Oracle mode validation').pk}/")
    )
    assert "{#" not in full and "#}" not in full
    # The jump links name every phase, in the page's order.
    nav = page[page.index('aria-label="Checklist phases"') :]
    nav = nav[: nav.index("</nav>")]
    assert re.findall(r'href="#phase-([a-z_]+)"', nav) == _phase_ids(page)

    # Once preparation is done, it folds too.
    for item in ChecklistItem.objects.filter(release=release, checklist__phase="preparation"):
        checklist_item_update(item=item, actor=manager, done=True)
    page = _text(client_as(manager).get(f"/releases/{release.pk}/"))
    assert '<details id="phase-preparation"' in page
    assert _phase_ids(page)[:2] == ["validation", "security"]


def test_a_preparing_release_opens_only_its_preparation(client_as, project, manager):
    release = _release(project, manager, status="preparing")
    page = _text(client_as(manager).get(f"/releases/{release.pk}/"))
    assert _phase_ids(page)[0] == "preparation"
    assert page.count('<section id="phase-') == 1
    assert page.count("phase-folded") == 5


# --- Required and optional apart ----------------------------------------------------------


def _tick_one_required_and_one_optional(release, manager):
    required = ChecklistItem.objects.get(release=release, title="Vision alignment")
    optional = ChecklistItem.objects.get(release=release, title="Metrics analysis")
    assert required.required and not optional.required
    checklist_item_update(item=required, actor=manager, done=True)
    checklist_item_update(item=optional, actor=manager, done=True)


def test_required_and_optional_are_counted_apart_on_the_release_page(client_as, project, manager):
    release = _release(project, manager)
    _tick_one_required_and_one_optional(release, manager)
    page = _text(client_as(manager).get(f"/releases/{release.pk}/"))
    # The pre-release checklist has only required items; the retrospective only optional.
    assert "1 of 7 required done" in page
    assert "1 of 8 optional done" in page
    assert "of 8 required" not in page
    pre = _checklist(release, "Pre-release checklist")
    assert f'<progress max="7" value="1" aria-label="{pre.name} progress"></progress>' in page


def test_a_checklist_with_both_kinds_says_both(client_as, project, manager):
    release = _release(project, manager)
    item = ChecklistItem.objects.get(release=release, title="Localization")
    ChecklistItem.objects.filter(pk=item.pk).update(required=False)
    page = _text(client_as(manager).get(f"/releases/{release.pk}/"))
    assert "0 of 6 required done · 0 of 1 optional" in page


def test_dashboard_and_approvals_show_required_and_optional_apart(
    client_as, project, manager, approver
):
    release = _release(project, manager)
    _tick_one_required_and_one_optional(release, manager)
    # Defaults: 40 required items (7 + 12 + 11 + 6 + 4) and 8 optional ones.
    expected = "1 of 40 required done · 1 of 8 optional"
    client = client_as(approver)
    assert f"checklists {expected}" in _text(client.get("/"))
    approvals = _text(client.get("/approvals/"))
    assert expected in approvals
    assert '<progress max="40" value="1" aria-label="Checklists of v1.0.0"></progress>' in approvals
    assert "of 48" not in approvals  # the old mixed count


def test_release_progress_is_one_query_for_many_releases(
    project, manager, django_assert_num_queries
):
    releases = [_release(project, manager, version=f"1.{i}.0") for i in range(3)]
    _tick_one_required_and_one_optional(releases[0], manager)
    with django_assert_num_queries(1):
        progress = releases_checklist_progress(release_ids=[r.pk for r in releases])
    first = progress[releases[0].pk]
    assert (first.required_done, first.required_total) == (1, 40)
    assert (first.optional_done, first.optional_total) == (1, 8)
    assert progress[releases[1].pk].label == "0 of 40 required done · 0 of 8 optional"


# --- Mark all done ----------------------------------------------------------------------


def test_mark_all_done_ticks_the_open_checks_only_and_audits_each(client_as, project, manager):
    release = _release(project, manager)
    pre = _checklist(release, "Pre-release checklist")
    first, second = pre.items.order_by("pk")[:2]
    checklist_item_update(item=first, actor=manager, done=True)
    checklist_item_update(item=second, actor=manager, note="Mine")
    client = client_as(manager)
    response = client.post(
        f"/checklists/{pre.pk}/complete/", {"note": "Signed off in the review"}, headers=HTMX
    )
    assert response.status_code == 200
    assert json.loads(response["HX-Trigger"]) == {CHANGED: {}}
    fragment = _text(response)
    assert fragment.lstrip().startswith('<div class="checklist-body"')
    assert "7 of 7 required done" in fragment
    assert "Marked 6 items of “Pre-release checklist” done." in fragment  # the toast
    assert "Mark all done" not in fragment  # nothing left to tick
    items = {i.pk: i for i in pre.items.all()}
    assert all(i.done for i in items.values())
    # The note goes where there was none; a colleague's note stays.
    assert items[second.pk].note == "Mine"
    assert {i.note for pk, i in items.items() if pk not in {first.pk, second.pk}} == {
        "Signed off in the review"
    }
    events = AuditEvent.objects.filter(action="checklist_item.ticked", after__via="mark all done")
    assert events.count() == 6  # the one ticked before is not ticked again
    assert {e.actor_id for e in events} == {manager.pk}


def test_mark_all_done_leaves_test_scenarios_to_their_results(client_as, project, manager):
    release = _release(project, manager)
    oracle = _checklist(release, "Oracle mode validation")
    page = _text(client_as(manager).get(f"/releases/{release.pk}/"))
    # Only scenarios: nothing a bulk tick could do, so no button.
    assert f'action="/checklists/{oracle.pk}/complete/"' not in page
    response = client_as(manager).post(f"/checklists/{oracle.pk}/complete/", headers=HTMX)
    assert "Every check of “Oracle mode validation” was done already." in _text(response)
    assert "HX-Trigger" not in response  # nothing changed
    assert not oracle.items.filter(done=True).exists()
    assert not oracle.items.exclude(result="").exists()


def test_mark_all_done_without_javascript_redirects_back(client_as, project, manager):
    release = _release(project, manager)
    staging = _checklist(release, "Staging validation checklist")
    client = client_as(manager)
    response = client.post(f"/checklists/{staging.pk}/complete/", {"note": ""})
    assert response.status_code == 302
    assert response["Location"] == f"/releases/{release.pk}/#checklist-{staging.pk}"
    page = _text(client.get(response["Location"]))
    assert "Marked 6 items of “Staging validation checklist” done." in page
    assert not staging.items.filter(done=False).exists()
    assert set(staging.items.values_list("note", flat=True)) == {""}


@pytest.mark.parametrize("role", ["stakeholder", "approver"])
def test_only_a_release_manager_marks_all_done(client_as, project, manager, request, role):
    release = _release(project, manager)
    pre = _checklist(release, "Pre-release checklist")
    client = client_as(request.getfixturevalue(role))
    assert client.post(f"/checklists/{pre.pk}/complete/", {"note": "x"}).status_code == 403
    assert client.post(f"/checklists/{pre.pk}/complete/", headers=HTMX).status_code == 403
    assert client.get(f"/checklists/{pre.pk}/complete/").status_code in {403, 405}
    assert not ChecklistItem.objects.filter(release=release, done=True).exists()
    page = _text(client.get(f"/releases/{release.pk}/"))
    assert "Mark all done" not in page


def test_mark_all_done_is_refused_on_a_closed_release(client_as, project, manager):
    release = _release(project, manager, status="cancelled")
    pre = _checklist(release, "Pre-release checklist")
    client = client_as(manager)
    page = _text(client.get(f"/releases/{release.pk}/"))
    assert "Mark all done" not in page
    response = client.post(f"/checklists/{pre.pk}/complete/", headers=HTMX)
    assert response.status_code == 200
    assert "v1.0.0 is cancelled: its checklists and gates are closed." in _text(response)
    assert "HX-Trigger" not in response
    response = client.post(f"/checklists/{pre.pk}/complete/", follow=True)
    assert "v1.0.0 is cancelled" in _text(response)
    assert not pre.items.filter(done=True).exists()


def test_a_too_long_note_is_shown_beside_the_field_and_nothing_is_ticked(
    client_as, project, manager
):
    release = _release(project, manager)
    pre = _checklist(release, "Pre-release checklist")
    response = client_as(manager).post(
        f"/checklists/{pre.pk}/complete/", {"note": "x" * 2001}, headers=HTMX
    )
    fragment = _text(response)
    assert f'id="checklist-{pre.pk}-note-error" role="alert"' in fragment
    assert "at most 2000 characters" in fragment
    assert 'aria-invalid="true"' in fragment
    assert not pre.items.filter(done=True).exists()


def test_mark_all_done_requires_post(client_as, project, manager):
    release = _release(project, manager)
    pre = _checklist(release, "Pre-release checklist")
    assert client_as(manager).get(f"/checklists/{pre.pk}/complete/").status_code == 405


# --- Results as buttons, and the release-changed event ------------------------------------


def test_a_scenario_result_is_four_buttons_with_the_current_one_pressed(
    client_as, project, manager
):
    release = _release(project, manager)
    scenario = ChecklistItem.objects.filter(release=release, kind=ItemKind.SCENARIO).first()
    client = client_as(manager)
    page = _text(client.get(f"/releases/{release.pk}/"))
    li = page[page.index(f'<li id="item-{scenario.pk}"') :]
    li = li[: li.index("</li>")]
    assert re.findall(r'<button type="submit" name="result" value="(\w*)"', li) == [
        "pass",
        "fail",
        "blocked",
        "na",
    ]
    assert li.count('aria-pressed="false"') == 4 and "<select" not in li
    assert f'role="group" aria-labelledby="item-{scenario.pk}-title"' in li
    response = client.post(
        f"/checklist-items/{scenario.pk}/", {"result": "fail", "was_result": ""}, headers=HTMX
    )
    assert json.loads(response["HX-Trigger"]) == {CHANGED: {}}
    fragment = _text(response)
    assert 'value="fail" class="button small result-button result-button-fail"' in fragment
    assert re.search(r'value="fail" class="[^"]+" aria-pressed="true"', fragment)
    assert "Clear<span" in fragment
    scenario.refresh_from_db()
    assert scenario.result == "fail" and not scenario.done


def test_every_change_sends_the_release_changed_event_and_a_refusal_does_not(
    client_as, project, manager
):
    release = _release(project, manager)
    item = ChecklistItem.objects.get(release=release, title="Vision alignment")
    client = client_as(manager)
    url = f"/checklist-items/{item.pk}/"
    for data in ({"done": "1", "was_done": "0"}, {"note": "Checked", "was_note": ""}):
        response = client.post(url, data, headers=HTMX)
        assert json.loads(response["HX-Trigger"]) == {CHANGED: {}}, data
    refused = client.post(url, {"result": "pass"}, headers=HTMX)
    assert "Only a test scenario has a result" in _text(refused)
    assert "HX-Trigger" not in refused
    # The blockers link to the item: its id stays `item-<pk>`.
    assert f'<li id="item-{item.pk}"' in _text(refused)


# --- What Liftoff did itself ---------------------------------------------------------------


def test_template_items_carry_their_machine_key_through_the_editor(project, admin_user):
    items = parse_items("[auto:tag] Release tag created | pushed\n[optional] [auto:notes] Notes")
    assert [(i["title"], i["auto_key"], i["required"]) for i in items] == [
        ("Release tag created", "tag", True),
        ("Notes", "notes", False),
    ]
    with pytest.raises(ValidationFailed) as refused:
        parse_items("[auto:deploy] Deployed\n[test] [auto:tag] A test")
    assert refused.value.errors["items"] == [
        "Line 1: unknown marker [auto:deploy] (use [auto:branch], [auto:version], "
        "[auto:notes], [auto:tag]).",
        "Line 2: a test scenario is run by a person, not by Liftoff.",
    ]
    production = ChecklistTemplate.objects.get(project=project, name="Production deployment")
    text = items_as_text(production.items.all())
    assert "[auto:tag] Release tag created | Annotated tag with the codename, pushed" in text
    # Saving the editor's text again keeps the key.
    checklist_template_save(
        actor=admin_user,
        project=project,
        name=production.name,
        phase="production",
        items_text=text,
        template=production,
    )
    assert production.items.get(title="Release tag created").auto_key == "tag"


def _finish(run, status="succeeded"):
    claimed = run_claim(run_id=run.pk, worker="test", task_id=f"t{run.pk}")
    assert claimed is not None
    assert run_finish(run=claimed, status=status)
    return claimed


def test_a_succeeded_ship_run_ticks_the_release_tag_item(client_as, project, manager):
    release = _release(project, manager, status="production")
    item = ChecklistItem.objects.get(release=release, title="Release tag created")
    assert item.auto_key == "tag"  # copied from the template when the release was planned
    run = _finish(release_ship(release=release, actor=manager))
    item.refresh_from_db()
    assert item.done and item.ticked_by_liftoff and item.updated_by is None
    assert item.note == f"Tag v1.0.0 pushed by run #{run.pk}"
    event = AuditEvent.objects.get(action="checklist_item.ticked", object_id=str(item.pk))
    assert event.actor is None and event.after["note"] == item.note
    # Nothing else was ticked.
    assert ChecklistItem.objects.filter(release=release, done=True).count() == 1
    page = _text(client_as(manager).get(f"/releases/{release.pk}/"))
    li = page[page.index(f'<li id="item-{item.pk}"') :]
    li = li[: li.index("</li>")]
    assert ">automatic</span>" in li and "ticked by Liftoff" in li
    assert f'value="Tag v1.0.0 pushed by run #{run.pk}"' in li

    # A person who unticks it owns it now.
    checklist_item_update(item=item, actor=manager, done=False)
    item.refresh_from_db()
    assert not item.done and not item.ticked_by_liftoff


def test_a_prepare_run_ticks_branch_version_and_notes_items(project, manager, admin_user):
    checklist_template_save(
        actor=admin_user,
        project=project,
        name="Release planning ritual",
        phase="preparation",
        items_text="[auto:branch] Branch pushed\n[auto:version] Version bumped\n"
        "[auto:notes] Notes drafted\nRoadmap read",
    )
    release = _release(project, manager, status="planned")
    run = _finish(release_prepare(release=release, actor=manager))
    ritual = _checklist(release, "Release planning ritual")
    notes = dict(ritual.items.filter(done=True).values_list("title", "note"))
    assert notes == {
        "Branch pushed": f"Branch {release.branch} pushed by run #{run.pk}",
        "Version bumped": f"Version 1.0.0 committed by run #{run.pk}",
        "Notes drafted": f"Release notes drafted by run #{run.pk}",
    }
    assert not ritual.items.get(title="Roadmap read").done
    # The tag item waits for Ship.
    assert not ChecklistItem.objects.get(release=release, title="Release tag created").done


def test_a_failed_run_ticks_nothing_and_a_persons_tick_is_kept(project, manager):
    release = _release(project, manager, status="production")
    item = ChecklistItem.objects.get(release=release, title="Release tag created")
    _finish(release_ship(release=release, actor=manager), status="failed")
    item.refresh_from_db()
    assert not item.done
    # Ticked by hand first (the tag was pushed outside Liftoff): Liftoff leaves it so.
    checklist_item_update(item=item, actor=manager, done=True, note="Tagged by hand")
    _finish(release_ship(release=release, actor=manager))
    item.refresh_from_db()
    assert item.done and not item.ticked_by_liftoff and item.updated_by == manager
    assert item.note == "Tagged by hand"
    assert AuditEvent.objects.filter(object_id=str(item.pk), actor__isnull=True).count() == 0


def test_the_data_migration_keys_the_default_tag_item_of_open_releases(project, manager):
    open_release = _release(project, manager, status="staging", version="1.0.0")
    shipped = _release(project, manager, status="released", version="0.9.0")
    ChecklistItem.objects.update(auto_key="")
    project.checklist_templates.get(name="Production deployment").items.update(auto_key="")
    migration = import_module("checklists.migrations.0005_auto_key_on_default_items")
    migration.set_keys(apps, connection.schema_editor())
    keyed = ChecklistItem.objects.filter(auto_key="tag")
    assert list(keyed.values_list("release_id", "title")) == [
        (open_release.pk, "Release tag created")
    ]
    assert shipped.pk not in keyed.values_list("release_id", flat=True)
    template_items = project.checklist_templates.get(name="Production deployment").items
    assert template_items.get(title="Release tag created").auto_key == "tag"
    assert template_items.filter(auto_key="tag").count() == 1


def test_liftoff_does_not_tick_a_closed_releases_items(project, manager):
    release = _release(project, manager, status="cancelled")
    with transaction.atomic():
        ticked = checklist_items_tick_by_liftoff(release=release, notes={"tag": "Tag pushed"})
    assert ticked == 0
    assert not ChecklistItem.objects.get(release=release, title="Release tag created").done


def test_the_service_refuses_mark_all_done_to_other_roles(project, manager, stakeholder):
    release = _release(project, manager)
    with pytest.raises(DomainError):
        checklist_complete_all(
            checklist=_checklist(release, "Pre-release checklist"), actor=stakeholder
        )
    assert not ChecklistItem.objects.filter(release=release, done=True).exists()


def test_a_checklist_and_a_tick_answer_in_constant_queries(
    client_as, project, manager, django_assert_max_num_queries
):
    release = _release(project, manager)
    pre = _checklist(release, "Pre-release checklist")
    client = client_as(manager)
    client.get(f"/checklists/{pre.pk}/", headers=HTMX)  # what a page keeps a few seconds
    counts = []
    for size in (2, 20):
        ChecklistItem.objects.bulk_create(
            ChecklistItem(
                checklist=pre,
                release=release,
                order=100 + i,
                title=f"Extra {size}-{i}",
                required=i % 2 == 0,
                auto_key="tag" if i % 3 == 0 else "",
            )
            for i in range(size)
        )
        item = pre.items.filter(done=False).order_by("pk").first()
        with CaptureQueriesContext(connection) as read:
            page = _text(client.get(f"/checklists/{pre.pk}/", headers=HTMX))
        assert f"Extra {size}-{size - 1}" in page
        with (
            django_assert_max_num_queries(25),
            CaptureQueriesContext(connection) as tick,
        ):
            client.post(f"/checklist-items/{item.pk}/", {"done": "1"}, headers=HTMX)
        counts.append((len(read), len(tick)))
    assert counts[0] == counts[1]
