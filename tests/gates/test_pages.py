"""The gate, validation and approval pages: approvals and waivers through the views with
their refusals, evidence, the approvals inbox, constant queries."""

import re

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from gates.models import Approval, GateResultSource, QualityGate
from gates.selectors import approvals_waiting, approvals_waiting_count
from gates.services import gate_result_record, gate_save, validation_command_save
from liftoff.models import AuditEvent
from liftoff.roles import Role, user_roles
from releases.models import Release
from releases.policy import project_created
from runs.models import Run
from runs.services import run_create
from tests.factories import ProjectFactory, ReleaseFactory

pytestmark = pytest.mark.django_db

HEAD = "0123456789abcdef0123456789abcdef01234567"


HTMX = {"HX-Request": "true"}


@pytest.fixture
def project():
    project = ProjectFactory(slug="svc", name="Svc")
    project_created(project=project, actor=None)
    return project


def _release(project, manager, version="1.0.0", status="validating", head=HEAD):
    return ReleaseFactory(
        project=project,
        release_manager=manager,
        version=version,
        codename="Orion",
        status=status,
        head_commit=head,
    )


def _gate(project, key):
    return QualityGate.objects.get(project=project, key=key)


def _text(response):
    return response.content.decode()


def test_approve_and_reject_through_the_release_page(
    client_as, project, manager, approver, make_user
):
    release = _release(project, manager)
    gate = _gate(project, "security-review")
    url = f"/releases/{release.pk}/gates/{gate.pk}/approve/"
    client = client_as(approver)
    fragment = _text(
        client.post(url, {"decision": "approve", "comment": "Looks fine"}, headers=HTMX)
    )
    assert fragment.lstrip().startswith('<section id="release-gates"')
    assert "1 of 1" in fragment and "by approver-user" in fragment
    assert "Approved “Security review” for v1.0.0." in fragment  # the toast, out of band
    assert AuditEvent.objects.filter(action="gate.approved").count() == 1
    # Twice: one person counts once.
    fragment = _text(client.post(url, {"decision": "approve"}, headers=HTMX))
    assert "You have approved “Security review” already: one person counts once." in fragment
    # A rejection needs a comment (plain post: a toast and a redirect).
    other = client_as(make_user(Role.APPROVER, "second-approver"))
    response = other.post(url, {"decision": "reject"})
    assert response.status_code == 302
    assert response["Location"] == f"/releases/{release.pk}/#release-gates"
    page = _text(other.get(response["Location"]))
    assert "Say why you reject it. A rejection needs a comment." in page
    other.post(url, {"decision": "reject", "comment": "No threat model"})
    page = _text(other.get(f"/releases/{release.pk}/"))
    assert "Rejected by <strong>second-approver</strong>: “No threat model”" in page


def test_the_release_manager_cannot_approve_their_own_release(client_as, project, make_user):
    boss = make_user(Role.RELEASE_MANAGER, "boss")
    boss.groups.add(Group.objects.get(name=Role.APPROVER))
    release = _release(project, boss)
    gate = _gate(project, "security-review")
    client = client_as(boss)
    assert 'value="approve"' not in _text(client.get(f"/releases/{release.pk}/"))
    response = client.post(
        f"/releases/{release.pk}/gates/{gate.pk}/approve/", {"decision": "approve"}, follow=True
    )
    assert "You are the release manager of v1.0.0: someone else must approve its gates." in _text(
        response
    )


def test_a_gate_is_signed_only_by_its_role(client_as, project, manager, make_user):
    release = _release(project, manager)
    gate = _gate(project, "security-review")  # signed by approvers
    other_manager = client_as(make_user(Role.RELEASE_MANAGER))
    assert 'value="approve"' not in _text(other_manager.get(f"/releases/{release.pk}/"))
    response = other_manager.post(
        f"/releases/{release.pk}/gates/{gate.pk}/approve/", {"decision": "approve"}, follow=True
    )
    assert "may approve “Security review”." in _text(response)
    assert not Approval.objects.exists()


def test_a_stale_approval_is_marked_and_no_longer_counts(client_as, project, manager, approver):
    release = _release(project, manager)
    gate = _gate(project, "security-review")
    client_as(approver).post(
        f"/releases/{release.pk}/gates/{gate.pk}/approve/", {"decision": "approve"}
    )
    Release.objects.filter(pk=release.pk).update(head_commit="f" * 40)
    page = _text(client_as(manager).get(f"/releases/{release.pk}/gates/"))
    assert "0 of 1" in page
    assert "stale</span> approved by approver-user on an older commit" in page


