"""A release record a stakeholder can read: when it shipped and its notes first, pages of
its own (notes, gates, runs), releases recorded from old tags said to be so, and the
releases list with when each shipped and what comes next."""

import re
from datetime import date, timedelta

import pytest
from django.utils import timezone

from liftoff.roles import Role
from releases.models import ProjectRef
from releases.policy import project_created
from releases.services import release_record_shipped
from runs.services import run_create
from tests.factories import ProjectFactory, ReleaseFactory
from tests.runs import kinds  # noqa: F401 - registers the test kinds

pytestmark = pytest.mark.django_db


@pytest.fixture
def project():
    project = ProjectFactory(slug="svc", name="Svc")
    project_created(project=project, actor=None)
    return project


@pytest.fixture
def reader(client_as, make_user):
    return client_as(make_user(Role.STAKEHOLDER))


def test_a_released_release_says_when_and_shows_its_notes_first(project, reader, manager):
    shipped = timezone.now() - timedelta(days=3)
    release = ReleaseFactory(
        project=project,
        release_manager=manager,
        status="released",
        released_at=shipped,
        notes="## What changed\n\n- Faster pages",
    )
    page = reader.get(f"/releases/{release.pk}/").content.decode()
    assert re.search(
        rf'Released on <time datetime="[^"]+">{shipped.day} {shipped:%B %Y}</time>', page
    )
    assert page.index("What changed") < page.index("Quality gates")


def test_a_release_recorded_from_a_tag_says_so_instead_of_showing_an_open_process(
    project, reader, manager
):
    ProjectRef.objects.create(
        project=project, kind="tag", name="v0.1.0", commit="a" * 40, synced_at=timezone.now()
    )
    release = release_record_shipped(
        actor=None,
        project=project,
        version="0.1.0",
        codename="",
        summary="First",
        release_type="minor",
        released_at=timezone.now() - timedelta(days=90),
    )
    assert release.recorded
    page = reader.get(f"/releases/{release.pk}/").content.decode()
    assert "Recorded from the tag <code>v0.1.0</code>" in page
    assert "not prepared, validated or approved here" in page
    # No gates waiting for approval, no checklist with nothing ticked.
    assert "Quality gates" not in page and "needs approval" not in page
    assert 'id="release-checklists"' not in page and ">Checklists<" not in page


def test_each_part_of_a_release_has_a_page_of_its_own(project, reader, manager):
    release = ReleaseFactory(project=project, release_manager=manager, notes="## Hello")
    run = run_create(kind="test.slow", subject=release, scope="svc", requested_by=manager)
    overview = reader.get(f"/releases/{release.pk}/").content.decode()
    tabs = dict(re.findall(r'<li><a href="([^"]+)"[^>]*>([^<]+)</a></li>', overview))
    pages = ("", "notes/", "gates/", "checklists/", "runs/", "audit/")
    assert [tabs.get(f"/releases/{release.pk}/{p}") for p in pages] == [
        "Overview",
        "Notes",
        "Gates",
        "Checklists",
        "Runs",
        "Audit trail",
    ]
    for path in pages[1:]:
        other = reader.get(f"/releases/{release.pk}/{path}").content.decode()
        # Every page of the release has the same header, with its own tab current.
        assert f"v{release.version}" in other and 'aria-current="page">' in other
        assert re.search(rf'href="/releases/{release.pk}/{path}" aria-current="page"', other)
    notes = reader.get(f"/releases/{release.pk}/notes/").content.decode()
    assert "<h2>Hello</h2>" in notes
    assert re.search(r'href="/releases/\d+/notes/" aria-current="page">Notes<', notes)
    runs = reader.get(f"/releases/{release.pk}/runs/").content.decode()
    assert f'<a href="/runs/{run.pk}/">#{run.pk}</a>' in runs
    # Editing the notes stays with release managers.
    assert reader.get(f"/releases/{release.pk}/notes/edit/").status_code == 403


def test_the_releases_list_says_when_each_shipped_and_what_comes_next(project, reader, manager):
    soon = ReleaseFactory(
        project=project, version="2.0.0", status="planned", target_date=date(2027, 1, 10)
    )
    later = ReleaseFactory(
        project=project, version="2.1.0", status="staging", target_date=date(2027, 3, 1)
    )
    undated = ReleaseFactory(project=project, version="2.2.0", status="planned")
    shipped = ReleaseFactory(
        project=project,
        version="1.9.0",
        status="released",
        released_at=timezone.make_aware(timezone.datetime(2026, 11, 2, 12)),
    )
    listing = reader.get("/releases/").content.decode()
    assert '<th scope="col">Released</th>' in listing
    assert "<td>2026-11-02</td>" in listing
    upcoming = reader.get("/releases/?view=upcoming").content.decode()
    order = [upcoming.index(f">v{r.version}<") for r in (soon, later, undated)]
    assert order == sorted(order)
    assert f">v{shipped.version}<" not in upcoming
