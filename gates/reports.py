"""Turning a tool's report into a gate measurement.

`parse_report` is pure (it reads one file, or takes the text) and never raises: whatever the
tool left behind, the caller gets a `Measurement` whose `reason` a person can act on. A
gate is never passed on a report that is missing, empty, unreadable, or that admits it did
not check everything. Two cases are told apart:

- the report is missing, empty or malformed: the gate **fails** (value None, failed);
- the scan ran but checked nothing, or not everything (pip-audit without its vulnerability
  service, skipped dependencies; bandit that found no code): the gate is **not measured**
  (value None, not failed). Only a real report or a waiver moves it.
"""

import json
import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from gates.licences import DEFAULT_ALLOWED, licence_check, licence_evidence

# A report larger than this is refused rather than read into memory.
MAX_REPORT_BYTES = 50 * 1024 * 1024
DEFAULT_NAMES = {
    "cobertura": "coverage.xml",
    "bandit": "bandit.json",
    "pip_audit": "pip-audit.json",
    "performance": "perf.json",
    "axe": "axe.json",
    "cyclonedx": "sbom.json",
    "none": "the command",
}
# Words in pip-audit's error output that say its vulnerability service was not reached.
_UNREACHABLE = (
    "ConnectionError",
    "ProxyError",
    "Max retries exceeded",
    "Failed to establish a new connection",
    "Name or service not known",
    "Temporary failure in name resolution",
    "timed out",
)
# pip-audit's words for a dependency it skipped (`--strict` then stops with an error).
_SKIPPED = "could not be audited"


@dataclass(frozen=True)
class Measurement:
    value: float | None  # None: not measured
    reason: str
    failed: bool = False  # the command itself failed: the gate fails whatever the value
    report_text: str = ""


class _Unreadable(Exception):
    """The report cannot be used (missing, empty, malformed): the gate fails. The message is
    the reason shown to the user; `evidence`, if given, is stored instead of the report."""

    def __init__(self, message: str, evidence: str = ""):
        super().__init__(message)
        self.evidence = evidence


class _NotChecked(_Unreadable):
    """The tool ran but says it did not check everything: the gate is not measured."""


def parse_report(
    fmt: str,
    source: Path | str | None,
    exit_code: int | None,
    *,
    output: str = "",
    name: str | None = None,
    allowed_licences: list[str] | tuple[str, ...] = DEFAULT_ALLOWED,
) -> Measurement:
    """Read the report of a command that exited with `exit_code` (None: it did not run to
    an exit, e.g. it could not start). `source` is the report file (a Path) or its text (a
    str); `output` is the end of the command's output, quoted when the report is missing.
    `allowed_licences` is the project's allow-list, for a CycloneDX report."""
    name = name or (source.name if isinstance(source, Path) else DEFAULT_NAMES.get(fmt, "report"))
    if fmt == "none":
        return _parse_none(exit_code, output)
    if fmt not in _PARSERS:
        return Measurement(None, f"Unknown report format “{fmt}”.", failed=True)
    parser = _PARSERS[fmt] or _licences_against(list(allowed_licences))
    try:
        text = _read(source, name, exit_code, output)
    except _Unreadable as problem:
        return _unusable(fmt, problem)
    try:
        value, reason, failed, *evidence = parser(text, name, exit_code, output)
    except _Unreadable as problem:
        return _unusable(fmt, problem, problem.evidence or text)
    except Exception as exc:  # a report shaped in a way nobody foresaw: still no crash
        return Measurement(
            None,
            f"{name} could not be read: {type(exc).__name__}: {exc}",
            failed=True,
            report_text=text,
        )
    # A parser may store its own evidence instead of the report (the licence check keeps
    # its verdict per package: the SBOM itself is a worker's whole environment).
    return Measurement(value, reason, failed, evidence[0] if evidence else text)


def _unusable(fmt: str, problem: _Unreadable, text: str = "") -> Measurement:
    reason = str(problem)
    unreachable = fmt == "pip_audit" and any(word in reason for word in _UNREACHABLE)
    # With --strict, a dependency pip-audit could not look up ends the scan without a
    # report: it ran, but did not check (offline, its index or service unreachable).
    skipped = fmt == "pip_audit" and _SKIPPED in reason
    not_checked = isinstance(problem, _NotChecked) or unreachable or skipped
    if skipped and not unreachable:
        reason += " Not every dependency was checked."
    return Measurement(None, _hint(fmt, reason), failed=not not_checked, report_text=text)


