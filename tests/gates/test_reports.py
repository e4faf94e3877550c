"""Report parsers on the reports the real tools write (coverage.py, bandit, pip-audit), and
on missing, empty, malformed and wrongly shaped files: never a crash, never a false pass."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.version import Version
from pip_audit._format import JsonFormat
from pip_audit._service import ResolvedDependency, SkippedDependency, VulnerabilityResult

from gates.reports import coverage_summary, parse_report

CLOSED_PORT_PROXY = "http://127.0.0.1:9"


def run(args, cwd, env=None):
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


# --- Cobertura (coverage.py) --------------------------------------------------------------
def _coverage_project(tmp_path: Path, *, test_passes: bool) -> Path:
    """A module of 4 statements whose test runs 3 of them: 75 % line coverage."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "sign.py").write_text(
        "def sign(x):\n    if x > 0:\n        return 'positive'\n    return 'not positive'\n"
    )
    expected = "'positive'" if test_passes else "'negative'"
    (tmp_path / "check.py").write_text(
        "import sys\nsys.path.insert(0, 'src')\nfrom sign import sign\n"
        f"sys.exit(0 if sign(1) == {expected} else 1)\n"
    )
    tests = run(["-m", "coverage", "run", "--source=src", "check.py"], tmp_path)
    assert tests.returncode == (0 if test_passes else 1), tests.stderr
    xml = run(["-m", "coverage", "xml", "-o", "coverage.xml"], tmp_path)
    assert xml.returncode == 0, xml.stderr
    return tmp_path / "coverage.xml"


def test_coverage_xml_gives_the_line_coverage_in_per_cent(tmp_path):
    report = _coverage_project(tmp_path, test_passes=True)
    measured = parse_report("cobertura", report, 0)
    assert measured.value == 75.0
    assert not measured.failed
    assert 'line-rate="0.75"' in measured.report_text


def test_failed_tests_keep_their_coverage_but_fail(tmp_path):
    report = _coverage_project(tmp_path, test_passes=False)
    measured = parse_report("cobertura", report, 1)
    assert measured.value == 75.0
    assert measured.failed
    assert measured.reason == "the tests failed (exit 1)"


def test_a_coverage_report_of_another_shape_fails():
    measured = parse_report("cobertura", "<report><total>91</total></report>", 0)
    assert measured.value is None and measured.failed
    assert "not a Cobertura report" in measured.reason


# --- bandit -------------------------------------------------------------------------------
def test_bandit_counts_high_findings_and_names_files_it_could_not_scan(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "shell.py").write_text(
        "import subprocess\n\n\ndef go(cmd):\n    return subprocess.call(cmd, shell=True)\n"
    )
    (tmp_path / "src" / "broken.py").write_text("def broken(:\n")
    scan = run(["-m", "bandit", "-r", "src", "-f", "json", "-o", "bandit.json"], tmp_path)
    assert scan.returncode == 1  # bandit's "found something", not a failure

    measured = parse_report("bandit", tmp_path / "bandit.json", scan.returncode)
    assert measured.value == 1  # the shell=True call; the import itself is only LOW
    assert not measured.failed
    assert "src/shell.py:5" in measured.reason
    assert "could not scan 1 file: src/broken.py" in measured.reason
    assert json.loads(measured.report_text)["results"]


def test_bandit_on_clean_code_passes_with_zero(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "ok.py").write_text("def add(a, b):\n    return a + b\n")
    scan = run(["-m", "bandit", "-r", "src", "-f", "json", "-o", "bandit.json"], tmp_path)
    measured = parse_report("bandit", tmp_path / "bandit.json", scan.returncode)
    assert (scan.returncode, measured.value) == (0, 0)
    assert measured.reason == "0 high or critical findings"


