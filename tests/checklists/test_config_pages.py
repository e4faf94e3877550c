"""Project configuration pages: checklist templates, quality gates, validation commands.

Every role reads them, only admins edit; edits change what releases planned afterwards
get, never the checklists of releases already planned; bad input is refused with the
reason and changes nothing; every change is audited.
"""

import pytest

from checklists.models import Checklist, ChecklistTemplate
from gates.models import QualityGate, ValidationCommand
from gates.services import validation_command_save
from liftoff.models import AuditEvent
from liftoff.roles import Role
from tests.factories import ReleaseFactory, synced_project
from tests.helpers import axe_violations

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(admin_user):
    return synced_project(
        actor=admin_user,
        slug="svc",
        name="Svc",
        repo_url="https://git.example.test/team/svc.git",
        codename_pool=["Digital Oracle", "Quantum Sage", "Stellar Wisp"],
    )


@pytest.fixture
def command(project, admin_user):
    return validation_command_save(
        actor=admin_user,
        project=project,
        name="Tests with coverage",
        argv=["{python}", "-m", "pytest", "--cov-report=xml:coverage.xml"],
        report_format="cobertura",
        report_path="coverage.xml",
        gate=project.quality_gates.filter(kind="automated").first(),
    )


def _urls(project, command):
    template = project.checklist_templates.first()
    gate = project.quality_gates.first()
    base = f"/projects/{project.slug}"
    index = [f"{base}/checklists/", f"{base}/gates/", f"{base}/validation/"]
    edit = [
        f"{base}/checklists/new/",
        f"{base}/checklists/{template.pk}/",
        f"{base}/checklists/{template.pk}/delete/",
        f"{base}/gates/new/",
        f"{base}/gates/{gate.pk}/",
        f"{base}/validation/new/",
        f"{base}/validation/{command.pk}/",
        f"{base}/validation/{command.pk}/delete/",
    ]
    return index, edit


def _release(project, manager, version):
    return ReleaseFactory(project=project, release_manager=manager, version=version)


def _counts():
    return (
        ChecklistTemplate.objects.count(),
        QualityGate.objects.count(),
        ValidationCommand.objects.count(),
        AuditEvent.objects.count(),
    )


def _template_post(**overrides):
    data = {
        "name": "Smoke test",
        "phase": "staging",
        "description": "",
        "order": "",
        "active": "on",
        "items": "Open the home page | It answers 200\n[test] Log in\n[optional] Check the logs",
    }
    return {**data, **overrides}


def test_admin_sees_every_configuration_page_with_edit_buttons(
    client_as, admin_user, project, command
):
    client = client_as(admin_user)
    index, edit = _urls(project, command)
    for url in index + edit:
        assert client.get(url).status_code == 200, url
    page = client.get(index[0]).content.decode()
    assert "Pre-release checklist" in page and "New template" in page and ">Edit<" in page
    assert "releases already planned keep their checklists" in page


@pytest.mark.parametrize("role", [Role.RELEASE_MANAGER, Role.APPROVER, Role.STAKEHOLDER])
def test_other_roles_read_the_configuration_but_cannot_change_it(
    client_as, make_user, project, command, role
):
    client = client_as(make_user(role))
    index, edit = _urls(project, command)
    for url in index:
        page = client.get(url)
        assert page.status_code == 200, url
        assert "New " not in page.content.decode() and ">Edit<" not in page.content.decode()
    assert "Pre-release checklist" in client.get(index[0]).content.decode()
    before = _counts()
    for url in edit:
        assert client.get(url).status_code == 403, url
        assert client.post(url, _template_post()).status_code == 403, url
    assert _counts() == before


def test_anonymous_visitors_are_sent_to_the_login_page(client, project, command):
    index, edit = _urls(project, command)
    for url in index + edit:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_unknown_project_or_a_row_of_another_project_is_404(
    client_as, admin_user, project, command
):
    other = synced_project(
        actor=admin_user, slug="other", name="Other", repo_url="https://git.example.test/o.git"
    )
    client = client_as(admin_user)
    assert client.get("/projects/nope/checklists/").status_code == 404
    template = project.checklist_templates.first()
    assert client.get(f"/projects/other/checklists/{template.pk}/").status_code == 404
    assert client.post(f"/projects/other/checklists/{template.pk}/delete/").status_code == 404
    assert client.get(f"/projects/other/validation/{command.pk}/").status_code == 404
    assert ChecklistTemplate.objects.filter(pk=template.pk).exists()
    assert other.checklist_templates.count() == project.checklist_templates.count()


def test_project_page_links_the_configuration(client_as, stakeholder, project):
    page = client_as(stakeholder).get("/projects/svc/").content.decode()
    for url in ("/projects/svc/checklists/", "/projects/svc/gates/", "/projects/svc/validation/"):
        assert f'href="{url}"' in page


def test_a_new_template_goes_to_new_releases_only(client_as, admin_user, manager, project):
    old = _release(project, manager, "0.1.0")
    client = client_as(admin_user)
    response = client.post("/projects/svc/checklists/new/", _template_post())
    assert response.status_code == 302 and response["Location"] == "/projects/svc/checklists/"
    assert "Smoke test" in client.get("/projects/svc/checklists/").content.decode()

    new = _release(project, manager, "0.2.0")
    smoke = Checklist.objects.get(release=new, name="Smoke test")
    items = [(i.title, i.description, i.kind, i.required) for i in smoke.items.all()]
    assert items == [
        ("Open the home page", "It answers 200", "check", True),
        ("Log in", "", "scenario", True),
        ("Check the logs", "", "check", False),
    ]
    assert not Checklist.objects.filter(release=old, name="Smoke test").exists()
    event = AuditEvent.objects.filter(action="checklist_template.saved").latest("seq")
    assert event.actor_id == admin_user.pk and event.after["items"] == 3