# --- Reading ------------------------------------------------------------------------------


def _exited(exit_code: int | None) -> str:
    return "the command could not start" if exit_code is None else f"the command exited {exit_code}"


def _error_line(output: str) -> str:
    """The most telling line of a command's output: the last error, else the last line."""
    lines = [
        ln.strip() for ln in output.splitlines() if ln.strip() and not ln.startswith("[liftoff]")
    ]
    if not lines:
        return ""
    errors = [
        ln
        for ln in lines
        if "Error" in ln.split(":")[0] or ln.lower().startswith(("error", "fatal"))
    ]
    line = (errors or lines)[-1]
    return line if len(line) <= 300 else line[:299] + "…"


def _read(source, name: str, exit_code: int | None, output: str) -> str:
    if isinstance(source, Path):
        detail = _exited(exit_code)
        if error := _error_line(output) if exit_code else "":
            detail += f" ({error})"
        if not source.is_file():
            raise _Unreadable(f"{name} is missing: {detail}.")
        if source.stat().st_size > MAX_REPORT_BYTES:
            raise _Unreadable(f"{name} is larger than {MAX_REPORT_BYTES // 2**20} MB.")
        try:
            text = source.read_bytes().decode("utf-8", errors="replace")
        except OSError as exc:
            raise _Unreadable(f"{name} could not be read: {exc.strerror}.") from None
    else:
        text = source or ""
    if not text.strip():
        raise _Unreadable(f"{name} is empty: {_exited(exit_code)}.")
    return text