def test_bandit_pointed_at_a_missing_folder_is_not_a_pass(tmp_path):
    scan = run(["-m", "bandit", "-r", "srcc", "-f", "json", "-o", "bandit.json"], tmp_path)
    assert scan.returncode == 0  # bandit itself sees nothing wrong
    measured = parse_report("bandit", tmp_path / "bandit.json", scan.returncode)
    assert measured.value is None and not measured.failed  # not measured
    assert "bandit scanned no code" in measured.reason and "srcc" in measured.reason


# --- pip-audit ----------------------------------------------------------------------------
def _pip_audit_json(results) -> str:
    """A report as pip-audit's own JSON formatter writes it (`-f json`)."""
    return JsonFormat(output_desc=False, output_aliases=False).format(results, [])


def test_pip_audit_counts_vulnerabilities_over_all_dependencies():
    vuln = VulnerabilityResult(
        id="PYSEC-2099-1",
        description="",
        fix_versions=[Version("2.0")],
        aliases={"CVE-2099-1"},
    )
    text = _pip_audit_json(
        {
            ResolvedDependency(name="Flask", version=Version("1.0")): [vuln, vuln],
            ResolvedDependency(name="requests", version=Version("2.32.0")): [],
            ResolvedDependency(name="jinja2", version=Version("2.0")): [vuln],
        }
    )
    measured = parse_report("pip_audit", text, 1)
    assert measured.value == 3
    assert "3 known vulnerabilities in 3 dependencies" in measured.reason
    assert "flask PYSEC-2099-1" in measured.reason

    clean = _pip_audit_json({ResolvedDependency(name="requests", version=Version("2.32.0")): []})
    assert parse_report("pip_audit", clean, 0).value == 0


def test_pip_audit_that_skipped_a_dependency_is_not_measured():
    text = _pip_audit_json(
        {
            ResolvedDependency(name="requests", version=Version("2.32.0")): [],
            SkippedDependency(name="ourlib", skip_reason="Dependency not found on PyPI"): [],
        }
    )
    measured = parse_report("pip_audit", text, 0)
    assert measured.value is None and not measured.failed
    assert "did not check 1 of 2 dependencies" in measured.reason
    assert "ourlib: Dependency not found on PyPI" in measured.reason


def test_pip_audit_without_its_vulnerability_service_is_not_measured(tmp_path):
    """The real tool on an air-gapped machine (every proxy a closed port): it checked
    nothing, and that must never read as "no vulnerabilities"."""
    (tmp_path / "requirements.txt").write_text("coverage==7.17.3\n")
    env = {k: v for k, v in os.environ.items() if k.lower() != "no_proxy"}
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        env[name] = CLOSED_PORT_PROXY
    args = ["-m", "pip_audit", "--strict", "--no-deps", "--disable-pip"]
    args += ["--progress-spinner", "off", "-r", "requirements.txt"]
    args += ["-f", "json", "-o", "pip-audit.json", "--cache-dir", str(tmp_path / "cache")]
    audit = run(args, tmp_path, env=env)
    assert audit.returncode != 0

    measured = parse_report(
        "pip_audit", tmp_path / "pip-audit.json", audit.returncode, output=audit.stderr
    )
    assert measured.value is None and not measured.failed
    assert measured.reason.startswith(
        f"pip-audit.json is missing: the command exited {audit.returncode}"
    )
    assert "could not be reached: nothing was checked" in measured.reason


def test_a_failed_pip_audit_with_a_clean_report_is_not_a_pass():
    text = _pip_audit_json({ResolvedDependency(name="requests", version=Version("2.32.0")): []})
    measured = parse_report("pip_audit", text, 1, output="ERROR: something broke")
    assert measured.value is None and measured.failed
    assert "pip-audit exited 1 although" in measured.reason


def test_a_pip_audit_report_of_nothing_is_not_a_pass():
    measured = parse_report("pip_audit", _pip_audit_json({}), 0)
    assert measured.value is None and not measured.failed and "checked nothing" in measured.reason


