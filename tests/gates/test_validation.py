"""The validation run through a real worker: it checks out the release head, runs the
project's commands with the real tools, and records their reports as gate results."""

import json
import re
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from checklists.models import ChecklistItem, ItemKind
from checklists.services import checklist_item_update
from gates.defaults import DEFAULT_GATES
from gates.models import GateResult, GateStatus, ValidationCommand
from gates.run_kinds import checkout_path, validation_root
from gates.selectors import release_gates
from gates.services import (
    approval_record,
    licence_policy_save,
    release_validate,
    validation_command_save,
    waiver_grant,
)
from releases.models import Project, Release, ReleaseStatus
from releases.policy import project_created, release_blockers
from releases.services import (
    release_create,
    release_git_facts_record,
    release_prepare,
    release_transition,
)
from runs.models import LogChunk, Run, RunStatus
from runs.services import run_retry
from tests.factories import ProjectFactory
from tests.helpers import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

CLOSED_PORT_PROXY = "http://127.0.0.1:9"


@pytest.fixture
def air_gapped(monkeypatch):
    """Every proxy variable points at a closed port, for this process and the worker it
    starts: nothing reaches the network, and no test depends on it."""
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(name, CLOSED_PORT_PROXY)


@pytest.fixture
def data_dir(settings, tmp_path) -> Path:
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    settings.DEBUG = False
    return settings.DATA_DIR


def _final(run, timeout=180):
    def done():
        run.refresh_from_db()
        return run.is_final

    wait_for(done, timeout=timeout, interval=0.5, message=f"run #{run.pk} to end")
    return run


def _log(run) -> str:
    return "".join(LogChunk.objects.filter(run=run).order_by("seq").values_list("text", flat=True))


def _results(run) -> dict[str, GateResult]:
    return {r.gate.key: r for r in GateResult.objects.filter(run=run).select_related("gate")}