def _json(text: str, name: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise _Unreadable(
            f"{name} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
        ) from None


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _parse_xml(text: str, name: str):
    # ElementTree never fetches external entities, and the expat it ships with (2.4.1 and
    # later) refuses exponential entity expansion; the size was capped in _read.
    try:
        return ET.fromstring(text)  # noqa: S314
    except ET.ParseError as exc:
        raise _Unreadable(f"{name} is not valid XML: {exc}.") from None


# --- The formats --------------------------------------------------------------------------


def _parse_none(exit_code: int | None, output: str) -> Measurement:
    if exit_code is None:
        return Measurement(None, "the command could not start")
    if exit_code != 0:
        error = _error_line(output)
        reason = f"the command exited {exit_code}" + (f": {error}" if error else "")
        return Measurement(float(exit_code), reason, failed=True)
    return Measurement(0.0, "the command exited 0")


def _cobertura(text, name, exit_code, output):
    root = _parse_xml(text, name)
    rate = root.get("line-rate")
    if root.tag != "coverage" or rate is None:
        raise _Unreadable(f"{name} is not a Cobertura report (no <coverage line-rate=…>).")
    try:
        value = float(rate)
    except ValueError:
        raise _Unreadable(f"{name} has a line-rate that is not a number: “{rate}”.") from None
    if not 0 <= value <= 1:
        raise _Unreadable(f"{name} has a line-rate outside 0–1: {rate}.")
    value = round(value * 100, 2)
    if exit_code:
        return value, f"the tests failed (exit {exit_code})", True
    return value, f"line coverage {value:g} %", False


def _bandit(text, name, exit_code, output):
    data = _json(text, name)
    if not isinstance(data, dict) or not isinstance(data.get("results"), list):
        raise _Unreadable(f"{name} is not a bandit JSON report (no “results” list).")
    severe = [
        r
        for r in data["results"]
        if isinstance(r, dict) and str(r.get("issue_severity", "")).upper() in {"HIGH", "CRITICAL"}
    ]
    errors = [e for e in data.get("errors") or [] if isinstance(e, dict)]
    scanned = (data.get("metrics") or {}).get("_totals", {}).get("loc")
    if errors and not data["results"] and scanned == 0:
        # `bandit -r srcc` (a typo) exits 0 with "No such file or directory": not a pass.
        raise _NotChecked(f"bandit scanned no code: {_bandit_errors(errors)}")
    reason = f"{len(severe)} high or critical findings"
    if severe:
        where = ", ".join(f"{r.get('filename')}:{r.get('line_number')}" for r in severe[:3])
        reason += f" ({where}{', …' if len(severe) > 3 else ''})"
    if errors:
        reason += f"; {_bandit_errors(errors)}"
    return float(len(severe)), reason, False


def _bandit_errors(errors: list[dict]) -> str:
    listed = "; ".join(f"{e.get('filename')}: {e.get('reason')}" for e in errors[:3])
    more = f" and {len(errors) - 3} more" if len(errors) > 3 else ""
    plural = "s" if len(errors) != 1 else ""
    return f"bandit could not scan {len(errors)} file{plural}: {listed}{more}."


def _pip_audit(text, name, exit_code, output):
    data = _json(text, name)
    deps = data.get("dependencies") if isinstance(data, dict) else None
    if not isinstance(deps, list) or not all(isinstance(d, dict) for d in deps):
        raise _Unreadable(f"{name} is not a pip-audit JSON report (no “dependencies” list).")
    if not deps:
        raise _NotChecked(f"{name} lists no dependencies: pip-audit checked nothing.")
    skipped = [d for d in deps if d.get("skip_reason")]
    if skipped:
        listed = "; ".join(f"{d.get('name')}: {d['skip_reason']}" for d in skipped[:3])
        more = f" and {len(skipped) - 3} more" if len(skipped) > 3 else ""
        raise _NotChecked(
            f"pip-audit did not check {len(skipped)} of {len(deps)} dependencies ({listed}{more})."
        )
    found = [(d.get("name"), v) for d in deps for v in d.get("vulns") or []]
    if exit_code and not found:
        # pip-audit exits 1 when it finds something; a failure with a clean report is not
        # a clean bill of health.
        error = _error_line(output)
        raise _Unreadable(
            f"pip-audit exited {exit_code} although {name} lists no vulnerabilities"
            + (f": {error}" if error else ".")
        )
    reason = f"{len(found)} known vulnerabilities in {len(deps)} dependencies"
    if found:
        ids = ", ".join(f"{dep} {v.get('id')}" for dep, v in found[:3] if isinstance(v, dict))
        reason += f" ({ids}{', …' if len(found) > 3 else ''})"
    return float(len(found)), reason, False


def _performance(text, name, exit_code, output):
    data = _json(text, name)
    if not isinstance(data, dict):
        raise _Unreadable(f"{name} is not a JSON object with metric, value and baseline.")
    missing = [k for k in ("metric", "value", "baseline") if k not in data]
    if missing:
        raise _Unreadable(f"{name} has no {', '.join(missing)}.")
    value, baseline = _number(data["value"]), _number(data["baseline"])
    if value is None or baseline is None:
        raise _Unreadable(f"{name}: value and baseline must be numbers.")
    if baseline <= 0:
        raise _Unreadable(f"{name}: the baseline must be above 0 (it is {baseline:g}).")
    regression = round((value - baseline) / baseline * 100, 2)
    reason = f"{data['metric']} {value:g} against a baseline of {baseline:g}: {regression:+g} %"
    if exit_code:
        return regression, f"the performance command failed (exit {exit_code}); {reason}", True
    return regression, reason, False


def _axe(text, name, exit_code, output):
    data = _json(text, name)
    # axe-core's own results are one object; the axe CLI writes a list, one per page.
    pages = data if isinstance(data, list) else [data]
    if not pages or not all(
        isinstance(p, dict) and isinstance(p.get("violations"), list) for p in pages
    ):
        raise _Unreadable(f"{name} is not an axe-core report (no “violations” list).")
    violations = [v for p in pages for v in p["violations"]]
    ids = sorted({str(v.get("id")) for v in violations if isinstance(v, dict)})
    plural = "s" if len(pages) != 1 else ""
    reason = f"{len(violations)} accessibility violations on {len(pages)} page{plural}"
    if ids:
        reason += f" ({', '.join(ids[:5])}{', …' if len(ids) > 5 else ''})"
    # What checked them, as the report names it: axe-core, or a checker that writes its
    # results in axe-core's shape (the demo's) and checks fewer rules than axe does.
    if engines := _axe_engines(pages):
        reason += f"; checked by {engines}"
    return float(len(violations)), reason, False


def _axe_engines(pages: list[dict]) -> str:
    engines = set()
    for page in pages:
        engine = page.get("testEngine")
        if isinstance(engine, dict) and isinstance(engine.get("name"), str):
            engines.add(f"{engine['name']} {engine.get('version') or ''}".strip()[:80])
    return " and ".join(sorted(engines))


def _licences_against(allowed: list[str]):
    """The parser of a CycloneDX JSON document (`cyclonedx-py environment`): the number of
    packages whose licence the allow-list does not allow. One licence that cannot be read
    makes the whole result not measured, never a pass (gates.licences says how)."""

    def parse(text, name, exit_code, output):
        if exit_code:
            error = _error_line(output)
            raise _Unreadable(f"cyclonedx-py exited {exit_code}" + (f": {error}" if error else "."))
        data = _json(text, name)
        if not isinstance(data, dict) or data.get("bomFormat") != "CycloneDX":
            raise _Unreadable(f"{name} is not a CycloneDX JSON document (no bomFormat).")
        check = licence_check(data, allowed)
        evidence = licence_evidence(check, allowed)
        if not check.packages:
            raise _NotChecked(f"{name} lists no packages: no licence was checked.", evidence)
        refused = _packages(check.refused, with_why=True)
        if check.unknown:
            reason = (
                f"The licence of {_count(check.unknown)} is unknown: {_packages(check.unknown)}."
            )
            if check.refused:
                reason += f" Not allowed: {refused}."
            raise _NotChecked(reason, evidence)
        reason = f"{len(check.refused)} of {len(check.packages)} packages not allowed"
        reason += f": {refused}" if check.refused else f"; checked {check.scope}"
        return float(len(check.refused)), reason, False, evidence

    return parse


def _count(packages) -> str:
    return f"{len(packages)} package{'s' if len(packages) != 1 else ''}"


def _packages(packages, *, with_why: bool = False, shown: int = 10) -> str:
    """ "name version (licence)", the first `shown` of them; the stored evidence has all."""
    listed = ", ".join(
        f"{p.label} ({p.why or p.licences})" if with_why else f"{p.label} ({p.licences})"
        for p in packages[:shown]
    )
    return listed + (f" and {len(packages) - shown} more" if len(packages) > shown else "")


_PARSERS = {
    "cobertura": _cobertura,
    "bandit": _bandit,
    "pip_audit": _pip_audit,
    "performance": _performance,
    "axe": _axe,
    # The allow-list is the project's: parse_report makes this one per call.
    "cyclonedx": None,
}


def _hint(fmt: str, reason: str) -> str:
    """Say it plainly when pip-audit's error is that its vulnerability service was out of
    reach (an air-gapped worker): the scan checked nothing."""
    if fmt == "pip_audit" and any(word in reason for word in _UNREACHABLE):
        return f"{reason} The vulnerability service could not be reached: nothing was checked."
    return reason


# --- Summaries for the evidence page ------------------------------------------------------


@dataclass(frozen=True)
class FileCoverage:
    filename: str
    percent: float
    lines: int


@dataclass(frozen=True)
class CoverageSummary:
    percent: float
    files: int
    lowest: list[FileCoverage]
    # The stored report was cut short (reports are kept up to a size): `files` counts the
    # files read before the cut.
    truncated: bool = False


def coverage_summary(text: str, *, lowest: int = 5) -> CoverageSummary | None:
    """A Cobertura report in a sentence: its line coverage, over how many files, and the
    `lowest` files by line coverage (those with lines to cover). None for text that is not
    a Cobertura report. A report cut short when it was stored still gives its total and
    the files before the cut (the XML is read as a stream)."""
    if "<coverage" not in text[:4096]:
        return None
    parser = ET.XMLPullParser(events=("start", "end"))
    rate, files, truncated = None, {}, False
    try:
        parser.feed(text)
        parser.close()
    except ET.ParseError:
        truncated = True
    try:
        for event, element in parser.read_events():
            if event == "start" and element.tag == "coverage" and rate is None:
                rate = element.get("line-rate")
            elif event == "end" and element.tag == "class":
                _add_class(files, element)
    except ET.ParseError:
        truncated = True
    try:
        percent = round(float(rate) * 100, 2)
    except (TypeError, ValueError):
        return None
    ranked = sorted(
        (f for f in files.values() if f.lines), key=lambda f: (f.percent, -f.lines, f.filename)
    )
    return CoverageSummary(percent, len(files), ranked[:lowest], truncated)


def _add_class(files: dict, element) -> None:
    """coverage.py writes one <class> per file; other tools may write several a file:
    their lines are added up."""
    name = element.get("filename") or element.get("name") or "?"
    lines = element.findall("./lines/line")
    hit = sum(1 for line in lines if (line.get("hits") or "0") not in {"0", ""})
    if name in files:
        known = files[name]
        total = known.lines + len(lines)
        hit += round(known.percent * known.lines / 100)
    else:
        total = len(lines)
    files[name] = FileCoverage(name, round(hit / total * 100, 1) if total else 100.0, total)
