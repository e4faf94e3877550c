"""The plan form (/releases/new/): the version follows the type and the project, and what
was typed stays, with htmx and without JavaScript alike."""

import pytest
from django.utils import timezone

from releases.models import Release
from releases.services import project_refs_record
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def _released(slug, version, pool=("Digital Oracle", "Quantum Guardian")):
    project = ProjectFactory(slug=slug, name=slug.title(), codename_pool=list(pool))
    tag = {
        "kind": "tag",
        "name": f"v{version}",
        "commit": "a" * 40,
        "subject": "release",
        "committed_at": timezone.now(),
    }
    project_refs_record(project=project, refs=[tag])
    return project


def _typed(**overrides):
    return {
        "project": "svc",
        "type": "patch",
        "version": "0.3.1",
        "codename": "Comet Tail",
        "proposed_codename": "Digital Oracle",
        "summary": "Wisdom enhancement phase",
        "target_date": "2026-12-24",
    } | overrides


def test_a_types_button_proposes_its_version_and_keeps_what_was_typed(client_as, manager):
    _released("svc", "0.3.0")
    client = client_as(manager)

    # Without JavaScript: the "major" button posts the whole form.
    response = client.post("/releases/new/", _typed(propose="major"))

    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="version" value="1.0.0"' in page
    assert '<option value="major" selected>' in page
    assert 'value="Comet Tail"' in page and 'value="Wisdom enhancement phase"' in page
    assert 'value="2026-12-24"' in page
    assert 'class="error"' not in page  # proposing is not submitting
    assert not Release.objects.exists()


def test_the_type_select_proposes_again_through_htmx(client_as, manager):
    _released("svc", "0.3.0")
    client = client_as(manager)

    # The select's change: htmx posts the form with an empty "propose" and its type.
    response = client.post("/releases/new/", _typed(type="minor", propose=""), headers=HTMX)

    fragment = response.content.decode()
    assert response.status_code == 200
    assert fragment.lstrip().startswith('<div id="release-plan"')
    assert 'name="version" value="0.4.0"' in fragment
    assert 'value="Comet Tail"' in fragment and 'value="2026-12-24"' in fragment


def test_an_untouched_codename_follows_the_project(client_as, manager):
    _released("svc", "0.3.0")
    _released("atlas", "4.12.0", pool=("Nebula Whisper",))
    client = client_as(manager)

    # The codename is still the one proposed for svc: atlas proposes its own.
    untouched = _typed(project="atlas", codename="Digital Oracle", propose="")
    page = client.post("/releases/new/", untouched).content.decode()

    assert 'name="version" value="4.12.1"' in page
    assert 'value="Nebula Whisper"' in page and 'value="Digital Oracle"' not in page


def test_a_type_with_nothing_to_propose_says_why_instead_of_failing(client_as, manager):
    ProjectFactory(slug="fresh", name="Fresh")
    client = client_as(manager)

    hotfix = client.post("/releases/new/", _typed(project="fresh", propose="hotfix"))
    bogus = client.get("/releases/new/?project=fresh&type=bogus")

    assert hotfix.status_code == 200 and bogus.status_code == 200
    assert "Nothing has been released yet, so there is nothing to hotfix." in hotfix.text
    assert 'name="version" value="0.1.0"' in hotfix.text
    assert 'value="Comet Tail"' in hotfix.text


def test_planning_still_plans(client_as, manager):
    _released("svc", "0.3.0")
    response = client_as(manager).post("/releases/new/", _typed(type="major", version="1.0.0"))
    assert response.status_code == 302
    release = Release.objects.get()
    assert (release.version, release.codename, release.summary) == (
        "1.0.0",
        "Comet Tail",
        "Wisdom enhancement phase",
    )


def test_a_stakeholder_may_not_propose(client_as, stakeholder):
    _released("svc", "0.3.0")
    response = client_as(stakeholder).post("/releases/new/", _typed(propose="major"))
    assert response.status_code == 403
