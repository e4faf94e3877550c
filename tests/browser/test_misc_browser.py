"""In a real headless Chromium: the plan form keeps what was typed while the version
follows the type, a release's audit trail, the error pages, the copy button of a new API
token and the navigation on a phone; axe clean in light and dark."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from releases.services import project_refs_record
from tests.factories import ProjectFactory
from tests.helpers import axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _axe_light_and_dark(page):
    assert axe_violations(page) == []
    page.emulate_media(color_scheme="dark")
    assert axe_violations(page) == []
    page.emulate_media(color_scheme="light")


def test_the_plan_form_keeps_the_codename_while_the_version_follows_the_type(
    page, live_server, login_page, manager, csp_errors
):
    project = ProjectFactory(slug="svc", name="Svc", codename_pool=["Digital Oracle"])
    tag = {"kind": "tag", "name": "v0.3.0", "commit": "a" * 40, "subject": "v0.3.0"}
    project_refs_record(project=project, refs=[tag | {"committed_at": timezone.now()}])
    login_page(manager)
    page.goto(f"{live_server.url}/releases/new/?project=svc")
    version = page.get_by_label("Version")
    assert version.input_value() == "0.3.1"  # a patch: no commits to suggest otherwise

    page.get_by_label("Codename").fill("Comet Tail")
    page.get_by_label("Summary").fill("A new era")
    page.get_by_role("button", name="major", exact=True).click()

    expect(version).to_have_value("1.0.0")
    assert page.get_by_label("Codename").input_value() == "Comet Tail"
    assert page.get_by_label("Summary").input_value() == "A new era"
    assert page.get_by_label("Type of release").input_value() == "major"
    # The select too: choosing minor proposes 0.4.0, the typed fields stay.
    page.get_by_label("Type of release").select_option("minor")
    expect(version).to_have_value("0.4.0")
    assert page.get_by_label("Codename").input_value() == "Comet Tail"
    _axe_light_and_dark(page)
    page.get_by_role("button", name="Plan release").click()
    page.get_by_role("heading", name="v0.4.0 “Comet Tail”").wait_for()
    assert csp_errors == []