# --- The demo, end to end -------------------------------------------------------------------
def test_the_demo_release_is_validated_with_real_tools(
    data_dir, air_gapped, manager, approver, start_worker
):
    """v0.3.0 of the demo: every automated gate measured offline by the real tools (none
    left pending), and then it reaches ready with sign-offs and a waiver of what an
    air-gapped worker cannot check: the demo's flow needs no workaround."""
    call_command("seed_demo", stdout=StringIO())
    project = Project.objects.get(slug="pepelugpt")
    assert list(project.validation_commands.values_list("name", flat=True)) == [
        "Tests under coverage",
        "Coverage report",
        "Security scan (bandit)",
        "Dependency audit (pip-audit)",
        "Performance report",
        "Accessibility report",
        "Dependency licences (CycloneDX SBOM)",
    ]
    release = release_create(actor=manager, project=project, release_type="minor")
    assert release.version == "0.3.0"
    start_worker()
    prepared = _final(release_prepare(release=release, actor=manager))
    assert prepared.status == RunStatus.SUCCEEDED, prepared.error
    release.refresh_from_db()

    run = _final(release_validate(release=release, actor=manager))

    assert run.status == RunStatus.SUCCEEDED, run.error
    release.refresh_from_db()
    assert release.status == ReleaseStatus.VALIDATING
    results = _results(run)
    automated = [g for g in DEFAULT_GATES if g["kind"] == "automated"]
    assert set(results) == {g["key"] for g in automated}
    for result in results.values():
        assert result.commit == release.head_commit and result.source == "validation"
    # Only the manual gates are pending: they wait for an approver, not for a measurement.
    pending = {v.gate.key for v in release_gates(release=release) if v.status == "pending"}
    assert pending == {g["key"] for g in DEFAULT_GATES if g["kind"] == "manual"}

    coverage = results["coverage"]
    assert coverage.status == GateStatus.PASSED, coverage.reason
    assert 90 <= coverage.value <= 100 and coverage.threshold == "≥ 90 %"
    assert coverage.report_name == "coverage.xml" and "<coverage" in coverage.report
    assert 'filename="pepelugpt/app.py"' in coverage.report  # the demo's own code, measured

    scan = results["security-scan"]
    assert (scan.status, scan.value, scan.threshold) == (GateStatus.PASSED, 0, "= 0 findings")
    assert json.loads(scan.report)["metrics"]["_totals"]["loc"] > 50

    audit = results["dependency-vulnerabilities"]
    assert audit.status == GateStatus.NOT_MEASURED and audit.value is None
    assert audit.reason.startswith("pip-audit.json is missing: the command exited 1")
    assert "could not be reached: nothing was checked" in audit.reason

    perf = results["performance-regression"]
    report = json.loads(perf.report)
    expected = round((report["value"] - report["baseline"]) / report["baseline"] * 100, 2)
    assert report["metric"] == "p95_ms" and report["baseline"] == 20.0
    assert perf.value == expected
    assert perf.status == (GateStatus.PASSED if expected <= 5 else GateStatus.FAILED)

    accessibility = results["accessibility"]
    assert (accessibility.status, accessibility.value) == (GateStatus.PASSED, 0)
    assert accessibility.reason == (
        "0 accessibility violations on 3 pages; checked by pepelugpt-a11y 1.0"
    )
    assert accessibility.report_name == "axe.json"
    assert json.loads(accessibility.report)[0]["testEngine"]["name"] == "pepelugpt-a11y"

    # The licences of the demo's declared tools (and what they pull in), read by
    # cyclonedx-py from the worker's environment: all on the default allow-list.
    licences = results["dependency-licences"]
    assert (licences.status, licences.value) == (GateStatus.PASSED, 0), licences.reason
    assert "packages pepelugpt depends on (of " in licences.reason
    assert licences.report_name == "sbom.json"
    assert "Not allowed: 0\n" in licences.report and "Unknown licence: 0\n" in licences.report
    assert re.search(r"\n  bandit [\d.]+ +allowed +Apache-2.0\n", licences.report)

    summary = run.steps.get(key="reports").summary
    assert f"coverage {coverage.value:g} % passed" in summary
    assert "dependency-vulnerabilities not measured" in summary
    log = _log(run)
    assert "[liftoff] ── Security scan (bandit) ──" in log
    assert f"{sys.executable} -m coverage run --branch" in log
    # The checkout is gone; the cached clone stays for the next run.
    assert not checkout_path(project, run).exists()
    assert (validation_root(project) / "cache" / ".git").is_dir()

    # What is left is people's work: sign-offs, ticks, and a waiver of what an air-gapped
    # worker could not check. Nothing waits for a measurement that never comes.
    left = release_blockers(release=release, to=ReleaseStatus.READY)
    assert not [b for b in left if "not measured yet" in b], left
    for view in release_gates(release=release):
        if view.gate.kind == "manual":
            approval_record(release=release, gate=view.gate, actor=approver, decision="approve")
        elif view.status != GateStatus.PASSED:
            waiver_grant(
                release=release,
                gate=view.gate,
                actor=approver,
                reason="The worker is air-gapped; audited on the connected CI instead.",
            )
    for item in ChecklistItem.objects.filter(release=release):
        if item.kind == ItemKind.SCENARIO:
            checklist_item_update(item=item, actor=manager, result="pass")
        else:
            checklist_item_update(item=item, actor=manager, done=True)
    release_transition(release=release, to=ReleaseStatus.READY, actor=manager)
    assert Release.objects.get(pk=release.pk).status == ReleaseStatus.READY


# --- A small repository of our own ----------------------------------------------------------
def _python(code: str) -> list[str]:
    return ["{python}", "-c", code]


