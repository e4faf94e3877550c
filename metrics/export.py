"""The report as plain data: the API's body, the JSON export (the same document) and the
CSV export (one row per figure), so the three never disagree."""

import csv
import io

from metrics.selectors import Figure, MetricsReport


def _figure(figure: Figure, *, kpi: bool) -> dict:
    data = {"key": figure.key, "label": figure.label, "unit": figure.unit, "value": figure.value}
    if kpi:
        data |= {"target": figure.target, "comparison": figure.comparison, "met": figure.met}
    else:
        data["band"] = figure.band
    data |= {
        "numerator": figure.numerator,
        "denominator": figure.denominator,
        "count": figure.count,
        "definition": figure.definition,
        "trend": figure.trend,
    }
    if figure.extra:
        data |= {k: v for k, v in figure.extra.items() if not k.endswith("_url")}
    return data


def report_data(report: MetricsReport) -> dict:
    return {
        "project": report.project.slug if report.project else None,
        "since": report.window.since.isoformat(),
        "until": report.window.until.isoformat(),
        "dora_year": report.settings.dora_year,
        "weeks": [week.isoformat() for week in report.week_starts],
        "kpis": {f.key: _figure(f, kpi=True) for f in report.kpis},
        "dora": {f.key: _figure(f, kpi=False) for f in report.dora},
    }


CSV_COLUMNS = [
    "group",
    "metric",
    "value",
    "unit",
    "target",
    "met",
    "band",
    "numerator",
    "denominator",
    "count",
]


def report_csv(report: MetricsReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["project", "since", "until", *CSV_COLUMNS])
    scope = [
        report.project.slug if report.project else "",
        report.window.since,
        report.window.until,
    ]
    for group, figures in (("kpi", report.kpis), ("dora", report.dora)):
        for f in figures:
            met = "" if f.met is None else ("yes" if f.met else "no")
            row = [group, f.key, f.value, f.unit, f.target, met, f.band]
            row += [f.numerator, f.denominator, f.count]
            writer.writerow([*scope, *("" if v is None else v for v in row)])
    return out.getvalue()