# --- Performance, axe, exit code only -----------------------------------------------------
def test_performance_gives_the_regression_against_the_baseline():
    faster = parse_report("performance", '{"metric": "p95_ms", "value": 1.8, "baseline": 20.0}', 0)
    assert faster.value == -91.0 and not faster.failed
    slower = parse_report("performance", '{"metric": "p95_ms", "value": 21.5, "baseline": 20}', 0)
    assert slower.value == 7.5
    assert "p95_ms 21.5 against a baseline of 20: +7.5 %" in slower.reason


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"metric": "p95_ms", "value": 3, "baseline": 0}', "the baseline must be above 0"),
        ('{"metric": "p95_ms", "value": 3, "baseline": -2}', "the baseline must be above 0"),
        ('{"metric": "p95_ms", "value": 3}', "has no baseline"),
        ('{"value": 3, "baseline": 2}', "has no metric"),
        ('{"metric": "p95_ms", "value": "fast", "baseline": 2}', "must be numbers"),
        ("[1, 2]", "not a JSON object"),
    ],
)
def test_performance_reports_that_cannot_be_compared_fail(text, reason):
    measured = parse_report("performance", text, 0)
    assert measured.value is None and measured.failed
    assert reason in measured.reason


def test_axe_counts_violations_of_one_page_or_many():
    page = {
        "url": "http://127.0.0.1/",
        "violations": [{"id": "color-contrast", "impact": "serious", "nodes": []}],
        "passes": [{"id": "html-has-lang"}],
    }
    assert parse_report("axe", json.dumps(page), 0).value == 1
    measured = parse_report("axe", json.dumps([page, {**page, "violations": []}, page]), 1)
    assert measured.value == 2
    assert measured.reason == "2 accessibility violations on 3 pages (color-contrast)"


def test_axe_says_what_checked_the_pages():
    """A checker that writes axe-core's shape without being axe-core (the demo's) is named
    in the reason, as axe-core is: the evidence says what measured it."""
    page = {"url": "http://127.0.0.1/", "violations": [], "passes": []}
    engines = [
        {"name": "axe-core", "version": "4.10.2"},
        {"name": "pepelugpt-a11y", "version": "1.0"},
    ]
    one = parse_report("axe", json.dumps({**page, "testEngine": engines[0]}), 0)
    assert one.reason == "0 accessibility violations on 1 page; checked by axe-core 4.10.2"
    both = [{**page, "testEngine": engine} for engine in engines] + [page]
    measured = parse_report("axe", json.dumps(both), 0)
    assert measured.value == 0 and not measured.failed
    assert measured.reason.endswith("; checked by axe-core 4.10.2 and pepelugpt-a11y 1.0")
    odd = parse_report("axe", json.dumps({**page, "testEngine": {"name": 3}}), 0)
    assert odd.reason == "0 accessibility violations on 1 page"


def test_exit_code_only():
    assert parse_report("none", None, 0).value == 0
    failed = parse_report("none", None, 2, output="running\nError: database missing\n")
    assert failed.failed and failed.value == 2
    assert failed.reason == "the command exited 2: Error: database missing"
    assert parse_report("none", None, None).value is None


