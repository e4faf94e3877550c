"""The compliance report as Markdown (its download): the same document the page shows.
People's words are made inert: no HTML and no Markdown structure survives from them."""

import re

from metrics.evidence import ComplianceReport, impact_called_out

_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")


def _text(value) -> str:
    """A value from the record on one line, with Markdown's and HTML's signs escaped."""
    if value is None or value == "":
        return "—"
    return _SPECIAL.sub(r"\\\1", " ".join(str(value).split()))


def _table(headers: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_text(cell) for cell in row) + " |" for row in rows]
    return [*lines, ""]


def _impact(doc: dict) -> list[str]:
    impact = doc["change_impact"]
    out = ["## Change impact", ""]
    if impact["state"] == "pending":
        return [*out, "Not analysed yet: the preparation run analyses the change.", ""]
    if impact["state"] == "failed":
        return [*out, f"The change could not be analysed: {_text(impact['error'])}", ""]
    if impact["state"] == "stale":
        out += [
            f"**This analysis is of commit {_text(impact['head_commit'])}, not of the "
            f"release's head now ({_text(doc['release']['head_commit'])}).**",
            "",
        ]
    since = (
        f"{_text(impact['previous_tag'])} ({_text(impact['base_commit'])})"
        if impact["previous_tag"]
        else "the first commit (no earlier release: everything in the tree)"
    )
    t = impact["totals"]
    out += [
        f"Since {since} to {_text(impact['head_commit'])}: {t['files']} files changed, "
        f"+{t['added']} −{t['removed']} lines ({t['files_added']} added, "
        f"{t['files_modified']} modified, {t['files_deleted']} deleted, "
        f"{t['files_renamed']} renamed; {t['binary']} binary, their lines unknown).",
        "",
    ]
    out += _table(
        ["Top-level folder", "Files", "Lines added", "Lines removed", "Binary files"],
        [
            *(
                [f["folder"], f["files"], f["added"], f["removed"], f["binary"]]
                for f in impact["folders"]
            ),
            ["All", t["files"], t["added"], t["removed"], t["binary"]],
        ],
    )
    for called in impact_called_out(impact):
        out += [f"### {called['label']}: {called['count']}", ""]
        for entry in called["paths"]:
            moved = f" from {_text(entry['from'])}" if entry.get("from") else ""
            out.append(f"- {_text(entry['path'])} ({entry['change']}{moved})")
        if called["more"]:
            out.append(f"- and {called['more']} more")
        out.append("")
    if impact["bump_only"]:
        paths = ", ".join(_text(p) for p in impact["bump_only"])
        out += [f"Left out of these lists: {paths}, changed only by Liftoff's version bump.", ""]
    patterns = ", ".join(_text(p) for p in impact["security_patterns"])
    return [*out, f"Security-sensitive path patterns used: {patterns}.", ""]