def test_waive_a_failed_gate_and_the_waiver_shows(client_as, project, manager, approver):
    release = _release(project, manager)
    gate = _gate(project, "coverage")
    gate_result_record(
        release=release, gate=gate, source=GateResultSource.CI, value=82.5, commit=HEAD
    )
    url = f"/releases/{release.pk}/gates/{gate.pk}/waive/"
    client = client_as(approver)
    page = _text(client.get(f"/releases/{release.pk}/"))
    assert "Measured <strong>82.5 %</strong>, needs ≥ 90 %" in page
    assert ">Waive" in page
    # The rule is said before anyone types.
    assert "At least 10 characters: what makes this result acceptable" in page
    fragment = _text(client.post(url, {"reason": "later"}, headers=HTMX))
    # Refused: the reason's error sits beside its field, and what was typed stays.
    field = f"gate-{release.pk}-{gate.pk}-reason"
    assert f'<p class="error" id="{field}-error" role="alert">Give a reason of at least 10' in (
        fragment
    )
    assert re.search(rf'id="{field}"[^>]*value="later" aria-invalid="true"', fragment)
    refusal = '<p class="callout callout-error" role="alert">Write why the gate may be waived.</p>'
    assert refusal in fragment
    fragment = _text(
        client.post(url, {"reason": "Legacy module, covered by the e2e suite."}, headers=HTMX)
    )
    assert "Waived by <strong>approver-user</strong>" in fragment
    assert "Legacy module, covered by the e2e suite." in fragment
    # Shown wherever the gate is: the evidence page too.
    evidence = _text(client.get(f"/releases/{release.pk}/gates/{gate.pk}/evidence/"))
    assert "Legacy module, covered by the e2e suite." in evidence
    assert "Revoke the waiver" in evidence
    # A passing gate is not waived.
    passing = _gate(project, "security-scan")
    gate_result_record(release=release, gate=passing, source="ci", value=0, commit=HEAD)
    response = client.post(
        f"/releases/{release.pk}/gates/{passing.pk}/waive/",
        {"reason": "No reason to waive this at all."},
        follow=True,
    )
    assert "only a failed, unmeasured or pending gate is waived" in _text(response)


def test_a_gate_of_another_project_is_404(client_as, project, manager, approver):
    release = _release(project, manager)
    other = ProjectFactory()
    foreign = gate_save(actor=None, project=other, key="x", name="X", kind="manual")
    client = client_as(approver)
    assert client.get(f"/releases/{release.pk}/gates/{foreign.pk}/evidence/").status_code == 404
    url = f"/releases/{release.pk}/gates/{foreign.pk}/approve/"
    assert client.post(url, {"decision": "approve"}).status_code == 404


def test_evidence_page_shows_the_result_and_its_report(client_as, project, manager, stakeholder):
    release = _release(project, manager)
    gate = _gate(project, "security-scan")
    run = run_create(
        kind="release.prepare", subject=release, requested_by=manager, scope=project.slug
    )
    gate_result_record(
        release=release,
        gate=gate,
        source=GateResultSource.VALIDATION,
        value=2,
        commit=HEAD,
        report='{"results": [{"issue_severity": "HIGH", "test_id": "B602"}]}',
        report_name="bandit.json",
        run=run,
    )
    page = _text(client_as(stakeholder).get(f"/releases/{release.pk}/gates/{gate.pk}/evidence/"))
    assert "<dd>2 findings</dd>" in page
    assert "<dd>= 0 findings</dd>" in page
    assert f'<a href="/runs/{run.pk}/">validation run #{run.pk}</a>' in page
    assert f"<code>{HEAD}</code>" in page
    assert "2 is not = 0 findings." in page
    assert "<code>bandit.json</code>" in page
    assert "<pre" in page and "&quot;issue_severity&quot;: &quot;HIGH&quot;" in page


def test_blockers_are_listed_while_validating(client_as, project, manager):
    release = _release(project, manager)
    page = _text(client_as(manager).get(f"/releases/{release.pk}/"))
    assert "left before ready" in page
    assert "Pre-release checklist: “Vision alignment” is not ticked." in page
    assert "Gate “Security review” needs approval (0 of 1)." in page
    planned = _release(project, manager, version="1.1.0", status="planned")
    assert "left before" not in _text(client_as(manager).get(f"/releases/{planned.pk}/"))


def test_validate_refusal_is_a_toast(client_as, project, manager):
    release = _release(project, manager)  # validating, but never prepared
    response = client_as(manager).post(f"/releases/{release.pk}/validate/", follow=True)
    assert response.redirect_chain == [(f"/releases/{release.pk}/", 302)]
    assert "The release has no pushed head to validate yet. Prepare the release first" in _text(
        response
    )


