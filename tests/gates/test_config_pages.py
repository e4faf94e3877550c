"""Project configuration pages of gates/: quality gates and validation commands.

Every role reads them, only admins edit; edits change what releases planned afterwards
get, never the checklists of releases already planned; bad input is refused with the
reason and changes nothing; every change is audited.
"""

import pytest
from django.utils.html import escape

from checklists.models import ChecklistTemplate
from gates.models import QualityGate, ValidationCommand
from gates.services import gate_result_record, gate_save, validation_command_save
from liftoff.models import AuditEvent
from releases.services import project_create, project_refs_record
from tests.factories import ReleaseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(admin_user):
    return project_create(
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


def _counts():
    return (
        ChecklistTemplate.objects.count(),
        QualityGate.objects.count(),
        ValidationCommand.objects.count(),
        AuditEvent.objects.count(),
    )


def _gate_post(**overrides):
    data = {
        "key": "lint-errors",
        "name": "Lint errors",
        "description": "",
        "kind": "automated",
        "comparator": "lte",
        "threshold": "0",
        "unit": "errors",
        "required_approvals": "",
        "approver_role": "approver",
        "order": "",
        "active": "on",
    }
    return {**data, **overrides}


def test_gates_are_listed_with_their_thresholds_and_approvals(
    client_as, stakeholder, admin_user, project
):
    gate_save(
        actor=admin_user,
        project=project,
        key="security-sign-off",
        name="Security sign-off",
        kind="manual",
        required_approvals=2,
        approver_role="release_manager",
    )
    page = client_as(stakeholder).get("/projects/svc/gates/").content.decode()
    assert "2 approvals from release manager" in page
    coverage = project.quality_gates.get(key="coverage")
    assert coverage.threshold_label in page and f"<code>{coverage.key}</code>" in page


def test_admin_creates_and_edits_gates(client_as, admin_user, project):
    client = client_as(admin_user)
    form = client.get("/projects/svc/gates/new/").content.decode()
    assert "<legend>Measurement</legend>" in form and "<legend>Sign-off</legend>" in form
    response = client.post("/projects/svc/gates/new/", _gate_post())
    assert response.status_code == 302 and response["Location"] == "/projects/svc/gates/"
    gate = project.quality_gates.get(key="lint-errors")
    assert gate.threshold_label == "≤ 0 errors" and gate.required_approvals == 1
    assert "≤ 0 errors" in client.get("/projects/svc/gates/").content.decode()

    edit = client.get(f"/projects/svc/gates/{gate.pk}/").content.decode()
    assert 'value="lint-errors"' in edit
    manual = _gate_post(kind="manual", required_approvals="3", approver_role="admin", active="")
    assert client.post(f"/projects/svc/gates/{gate.pk}/", manual).status_code == 302
    gate.refresh_from_db()
    assert (gate.kind, gate.required_approvals, gate.approver_role) == ("manual", 3, "admin")
    assert gate.threshold is None and not gate.active
    events = AuditEvent.objects.filter(action="gate.saved", object_id=str(gate.pk))
    assert events.count() == 2 and events.latest("seq").before["kind"] == "automated"


def _fieldset(page: str, kind: str) -> str:
    """The opening tag of the fieldset of `kind`'s fields."""
    start = page.index(f'data-shown-for="kind={kind}"')
    return page[page.rindex("<fieldset", 0, start) : page.index(">", start) + 1]


def test_the_gate_form_shows_the_fields_of_its_kind(client_as, admin_user, project):
    client = client_as(admin_user)
    new = client.get("/projects/svc/gates/new/").content.decode()
    assert "hidden" not in _fieldset(new, "automated")
    assert "hidden disabled" in _fieldset(new, "manual")
    review = project.quality_gates.get(key="security-review")
    edit = client.get(f"/projects/svc/gates/{review.pk}/").content.decode()
    assert "hidden disabled" in _fieldset(edit, "automated")
    assert "hidden" not in _fieldset(edit, "manual")
    # Re-rendered with an error: the kind that was posted shows, with the error beside
    # its field.
    post = _gate_post(kind="manual", required_approvals="")
    refused = client.post("/projects/svc/gates/new/", post)
    page = refused.content.decode()
    assert "hidden" not in _fieldset(page, "manual") and "hidden" in _fieldset(page, "automated")
    assert '<p class="error" role="alert">Between 1 and 20 approvals.</p>' in page


def test_the_fields_of_the_other_kind_are_ignored(client_as, admin_user, project):
    """A script (or an old form) may send them: they neither refuse the gate nor stay."""
    client = client_as(admin_user)
    manual = _gate_post(
        key="sign-off",
        kind="manual",
        comparator="xx",
        threshold="abc",
        unit="ms",
        required_approvals="2",
    )
    assert client.post("/projects/svc/gates/new/", manual).status_code == 302
    gate = project.quality_gates.get(key="sign-off")
    assert (gate.comparator, gate.threshold, gate.unit) == ("", None, "")
    assert gate.required_approvals == 2
    automated = _gate_post(required_approvals="999", approver_role="nobody")
    assert client.post("/projects/svc/gates/new/", automated).status_code == 302
    gate = project.quality_gates.get(key="lint-errors")
    assert (gate.required_approvals, gate.approver_role) == (1, "approver")
    assert gate.threshold_label == "≤ 0 errors"


@pytest.mark.parametrize(
    ("post", "message"),
    [
        (_gate_post(threshold=""), "An automated gate needs a threshold."),
        (_gate_post(comparator=""), "Choose how the value compares with the threshold."),
        (_gate_post(key="Lint Errors"), "lowercase letters, digits and hyphens"),
        (_gate_post(key="coverage"), "has a gate “coverage” already"),
        (_gate_post(kind="manual", required_approvals=""), "Between 1 and 20 approvals."),
        (_gate_post(kind="manual", approver_role="stakeholder"), "Select a valid choice"),
    ],
)
def test_bad_gate_input_is_refused_and_changes_nothing(
    client_as, admin_user, project, post, message
):
    assert project.quality_gates.filter(key="coverage").exists()
    before = _counts()
    response = client_as(admin_user).post("/projects/svc/gates/new/", post)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert _counts() == before


def _command_post(project, **overrides):
    gate = project.quality_gates.get(key="coverage")
    data = {
        "name": "Coverage",
        "argv": "{python}\n-m\npytest\n\n--cov-report=xml:reports/coverage.xml\n",
        "report_format": "cobertura",
        "report_path": "reports/coverage.xml",
        "gate": str(gate.pk),
        "timeout_seconds": "900",
        "order": "",
        "active": "on",
    }
    return {**data, **overrides}


def test_admin_configures_validation_commands(client_as, admin_user, stakeholder, project):
    client = client_as(admin_user)
    form = client.get("/projects/svc/validation/new/").content.decode()
    assert "never through a shell" in form and "{python}" in form
    # Only the project's automated gates can be measured by a report.
    manual = project.quality_gates.filter(kind="manual").first()
    assert manual is not None and f'value="{manual.pk}"' not in form

    response = client.post("/projects/svc/validation/new/", _command_post(project))
    assert response.status_code == 302 and response["Location"] == "/projects/svc/validation/"
    command = project.validation_commands.get()
    assert command.argv == ["{python}", "-m", "pytest", "--cov-report=xml:reports/coverage.xml"]
    assert command.timeout_seconds == 900 and command.gate.key == "coverage"

    page = client_as(stakeholder).get("/projects/svc/validation/").content.decode()
    # One command line, as a shell would quote it, not one argument per line.
    line = "{python} -m pytest --cov-report=xml:reports/coverage.xml"
    assert f'<td class="argv"><code>{line}</code></td>' in page
    assert "<code>reports/coverage.xml</code>" in page and "900 s" in page

    client = client_as(admin_user)
    edit = client.get(f"/projects/svc/validation/{command.pk}/").content.decode()
    assert "{python}\n-m\npytest" in edit
    post = _command_post(project, argv="make\ncheck", report_format="none", report_path="", gate="")
    assert client.post(f"/projects/svc/validation/{command.pk}/", post).status_code == 302
    command.refresh_from_db()
    assert command.argv == ["make", "check"] and command.gate is None

    assert client.post(f"/projects/svc/validation/{command.pk}/delete/").status_code == 302
    assert not project.validation_commands.exists()
    actions = list(
        AuditEvent.objects.filter(
            object_id=str(command.pk), action__startswith="validation_command"
        )
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert actions == ["validation_command.saved"] * 2 + ["validation_command.deleted"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"argv": "\n  \n"}, "Give the command as a list of arguments."),
        ({"report_path": "../coverage.xml"}, "without &#x27;..&#x27;"),
        ({"report_path": "/tmp/coverage.xml"}, "Use a relative path inside the checkout"),
        ({"report_path": ""}, "Name the report file this command writes."),
        ({"gate": ""}, "Choose the gate this report measures."),
        ({"timeout_seconds": "0"}, "greater than or equal to 1"),
    ],
)
def test_bad_command_input_is_refused_and_changes_nothing(
    client_as, admin_user, project, overrides, message
):
    before = _counts()
    response = client_as(admin_user).post(
        "/projects/svc/validation/new/", _command_post(project, **overrides)
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert _counts() == before


def test_a_command_line_quotes_arguments_with_spaces(client_as, stakeholder, admin_user, project):
    validation_command_save(
        actor=admin_user,
        project=project,
        name="Smoke",
        argv=["{python}", "-c", "print('hello world')", "a b"],
    )
    page = client_as(stakeholder).get("/projects/svc/validation/").content.decode()
    # {python} is the placeholder, left unquoted; the rest as a shell would quote it.
    line = "{python} -c 'print('\"'\"'hello world'\"'\"')' 'a b'"
    assert f"<code>{escape(line)}</code>" in page
    assert "<li><code>" not in page


def _unfed(page: str) -> str:
    start = page.find("<strong>Nothing feeds ")
    return page[start : page.find("</strong>", start)] if start >= 0 else ""


def test_the_gates_page_warns_when_nothing_feeds_an_automated_gate(
    client_as, stakeholder, admin_user, project
):
    """A new project's six automated gates have no command and no CI report: each is
    named. A command reporting to one, or a CI report for another, feeds it; an inactive
    command feeds nothing, and an inactive gate needs no feeding."""
    automated = {g.key: g for g in project.quality_gates.filter(kind="automated")}
    page = client_as(stakeholder).get("/projects/svc/gates/").content.decode()
    for gate in automated.values():
        assert f"“{gate.name}”" in _unfed(page)
    assert page.count("nothing feeds it</span>") == 6
    manual = project.quality_gates.filter(kind="manual").first()
    assert f"“{manual.name}”" not in _unfed(page)

    validation_command_save(
        actor=admin_user,
        project=project,
        name="Tests",
        argv=["{python}", "-m", "pytest"],
        report_format="cobertura",
        report_path="coverage.xml",
        gate=automated["coverage"],
    )
    validation_command_save(
        actor=admin_user,
        project=project,
        name="Old scan",
        argv=["bandit"],
        report_format="bandit",
        report_path="bandit.json",
        gate=automated["security-scan"],
        active=False,
    )
    project_refs_record(project=project, refs=[])  # synced: releases can be planned
    release = ReleaseFactory(project=project, status="validating", head_commit="a" * 40)
    gate_result_record(
        release=release,
        gate=automated["accessibility"],
        source="ci",
        value=0,
        commit="a" * 40,
    )
    QualityGate.objects.filter(pk=automated["performance-regression"].pk).update(active=False)
    warning = _unfed(client_as(stakeholder).get("/projects/svc/gates/").content.decode())
    names = {key for key, gate in automated.items() if f"“{gate.name}”" in warning}
    assert names == {"security-scan", "dependency-vulnerabilities", "dependency-licences"}


def test_the_gates_page_says_nothing_when_every_automated_gate_is_fed(
    client_as, stakeholder, admin_user, project
):
    project_refs_record(project=project, refs=[])  # synced: releases can be planned
    release = ReleaseFactory(project=project, status="validating", head_commit="a" * 40)
    for gate in project.quality_gates.filter(kind="automated"):
        gate_result_record(release=release, gate=gate, source="ci", value=0, commit="a" * 40)
    page = client_as(stakeholder).get("/projects/svc/gates/").content.decode()
    assert "Nothing feeds" not in page and "nothing feeds it" not in page


def test_admin_deletes_an_unused_gate_and_releases_in_flight_record_it(
    client_as, admin_user, project
):
    project_refs_record(project=project, refs=[])
    release = ReleaseFactory(project=project, status="staging", head_commit="a" * 40)
    gate = gate_save(actor=admin_user, project=project, key="typo", name="Typo", kind="manual")
    client = client_as(admin_user)
    edit = client.get(f"/projects/svc/gates/{gate.pk}/").content.decode()
    assert f'href="/projects/svc/gates/{gate.pk}/delete/"' in edit
    confirm = client.get(f"/projects/svc/gates/{gate.pk}/delete/").content.decode()
    assert "Delete “Typo”?" in confirm
    response = client.post(f"/projects/svc/gates/{gate.pk}/delete/")
    assert response["Location"] == "/projects/svc/gates/"
    assert not QualityGate.objects.filter(pk=gate.pk).exists()
    assert AuditEvent.objects.filter(action="gate.deleted", object_id=str(gate.pk)).exists()
    event = AuditEvent.objects.get(action="gate.deleted", object_id=str(release.pk))
    assert event.after["summary"] == "admin-user deleted gate “Typo”"


def test_a_gate_with_results_is_not_deleted(client_as, admin_user, project):
    project_refs_record(project=project, refs=[])
    release = ReleaseFactory(project=project, status="validating", head_commit="a" * 40)
    coverage = project.quality_gates.get(key="coverage")
    gate_result_record(release=release, gate=coverage, source="ci", value=95, commit="a" * 40)
    before = _counts()
    response = client_as(admin_user).post(f"/projects/svc/gates/{coverage.pk}/delete/", follow=True)
    assert "has results or sign-offs on releases: make it inactive instead" in (
        response.content.decode()
    )
    assert _counts() == before


@pytest.mark.parametrize("role", ["stakeholder", "approver", "manager"])
def test_only_admins_delete_gates(client_as, request, project, role):
    gate = project.quality_gates.get(key="coverage")
    before = _counts()
    client = client_as(request.getfixturevalue(role))
    assert client.get(f"/projects/svc/gates/{gate.pk}/delete/").status_code == 403
    assert client.post(f"/projects/svc/gates/{gate.pk}/delete/").status_code == 403
    assert _counts() == before