def compliance_markdown(report: ComplianceReport) -> str:
    doc = report.document
    rel = doc["release"]
    matrix = doc["risk_matrix"]
    out = [
        f"# Compliance report: {_text(rel['project_name'])} v{_text(rel['version'])}",
        "",
        f"- Codename: {_text(rel['codename'])}",
        f"- Type: {_text(rel['type'])}; status: {_text(rel['status'])}",
        f"- Release manager: {_text(rel['release_manager'])}",
        f"- Tag: {_text(rel['tag'])} at commit {_text(rel['head_commit'])}",
        f"- Released at: {_text(rel['released_at'])}",
        f"- Risk level: **{doc['risk']['level'].upper()}** ({_text(doc['risk']['reason'])})",
        "",
        "## Risk assessment matrix",
        "",
        f"Likelihood {_text(matrix['likelihood'])} × impact {_text(matrix['impact'])} = "
        f"{matrix['score']}: **{_text(matrix['level'])} risk**, "
        + (
            f"assessed by {_text(matrix['set_by'])} at {_text(matrix['set_at'])}."
            if matrix["assessed"]
            else f"the default for a {_text(rel['type'])} release (not assessed)."
        ),
        *(["", _text(matrix["note"])] if matrix["note"] else []),
        "",
        "## Security assessment and quality gates",
        "",
    ]
    judged = doc["gates"]["judgement"]
    if judged:
        out.append(f"Judged at {_text(judged['judged_at'])} ({_text(judged['phase'])}):")
        out.append("")
        out += _table(
            ["Gate", "Status", "Value", "Threshold", "Approved by", "Waived by", "Why waived"],
            [
                [
                    g["name"],
                    g["status"],
                    g["value"],
                    g["threshold"],
                    g["approved_by"],
                    g["waived_by"],
                    g["waiver_reason"],
                ]
                for g in judged["gates"]
            ],
        )
    out.append("Evidence now:")
    out.append("")
    out += _table(
        ["Gate", "Status", "Value", "Finding", "Source", "Measured at", "Waiver"],
        [
            [
                g["name"],
                g["status"],
                g["value"],
                g.get("reason"),
                g["source"],
                g["measured_at"],
                f"{g['waiver']['by']}: {g['waiver']['reason']}" if g["waiver"] else None,
            ]
            for g in doc["gates"]["evidence"]
        ],
    )
    out += _impact(doc)
    out += ["## Approvals", ""]
    out += _table(
        ["Gate", "Approver", "Decision", "When", "Comment", "Stale"],
        [
            [
                g["name"],
                a["approver"],
                a["decision"],
                a["at"],
                a["comment"],
                "stale" if a["stale"] else "current",
            ]
            for g in doc["gates"]["evidence"]
            for a in g["approvals"]
        ],
    )
    lists = doc["checklists"]
    out += [
        "## Checklists",
        "",
        f"Required items done: {lists['required_done']} of {lists['required_total']}.",
        "",
    ]
    out += _table(
        ["Checklist", "Item", "Required", "Done", "Result", "By", "Note"],
        [
            [
                c["name"],
                i["title"],
                "yes" if i["required"] else "no",
                "yes" if i["done"] else "no",
                i["result"],
                i["by"],
                i["note"],
            ]
            for c in lists["checklists"]
            for i in c["items"]
        ],
    )
    out += ["## Deployments", ""]
    out += _table(
        ["#", "Environment", "Kind", "Status", "Health verified", "Finished", "Emergency change"],
        [
            [
                d["id"],
                d["environment"],
                d["kind"],
                d["status"],
                "verified" if d["verified"] else ("failed" if d["verification_failed"] else "no"),
                d["finished_at"],
                (
                    f"{d['emergency_change']['reason']} (approved by "
                    f"{d['emergency_change']['approved_by']}; reviewed by "
                    f"{d['emergency_change']['reviewed_by'] or 'nobody yet'})"
                )
                if d["emergency_change"]
                else None,
            ]
            for d in doc["deployments"]
        ],
    )
    out += ["## Business continuity", ""]
    out += _table(
        ["Environment", "Running", "Rollback to", "Last successful rollback", "Auto rollback"],
        [
            [
                c["environment"],
                c["running"],
                c["rollback_to"] if c["rollback_available"] else "none available",
                c["last_rollback_succeeded_at"] or "never",
                "on" if c["automatic_rollback"] else "off",
            ]
            for c in doc["continuity"]
        ],
    )
    out += ["## Incidents", ""]
    out += _table(
        ["#", "Title", "Severity", "Status", "Opened", "Resolved"],
        [
            [i["id"], i["title"], i["severity"], i["status"], i["opened_at"], i["resolved_at"]]
            for i in doc["incidents"]
        ],
    )
    verdict = (
        f"intact ({report.audit_checked} events checked)"
        if report.audit_problem is None
        else f"BROKEN: {report.audit_problem}"
    )
    out += ["## Audit trail", "", f"Hash chain: {_text(verdict)}", ""]
    out += _table(
        ["#", "When", "Who", "What"],
        [[e["seq"], e["at"], e["actor"], e["text"]] for e in doc["audit"]],
    )
    out += ["## Evidence", ""]
    if report.latest is None:
        out.append("No snapshot yet: the record is frozen when the release ships.")
    else:
        s = report.latest
        out.append(f"Snapshot {s.number} taken {s.taken_at.isoformat()}, SHA-256 `{s.sha256}`.")
        out.append("")
        if report.differences:
            out.append("The live record differs from the snapshot:")
            out.append("")
            out += [f"- {_text(d)}" for d in report.differences]
        else:
            out.append("The live record still matches the snapshot.")
    return "\n".join(out) + "\n"