def test_validate_starts_a_run_shown_live_on_the_release_page(client_as, project, manager):
    release = _release(project, manager)
    Release.objects.filter(pk=release.pk).update(prepared_at=timezone.now())
    validation_command_save(actor=None, project=project, name="Tests", argv=["{python}", "-V"])
    client = client_as(manager)
    # Offered once on each page: in the release page's action bar, on the gates page.
    assert _text(client.get(f"/releases/{release.pk}/")).count(">Validate</button>") == 1
    assert _text(client.get(f"/releases/{release.pk}/gates/")).count(">Validate</button>") == 1
    response = client.post(f"/releases/{release.pk}/validate/", follow=True)
    run = Run.objects.get(kind="release.validate")
    page = _text(response)
    assert f"Validating v1.0.0 (run #{run.pk})." in page
    # The run's progress fragment, polling itself, at the top of the page (like Prepare).
    assert f'id="run-{run.pk}-progress"' in page
    assert f'hx-get="/runs/{run.pk}/progress/"' in page


def test_approvals_page_lists_what_waits_with_evidence_and_acts(
    client_as, project, manager, approver
):
    release = _release(project, manager)
    gate_result_record(
        release=release, gate=_gate(project, "coverage"), source="ci", value=70, commit=HEAD
    )
    client = client_as(approver)
    page = _text(client.get("/approvals/"))
    assert "Svc v1.0.0 “Orion”" in page
    assert f"<code>{HEAD[:10]}</code>" in page
    assert "0 of " in page and "required done" in page
    for name in ["Security review", "Documentation complete", "Test coverage"]:
        assert name in page
    assert "Measured <strong>70 %</strong>, needs ≥ 90 %" in page
    assert '<input type="hidden" name="next" value="/approvals/">' in page
    # Three sign-offs and the failed coverage gate the approver may waive.
    assert '<span class="nav-count">4<span class="visually-hidden"> waiting</span>' in page
    gate = _gate(project, "security-review")
    response = client.post(
        f"/releases/{release.pk}/gates/{gate.pk}/approve/",
        {"decision": "approve", "next": "/approvals/"},
    )
    assert response["Location"] == "/approvals/"
    page = _text(client.get("/approvals/"))
    assert "Approved “Security review” for v1.0.0." in page
    assert '<span class="nav-count">3<span class="visually-hidden"> waiting</span>' in page
    # An outside `next` is ignored.
    response = client.post(
        f"/releases/{release.pk}/gates/{_gate(project, 'documentation').pk}/approve/",
        {"decision": "approve", "next": "https://evil.example/"},
    )
    assert response["Location"] == f"/releases/{release.pk}/#release-gates"


def test_approvals_page_is_honestly_empty(client_as, project, manager, approver, stakeholder):
    _release(project, manager, status="planned")
    for user in (approver, stakeholder, manager):
        page = _text(client_as(user).get("/approvals/"))
        assert "Nothing waits for your approval" in page
        assert "nav-count" not in page


def test_only_approvers_and_admins_see_the_count(
    client_as, project, manager, admin_user, stakeholder
):
    _release(project, manager)
    assert "nav-count" not in _text(client_as(manager).get("/"))
    assert "nav-count" not in _text(client_as(stakeholder).get("/"))
    assert "waiting</span>" in _text(client_as(admin_user).get("/"))


def test_approvals_page_makes_constant_queries(
    client_as, project, approver, make_user, django_assert_max_num_queries
):
    client = client_as(approver)
    client.get("/approvals/")
    counts = []
    for size in (1, 6):
        while Release.objects.filter(project=project).count() < size:
            n = Release.objects.filter(project=project).count()
            release = _release(project, make_user(Role.RELEASE_MANAGER), version=f"2.{n}.0")
            gate_result_record(
                release=release, gate=_gate(project, "coverage"), source="ci", value=1, commit=HEAD
            )
        with (
            django_assert_max_num_queries(12),
            CaptureQueriesContext(connection) as captured,
        ):
            page = _text(client.get("/approvals/"))
        assert page.count('class="card approval-release"') == size
        counts.append(len(captured))
    assert counts[0] == counts[1]