@pytest.fixture
def release(git_remote, data_dir, manager):
    """A prepared release of a repository with a module, a failing check, and a stale
    coverage.xml and bandit.json committed by mistake (which must never count)."""
    bare, work = git_remote
    root = Path(work.working_dir)
    (root / "src").mkdir()
    (root / "src" / "sign.py").write_text(
        "def sign(x):\n    if x > 0:\n        return 'positive'\n    return 'not positive'\n"
    )
    (root / "check.py").write_text(
        "import sys\nsys.path.insert(0, 'src')\nfrom sign import sign\n"
        "sys.exit(0 if sign(1) == 'negative' else 1)\n"
    )
    (root / "coverage.xml").write_text('<coverage line-rate="1.0"></coverage>\n')
    (root / "bandit.json").write_text('{"results": [], "errors": []}\n')
    work.index.add(["src/sign.py", "check.py", "coverage.xml", "bandit.json"])
    head = work.index.commit("feat: sign").hexsha
    work.git.push("origin", "HEAD:refs/heads/main")

    project = ProjectFactory(slug="svc", name="Svc", repo_url=str(bare))
    project_created(project=project, actor=None)
    release = release_create(actor=manager, project=project, release_type="minor", version="1.0.0")
    release_transition(
        release=release, to=ReleaseStatus.PREPARING, actor=None, system_reason="test: skip checks"
    )
    release_git_facts_record(release=release, head_commit=head, prepared_at=timezone.now())
    return release


def _command(project, name, argv, fmt="none", report="", gate=None, **extra):
    gate_obj = project.quality_gates.get(key=gate) if gate else None
    return validation_command_save(
        actor=None,
        project=project,
        name=name,
        argv=argv,
        report_format=fmt,
        report_path=report,
        gate=gate_obj,
        **extra,
    )


def test_failed_tests_and_missing_reports_fail_their_gates_and_the_run_still_succeeds(
    release, manager, start_worker
):
    project = release.project
    _command(project, "Tests", ["{python}", "-m", "coverage", "run", "--source=src", "check.py"])
    _command(
        project,
        "Coverage report",
        ["{python}", "-m", "coverage", "xml", "-o", "coverage.xml"],
        "cobertura",
        "coverage.xml",
        "coverage",
    )
    _command(
        project,
        "Scanner that crashes",
        _python("raise SystemExit('scanner: no licence')"),
        "bandit",
        "bandit.json",
        "security-scan",
    )
    _command(
        project,
        "Accessibility",
        _python("import os; os.symlink('/etc/passwd', 'axe.json')"),
        "axe",
        "axe.json",
        "accessibility",
    )
    _command(project, "Environment", _python("import os; print(sorted(os.environ))"))
    start_worker()

    run = _final(release_validate(release=release, actor=manager))

    assert run.status == RunStatus.SUCCEEDED, run.error
    # The gates are recorded, so the run succeeds, but its status says not all went well.
    assert run.status_label == "Finished: 3 of 5 commands succeeded"
    results = _results(run)
    coverage = results["coverage"]
    # The real measurement of this run (3 of 4 lines), not the committed 100 %, and
    # failed because the tests it measured failed.
    assert coverage.value == 75.0 and coverage.status == GateStatus.FAILED
    assert coverage.reason.startswith("“Tests” exited 1, so this does not count")
    scan = results["security-scan"]
    # A missing report fails its gate, with the reason.
    assert scan.status == GateStatus.FAILED and scan.value is None
    assert scan.reason == "bandit.json is missing: the command exited 1 (scanner: no licence)."
    assert scan.run == run and scan.commit == release.head_commit
    assert "Tests exited 1" in run.steps.get(key="commands").summary
    # A report that leads out of the checkout is never read into the evidence.
    axe = results["accessibility"]
    assert axe.status == GateStatus.FAILED and axe.report == ""
    assert axe.reason == "axe.json points outside the checkout."
    # The project's commands do not see the worker's database URL or secret key.
    log = _log(run)
    assert "'LIFTOFF_RUN_ID'" in log
    assert "DATABASE_URL" not in log and "SECRET_KEY" not in log
    assert "removed coverage.xml found in the checkout" in log