def test_editing_a_template_keeps_planned_releases_checklists(
    client_as, admin_user, manager, project
):
    template = project.checklist_templates.get(name="Pre-release checklist")
    old = _release(project, manager, "0.1.0")
    client = client_as(admin_user)
    page = client.get(f"/projects/svc/checklists/{template.pk}/").content.decode()
    # The editor is pre-filled in the line format.
    assert "Security review | Security assessment completed" in page
    response = client.post(
        f"/projects/svc/checklists/{template.pk}/",
        _template_post(name="Pre-release checklist", phase="preparation", items="Only item"),
    )
    assert response.status_code == 302
    new = _release(project, manager, "0.2.0")
    titles = lambda r: list(  # noqa: E731
        Checklist.objects.get(release=r, name="Pre-release checklist").items.values_list(
            "title", flat=True
        )
    )
    assert titles(new) == ["Only item"]
    assert "Security review" in titles(old) and len(titles(old)) == 7
    assert AuditEvent.objects.filter(action="checklist_template.saved", object_id=str(template.pk))


def test_switching_a_template_off_or_deleting_it_leaves_new_releases_without_it(
    client_as, admin_user, manager, project
):
    client = client_as(admin_user)
    staging = project.checklist_templates.get(name="Staging validation checklist")
    old = _release(project, manager, "0.1.0")
    post = _template_post(name=staging.name, phase="staging", items="One", active="")
    assert client.post(f"/projects/svc/checklists/{staging.pk}/", post).status_code == 302
    assert not Checklist.objects.filter(
        release=_release(project, manager, "0.2.0"), name=staging.name
    )

    retro = project.checklist_templates.exclude(phase="staging").last()
    confirm = client.get(f"/projects/svc/checklists/{retro.pk}/delete/").content.decode()
    assert "Delete template</button>" in confirm and "keep their copy" in confirm
    response = client.post(f"/projects/svc/checklists/{retro.pk}/delete/")
    assert response.status_code == 302
    assert not ChecklistTemplate.objects.filter(pk=retro.pk).exists()
    assert not Checklist.objects.filter(
        release=_release(project, manager, "0.3.0"), name=retro.name
    )
    assert Checklist.objects.filter(release=old, name=retro.name).exists()
    assert Checklist.objects.filter(release=old, name=staging.name).exists()
    event = AuditEvent.objects.get(action="checklist_template.deleted")
    assert event.before["name"] == retro.name


@pytest.mark.parametrize(
    ("post", "message"),
    [
        (_template_post(items="  \n"), "List at least one item."),
        (_template_post(items="[urgent] Call the CEO"), "unknown marker [urgent]"),
        (_template_post(name="pre-release CHECKLIST"), "has a template called"),
        (_template_post(phase="launch"), "Select a valid choice"),
    ],
)
def test_bad_template_input_is_refused_and_changes_nothing(
    client_as, admin_user, project, post, message
):
    client = client_as(admin_user)
    before = _counts()
    response = client.post("/projects/svc/checklists/new/", post)
    assert response.status_code == 400
    assert message in response.content.decode()
    # The form keeps what was typed.
    assert post["items"].strip() in response.content.decode()
    assert _counts() == before


def test_a_refused_edit_keeps_the_template_as_it_was(client_as, admin_user, project):
    template = project.checklist_templates.get(name="Pre-release checklist")
    client = client_as(admin_user)
    response = client.post(
        f"/projects/svc/checklists/{template.pk}/",
        _template_post(name="Pre-release checklist", items="Fine\n[nope] Not fine"),
    )
    assert (
        response.status_code == 400 and "Line 2: unknown marker [nope]" in response.content.decode()
    )
    template.refresh_from_db()
    assert template.items.count() == 7 and template.phase == "preparation"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_template_editor_in_a_browser_shows_errors_accessibly(page, live_server, login_page):
    from tests.factories import UserFactory, synced_project

    admin = UserFactory(username="cfg-admin", role=Role.ADMIN)
    synced_project(actor=admin, slug="svc", name="Svc", repo_url="https://git.example.test/svc.git")
    csp = []
    page.on(
        "console", lambda m: csp.append(m.text) if "Content Security Policy" in m.text else None
    )
    login_page(admin)
    page.goto(f"{live_server.url}/projects/svc/")
    page.get_by_role("link", name="Checklist templates").click()
    page.get_by_role("link", name="Edit Pre-release checklist").click()
    items = page.get_by_label("Items")
    assert "Security review | Security assessment completed" in items.input_value()
    items.fill("Fine\n[later] Not fine")
    page.get_by_role("button", name="Save template").click()
    page.get_by_text("Line 2: unknown marker [later]").wait_for()
    assert axe_violations(page) == []
    items.fill("Fine\n[test] Try it | on staging")
    page.get_by_role("button", name="Save template").click()
    page.get_by_role("heading", name="Checklist templates", level=1).wait_for()
    assert page.get_by_text("Try it").is_visible()
    assert axe_violations(page) == []
    page.goto(f"{live_server.url}/projects/svc/gates/new/")
    assert axe_violations(page) == []
    assert csp == []