def test_revoking_a_waiver_from_the_page_blocks_the_release_again(
    client_as, project, manager, approver
):
    release = _release(project, manager)
    gate = _gate(project, "coverage")
    gate_result_record(release=release, gate=gate, source="ci", value=82.5, commit=HEAD)
    client = client_as(approver)
    client.post(
        f"/releases/{release.pk}/gates/{gate.pk}/waive/",
        {"reason": "Legacy module, covered by the e2e suite."},
    )
    url = f"/releases/{release.pk}/gates/{gate.pk}/waiver/revoke/"
    # A manager may not (the gate is signed by approvers): refused with a message.
    refused = client_as(manager).post(url, follow=True)
    assert "Only an approver may revoke the waiver of “Test coverage”." in _text(refused)
    assert "Waived by" in _text(client.get(f"/releases/{release.pk}/"))
    fragment = _text(client_as(approver).post(url, headers=HTMX))
    assert "Waived by" not in fragment and ">Waive" in fragment
    page = _text(client_as(manager).get(f"/releases/{release.pk}/"))
    assert "Gate “Test coverage” failed: 82.5, needs ≥ 90 %." in page


def test_the_navigation_count_on_other_pages_reads_at_most_six_queries(
    client_as, project, manager, approver
):
    """Every page an approver opens shows the count: the digest of the rows it reads
    (liftoff.kept), then, if one changed, releases, active gates, approvals and results
    (with their waivers' commits in the same query) and what the approvals sections count
    (emergency changes), never the reports, whatever the number of releases; the digest
    alone when nothing changed."""
    user_roles(approver)  # read by every page's access check before the navigation
    with CaptureQueriesContext(connection) as queries:
        assert approvals_waiting_count(user=approver) == 0
    # The digest, the releases in flight, the sections' counts (emergency changes).
    assert len(queries.captured_queries) == 3
    with CaptureQueriesContext(connection) as queries:
        assert approvals_waiting_count(user=approver) == 0
    assert len(queries.captured_queries) == 1  # kept: the digest alone
    counts = []
    for version in ("1.0.0", "1.1.0", "1.2.0", "1.3.0"):
        release = _release(project, manager, version=version)
        gate_result_record(
            release=release, gate=_gate(project, "coverage"), source="ci", value=70, commit=HEAD
        )
        with CaptureQueriesContext(connection) as queries:
            count = approvals_waiting_count(user=approver)
        counts.append(len(queries.captured_queries))
        assert not any('"report"' in q["sql"] for q in queries.captured_queries)
        full = approvals_waiting(user=approver)
        assert count == approvals_waiting_count(user=approver, waiting=full) == len(full)
        # Three sign-offs and the failed coverage gate, a release.
        assert count == 4 * (int(version.split(".")[1]) + 1)
    assert max(counts) <= 6, counts
    page = _text(client_as(approver).get("/releases/"))
    assert '<span class="nav-count">16<span class="visually-hidden"> waiting</span>' in page


def test_coverage_evidence_is_summarised_with_the_raw_report_behind_a_link(
    client_as, project, manager, stakeholder, make_user
):
    release = _release(project, manager)
    gate = _gate(project, "coverage")
    lines = '<line number="1" hits="1"/><line number="2" hits="0"/>'
    classes = "".join(
        f'<class name="m{i}" filename="app/m{i}.py"><lines>{lines if i < 2 else ""}'
        '<line number="9" hits="1"/></lines></class>'
        for i in range(42)
    )
    report = f'<coverage line-rate="0.834"><packages><package><classes>{classes}'
    report += "</classes></package></packages></coverage>"
    result = gate_result_record(
        release=release,
        gate=gate,
        source=GateResultSource.CI,
        value=83.4,
        commit=HEAD,
        report=report,
        report_name="coverage.xml",
    )
    client = client_as(stakeholder)
    page = _text(client.get(f"/releases/{release.pk}/gates/{gate.pk}/evidence/"))
    assert "Line coverage <strong>83.4 %</strong> over 42 files." in page
    assert "<td><code>app/m0.py</code></td><td>66.7 %</td><td>3</td>" in page
    assert "<pre" not in page  # the raw XML is behind the link, not on the page
    url = f"/releases/{release.pk}/gates/{gate.pk}/results/{result.pk}/report/"
    assert f'<a href="{url}">The raw report (coverage.xml)</a>' in page
    raw = client.get(url)
    assert raw.status_code == 200 and raw["Content-Type"] == "text/plain; charset=utf-8"
    assert raw.content.decode() == report
    # Another gate's or release's result is not found through this gate; nobody without a
    # role reads it.
    other = _gate(project, "security-scan")
    assert (
        client.get(
            f"/releases/{release.pk}/gates/{other.pk}/results/{result.pk}/report/"
        ).status_code
        == 404
    )
    assert client_as(make_user(None, "no-role")).get(url).status_code == 403