def test_a_run_that_timed_out_is_retried_after_the_fix(release, manager, start_worker):
    project = release.project
    slow = _command(
        project,
        "Benchmark",
        _python("import time; time.sleep(60)"),
        "performance",
        "perf.json",
        "performance-regression",
        timeout_seconds=2,
    )
    start_worker()
    failed = _final(release_validate(release=release, actor=manager))
    assert failed.status == RunStatus.FAILED
    assert failed.error == "“Benchmark” ran past its time limit (2 s) and was ended."
    assert failed.steps.get(key="commands").status == "failed"
    assert not GateResult.objects.filter(run=failed).exists()
    assert not checkout_path(project, failed).exists()

    report = '{"metric": "p95_ms", "value": 19.0, "baseline": 20.0}'
    validation_command_save(
        actor=None,
        project=project,
        command=slow,
        name="Benchmark",
        argv=_python(f"open('perf.json', 'w').write({report!r})"),
        report_format="performance",
        report_path="perf.json",
        gate=slow.gate,
        timeout_seconds=60,
    )
    retry = _final(run_retry(run=failed, actor=manager))

    assert retry.status == RunStatus.SUCCEEDED, retry.error
    assert retry.retry_of_id == failed.pk and retry.params == {"commit": release.head_commit}
    perf = _results(retry)["performance-regression"]
    assert (perf.status, perf.value) == (GateStatus.PASSED, -5.0)
    assert perf.threshold == "≤ 5 %" and perf.report == report
    assert Run.objects.filter(kind="release.validate").count() == 2
    assert not checkout_path(project, retry).exists()


def test_a_commit_that_is_not_a_sha_is_refused_before_git_sees_it(release, manager, start_worker):
    from runs.services import run_create

    _command(release.project, "Nothing", _python("pass"))
    start_worker()
    run = _final(
        run_create(
            kind="release.validate",
            subject=release,
            scope=release.project.slug,
            requested_by=manager,
            params={"commit": "--upload-pack=touch /tmp/x"},
        )
    )
    assert run.status == RunStatus.FAILED
    assert "is not a commit id" in run.error
    assert not (Path(settings.DATA_DIR) / "validation" / "svc" / "cache").exists()


def test_only_active_commands_of_the_release_project_run(release, manager, start_worker):
    other = ProjectFactory(slug="other")
    _command(release.project, "Mine", _python("print('mine ran')"))
    _command(release.project, "Switched off", _python("print('off ran')"), active=False)
    _command(other, "Theirs", _python("print('theirs ran')"))
    start_worker()
    run = _final(release_validate(release=release, actor=manager))
    assert run.status == RunStatus.SUCCEEDED, run.error
    log = _log(run)
    assert "mine ran" in log and "off ran" not in log and "theirs ran" not in log
    assert Release.objects.get(pk=release.pk).status == ReleaseStatus.VALIDATING
    assert ValidationCommand.objects.count() == 3


# --- Licences --------------------------------------------------------------------------------
_SBOM = {
    "bomFormat": "CycloneDX",
    "specVersion": "1.6",
    "components": [
        {"name": "webby", "version": "2.0", "licenses": [{"license": {"id": "Apache-2.0"}}]},
        {"name": "tiny", "version": "1.1", "licenses": [{"expression": "MIT OR GPL-3.0-only"}]},
    ],
}


def test_the_licence_gate_judges_by_the_projects_own_allow_list(
    release, manager, admin_user, start_worker
):
    """A validation command leaves an SBOM; the run judges it by the list the project's
    admin set (here without Apache-2.0, which the default allows), and the gate fails
    naming the package."""
    project = release.project
    licence_policy_save(actor=admin_user, project=project, allowed=["MIT"])
    _command(
        project,
        "SBOM",
        _python(f"import json; json.dump({_SBOM!r}, open('sbom.json', 'w'))"),
        "cyclonedx",
        "sbom.json",
        "dependency-licences",
    )
    start_worker()

    run = _final(release_validate(release=release, actor=manager))

    assert run.status == RunStatus.SUCCEEDED, run.error
    result = _results(run)["dependency-licences"]
    assert (result.status, result.value) == (GateStatus.FAILED, 1)
    assert result.reason == "1 of 2 packages not allowed: webby 2.0 (Apache-2.0)"
    assert result.report.startswith("Licences of all 2 packages of the document, against")
    assert "\n  MIT\n" in result.report