# --- Missing, empty, malformed: for every format ------------------------------------------
FORMATS = ["cobertura", "bandit", "pip_audit", "performance", "axe"]
FILE_NAMES = {
    "cobertura": "coverage.xml",
    "bandit": "bandit.json",
    "pip_audit": "pip-audit.json",
    "performance": "perf.json",
    "axe": "axe.json",
}


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_missing_report_fails_and_says_how_the_command_ended(fmt, tmp_path):
    name = FILE_NAMES[fmt]
    measured = parse_report(fmt, tmp_path / name, 2, output="Traceback …\nOSError: disk full")
    assert measured.value is None and measured.failed and measured.report_text == ""
    assert measured.reason.startswith(
        f"{name} is missing: the command exited 2 (OSError: disk full)"
    )


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_empty_report_fails(fmt, tmp_path):
    name = FILE_NAMES[fmt]
    (tmp_path / name).write_text("  \n")
    measured = parse_report(fmt, tmp_path / name, 0)
    assert measured.value is None and measured.failed
    assert measured.reason == f"{name} is empty: the command exited 0."


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_malformed_report_fails_and_says_why(fmt, tmp_path):
    name = FILE_NAMES[fmt]
    (tmp_path / name).write_text('{"results": [' if fmt != "cobertura" else "<coverage line-rate=")
    measured = parse_report(fmt, tmp_path / name, 0)
    assert measured.value is None and measured.failed
    kind = "XML" if fmt == "cobertura" else "JSON"
    assert measured.reason.startswith(f"{name} is not valid {kind}: ")
    assert measured.report_text  # kept as evidence


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    "text", ["[]", "{}", '"text"', "42", "null", '{"results": 3, "dependencies": {"a": 1}}']
)
def test_a_wrongly_shaped_report_fails(fmt, text):
    source = f"<coverage>{text}</coverage>" if fmt == "cobertura" else text
    measured = parse_report(fmt, source, 0)
    assert measured.value is None and measured.failed, measured
    assert measured.reason


def test_an_unknown_format_fails():
    measured = parse_report("junit", "<testsuite/>", 0)
    assert measured.value is None and measured.failed and "Unknown report format" in measured.reason


def test_pip_audit_stopped_by_strict_on_a_dependency_it_could_not_look_up_is_not_measured(
    tmp_path,
):
    """What pip-audit --strict prints when its index answers "not found" for a real
    package (an air-gapped mirror): it ran, checked nothing, and wrote no report."""
    output = (
        "ERROR:pip_audit._cli:bandit: Dependency not found on PyPI and could not be "
        "audited: bandit (1.9.4)\n"
    )
    measured = parse_report("pip_audit", tmp_path / "pip-audit.json", 1, output=output)
    assert measured.value is None and not measured.failed
    assert "could not be audited" in measured.reason
    assert measured.reason.endswith("Not every dependency was checked.")


# --- The coverage summary of the evidence page ----------------------------------------


def _cobertura(files: dict[str, tuple[int, int]], rate: str = "0.834") -> str:
    """A Cobertura report: each file with (lines hit, lines)."""
    classes = "".join(
        f'<class name="{Path(name).stem}" filename="{name}"><lines>'
        + "".join(
            f'<line number="{n}" hits="{1 if n <= hit else 0}"/>' for n in range(1, total + 1)
        )
        + "</lines></class>"
        for name, (hit, total) in files.items()
    )
    return (
        f'<?xml version="1.0" ?><coverage version="7.6" line-rate="{rate}">'
        f'<packages><package name="app"><classes>{classes}</classes></package></packages>'
        "</coverage>"
    )


def test_coverage_summary_gives_the_total_the_file_count_and_the_lowest_files():
    files = {f"app/m{i}.py": (10, 10) for i in range(40)}
    files |= {"app/low.py": (1, 4), "app/lower.py": (0, 3), "app/empty.py": (0, 0)}
    summary = coverage_summary(_cobertura(files))
    assert (summary.percent, summary.files, summary.truncated) == (83.4, 43, False)
    assert [(f.filename, f.percent, f.lines) for f in summary.lowest[:2]] == [
        ("app/lower.py", 0.0, 3),
        ("app/low.py", 25.0, 4),
    ]
    # A file without lines to cover is not "least covered".
    assert len(summary.lowest) == 5 and "app/empty.py" not in {f.filename for f in summary.lowest}


def test_coverage_summary_of_a_report_cut_short_counts_what_it_read():
    text = _cobertura({f"app/m{i}.py": (i % 5, 4) for i in range(30)})
    summary = coverage_summary(text[: len(text) // 2])
    assert summary.truncated and summary.percent == 83.4
    assert 0 < summary.files < 30


def test_coverage_summary_is_none_for_other_reports():
    assert coverage_summary('{"results": []}') is None
    assert coverage_summary("<report><total>91</total></report>") is None
