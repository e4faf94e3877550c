"""A release's compliance record as one document, and what is derived from it.

`compliance_document(release=…)` reads every other app through its selectors and returns
plain JSON values only (strings, numbers, booleans, lists, dicts), in a fixed order, with
no clock reading: built twice from the same rows, it is the same document. That makes it
the one source of the report page, its Markdown download and the evidence snapshot:

- `canonical_json(doc)` is the document's exact bytes (sorted keys, fixed separators,
  UTF-8), and `sha256_hex` their digest: a frozen snapshot stores those bytes;
- `document_differences(frozen, live)` walks both documents key by key and names each
  path whose value differs ("gates.judgement[security-scan].status: passed → failed");
- `attestation_statement(...)` is the in-toto Statement v1 over a snapshot.

The audit trail inside the document stops at a given sequence number (the chain's head
when a snapshot was taken), so the live document compared with a snapshot is built up to
the same point: events added later are counted on the page, not reported as changes.
"""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db.models import Q
from django.http import Http404
from django.utils import timezone

from checklists.selectors import project_templates, release_checklists
from deployments.selectors import (
    deployment_list,
    environment_continuity,
    project_environments_once,
)
from gates.selectors import (
    approval_is_current,
    project_gates,
    release_gates,
    release_judgement,
    release_risk,
)
from incidents.selectors import incident_list
from liftoff.audit import audit_entries, audit_trail, audit_verify
from metrics.models import (
    RISK_DEFAULTS,
    EvidenceSnapshot,
    ReleaseSbom,
    RiskAssessment,
    RiskLevel,
    SbomStatus,
)
from releases.selectors import release_change_impact

# Bumped when the document's shape changes: a snapshot says which shape it has, so a
# comparison with a live document of another shape says so instead of naming every key.
DOCUMENT_VERSION = 2
# The parts each version added. A snapshot of an older shape is compared with the live
# document in its shape (the parts it never had left out), so shipping a new part does
# not make every earlier snapshot "differ".
PARTS_SINCE = {"change_impact": 2}
# The in-toto predicate type of Liftoff's attestations (docs/compliance.md describes it).
PREDICATE_TYPE = "https://liftoff.dev/attestations/release-evidence/v1"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"


def _time(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _user(user) -> str | None:
    return user.get_username() if user is not None else None


def canonical_json(doc: dict) -> bytes:
    """The document's one byte form: sorted keys, no spaces, UTF-8 kept as is."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- The document ----------------------------------------------------------------------


def compliance_document(*, release, audit_until: int | None = None) -> dict:
    """Everything the compliance report shows, as JSON values (a constant number of
    queries whatever the release's size). `audit_until`: the last audit sequence number
    to include (None: all of them)."""
    project = release.project
    risk = release_risk(release=release)
    return {
        "document_version": DOCUMENT_VERSION,
        "release": _release_part(release, project),
        "risk": {"level": risk.level, "reason": risk.reason},
        "risk_matrix": risk_matrix(release=release),
        "gates": _gates_part(release, project),
        "checklists": _checklists_part(release, project),
        "deployments": _deployments_part(release),
        "continuity": _continuity_part(release),
        "incidents": _incidents_part(release),
        "change_impact": release_change_impact(release=release),
        "audit": _audit_part(release, audit_until),
    }


# How many paths of each called-out list the report shows before "and N more".
IMPACT_PATHS_SHOWN = 20
IMPACT_LISTS = (
    ("migrations", "Migrations"),
    ("dependencies", "Dependency files"),
    ("security", "Security-sensitive paths"),
)


def impact_called_out(impact: dict) -> list[dict]:
    """The change impact's three called-out lists as the page and the Markdown show them:
    label, count, the first paths, and how many more there are (stored or not)."""
    if impact.get("state") not in ("analysed", "stale"):
        return []
    lists = []
    for key, label in IMPACT_LISTS:
        part = impact[key]
        shown = part["paths"][:IMPACT_PATHS_SHOWN]
        lists.append(
            {
                "key": key,
                "label": label,
                "count": part["count"],
                "paths": shown,
                "more": part["count"] - len(shown),
            }
        )
    return lists


def document_in_shape(doc: dict, version: int) -> dict:
    """`doc` as a document of an older `version` would hold it (PARTS_SINCE)."""
    if version == doc["document_version"]:
        return doc
    shaped = {key: value for key, value in doc.items() if PARTS_SINCE.get(key, 1) <= version}
    shaped["document_version"] = version
    return shaped


def risk_matrix(*, release) -> dict:
    """The release's risk assessment matrix: likelihood × impact (1–3 each), as the
    release manager set it, or the default of the release's type until then. The score
    is their product; 1–2 is low, 3–4 medium, 6–9 high."""
    assessment = RiskAssessment.objects.filter(release=release).select_related("set_by").first()
    if assessment is None:
        likelihood, impact = RISK_DEFAULTS.get(release.type, (RiskLevel.MEDIUM, RiskLevel.MEDIUM))
        set_by, set_at, note = None, None, ""
    else:
        likelihood, impact = assessment.likelihood, assessment.impact
        set_by, set_at, note = _user(assessment.set_by), _time(assessment.set_at), assessment.note
    score = int(likelihood) * int(impact)
    level = "low" if score <= 2 else "medium" if score <= 4 else "high"
    return {
        "likelihood": RiskLevel(likelihood).label.lower(),
        "impact": RiskLevel(impact).label.lower(),
        "score": score,
        "level": level,
        "assessed": assessment is not None,
        "set_by": set_by,
        "set_at": set_at,
        "note": note,
    }


def _release_part(release, project) -> dict:
    return {
        "id": release.pk,
        "project": project.slug,
        "project_name": project.name,
        "version": release.version,
        "type": release.type,
        "codename": release.codename,
        "summary": release.summary,
        "status": release.status,
        "release_manager": _user(release.release_manager),
        "branch": release.branch,
        "tag": release.tag,
        "head_commit": release.head_commit,
        "base_commit": release.base_commit,
        "previous_tag": release.previous_tag,
        "target_date": _time(release.target_date),
        "prepared_at": _time(release.prepared_at),
        "tagged_at": _time(release.tagged_at),
        "released_at": _time(release.released_at),
    }


def _gate_definition(gate) -> dict:
    return {
        "key": gate.key,
        "name": gate.name,
        "kind": gate.kind,
        "unit": gate.unit,
        "comparator": gate.comparator,
        "threshold": gate.threshold,
        "required_approvals": gate.required_approvals,
        "approver_role": gate.approver_role,
        "active": gate.active,
    }


def _approval(approval, release) -> dict:
    return {
        "approver": _user(approval.approver),
        "decision": approval.decision,
        "comment": approval.comment,
        "commit": approval.commit,
        "at": _time(approval.created_at),
        "stale": not approval_is_current(approval, release),
    }


def _gates_part(release, project) -> dict:
    """The gates as defined, the verdict the release was last judged by (as recorded
    then), and each gate's evidence now: result, sign-offs and waiver."""
    views = release_gates(release=release)
    judgement = release_judgement(release=release)
    evidence = []
    for view in views:
        result = view.result
        evidence.append(
            {
                "gate": view.gate.key,
                "name": view.gate.name,
                "kind": view.gate.kind,
                "status": view.status,
                "value": view.value,
                "source": result.source if result else None,
                "reason": result.reason if result else "",
                "commit": result.commit if result else "",
                "measured_at": _time(result.measured_at) if result else None,
                "approvals": [
                    _approval(a, release) for a in (*view.approvals, *view.rejections, *view.stale)
                ],
                "waiver": (
                    {
                        "by": _user(view.waiver.approver),
                        "reason": view.waiver.reason,
                        "commit": view.waiver.commit,
                        "at": _time(view.waiver.created_at),
                    }
                    if view.waiver
                    else None
                ),
            }
        )
    judged = None
    if judgement is not None:
        judged = {
            "phase": judgement.phase,
            "judged_at": _time(judgement.judged_at),
            "gates": [
                {
                    "gate": row.gate_key,
                    "name": row.gate_name,
                    "kind": row.kind,
                    "status": row.status,
                    "value": row.value,
                    "threshold": row.threshold_label,
                    "approvals": row.approvals_label,
                    "approved_by": row.approved_by,
                    "rejected_by": row.rejected_by,
                    "waived_by": row.waived_by,
                    "waiver_reason": row.waiver_reason,
                    "commit": row.commit,
                }
                for row in judgement.rows
            ],
        }
    return {
        "definitions": [_gate_definition(g) for g in project_gates(project=project)],
        "judgement": judged,
        "evidence": evidence,
    }


def _checklists_part(release, project) -> dict:
    phases = []
    required_done = required_total = 0
    for phase in release_checklists(release=release):
        for view in phase.checklists:
            progress = view.progress
            required_done += progress.required_done
            required_total += progress.required_total
            phases.append(
                {
                    "phase": str(phase.phase),
                    "name": view.checklist.name,
                    "items": [
                        {
                            "title": item.title,
                            "kind": item.kind,
                            "required": item.required,
                            "done": item.done,
                            "result": item.result,
                            "note": item.note,
                            "by": "Liftoff" if item.ticked_by_liftoff else _user(item.updated_by),
                            "at": _time(item.updated_at),
                        }
                        for item in view.items
                    ],
                }
            )
    templates = [
        {
            "phase": template.phase,
            "name": template.name,
            "active": template.active,
            "items": [
                {"title": item.title, "kind": item.kind, "required": item.required}
                for item in template.items.all()
            ],
        }
        for template in project_templates(project=project)
    ]
    return {
        "required_done": required_done,
        "required_total": required_total,
        "checklists": phases,
        "templates": templates,
    }


def _continuity_part(release) -> list[dict]:
    """Business continuity, per environment of the project, as it stood when the release
    shipped (or now, before): what ran, the last stable version an emergency rollback
    would have gone back to, and when a rollback there last succeeded."""
    until = release.released_at or timezone.now()
    rows = []
    for environment in project_environments_once(project_id=release.project_id):
        state = environment_continuity(environment=environment, until=until)
        current, target = state["current"], state["rollback_target"]
        rows.append(
            {
                "environment": environment.name,
                "phase": environment.phase,
                "running": current.version if current else None,
                "rollback_available": target is not None,
                "rollback_to": target.version if target else None,
                "last_rollback_succeeded_at": _time(state["last_rollback_at"]),
                "automatic_rollback": environment.auto_rollback,
            }
        )
    return rows


def _deployments_part(release) -> list[dict]:
    deployments = (
        deployment_list(filters={"release": release.pk})
        .select_related(
            "emergency_change__approved_by", "emergency_change__reviewed_by", "freeze_override_by"
        )
        .order_by("created_at", "id")
    )
    rows = []
    for d in deployments:
        change = getattr(d, "emergency_change", None)
        rows.append(
            {
                "id": d.pk,
                "environment": d.environment.name,
                "kind": d.kind,
                "status": d.status,
                "trigger": d.trigger,
                "requested_by": _user(d.requested_by),
                "version": d.version,
                "commit": d.commit,
                "replaced_version": d.replaced_version,
                "started_at": _time(d.started_at),
                "finished_at": _time(d.finished_at),
                "verified": d.verified,
                "verified_at": _time(d.verified_at),
                "verification_failed": d.verification_failed,
                "error": d.error,
                "emergency_change": (
                    {
                        "reason": change.reason,
                        "approved_by": _user(change.approved_by),
                        "review_due": _time(change.review_due),
                        "reviewed_by": _user(change.reviewed_by),
                        "reviewed_at": _time(change.reviewed_at),
                        "review_note": change.review_note,
                    }
                    if change
                    else None
                ),
            }
        )
    return rows


def _incidents_part(release) -> list[dict]:
    """Incidents about one of the release's deployments, and those it was the hotfix for."""
    incidents = (
        incident_list()
        .filter(Q(deployment__release_id=release.pk) | Q(hotfix_release_id=release.pk))
        .order_by("opened_at", "id")
    )
    return [
        {
            "id": i.pk,
            "title": i.title,
            "severity": i.severity,
            "status": i.status,
            "environment": i.environment.name if i.environment_id else None,
            "deployment": i.deployment_id,
            "hotfix": i.hotfix_release_id == release.pk,
            "opened_at": _time(i.opened_at),
            "acknowledged_at": _time(i.acknowledged_at),
            "resolved_at": _time(i.resolved_at),
            "breached": i.breached,
            "summary": i.summary,
        }
        for i in incidents
    ]


def _audit_part(release, audit_until: int | None) -> list[dict]:
    events = audit_trail(obj=release)
    if audit_until is not None:
        events = events.filter(seq__lte=audit_until)
    entries = audit_entries(events.order_by("seq"), subject=release)
    return [
        {
            "seq": e.event.seq,
            "at": _time(e.created_at),
            "actor": e.actor,
            "action": e.event.action,
            "text": e.text,
            "hash": e.event.hash,
        }
        for e in entries
    ]


# --- Comparing a snapshot with the live record -------------------------------------------

# How list items are named in a difference's path: by a stable key, not their position.
_ITEM_KEYS = ("gate", "key", "seq", "id", "title", "name", "approver", "folder", "path")


def _item_name(item, index: int) -> str:
    if isinstance(item, dict):
        for key in _ITEM_KEYS:
            if item.get(key) not in (None, ""):
                return str(item[key])
    return str(index)


def _short(value) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 80 else text[:79] + "…"


def document_differences(frozen, live, path: str = "") -> list[str]:
    """Each place where `live` differs from `frozen`, as "path: frozen → live"."""
    if isinstance(frozen, dict) and isinstance(live, dict):
        found = []
        for key in sorted(set(frozen) | set(live)):
            where = f"{path}.{key}" if path else key
            if key not in live:
                found.append(f"{where}: removed")
            elif key not in frozen:
                found.append(f"{where}: added ({_short(live[key])})")
            else:
                found += document_differences(frozen[key], live[key], where)
        return found
    if isinstance(frozen, list) and isinstance(live, list):
        old = {_item_name(item, i): item for i, item in enumerate(frozen)}
        new = {_item_name(item, i): item for i, item in enumerate(live)}
        if len(old) != len(frozen) or len(new) != len(live):  # names not unique: by position
            old = {str(i): item for i, item in enumerate(frozen)}
            new = {str(i): item for i, item in enumerate(live)}
        found = []
        for name in [*old, *(n for n in new if n not in old)]:
            where = f"{path}[{name}]"
            if name not in new:
                found.append(f"{where}: removed")
            elif name not in old:
                found.append(f"{where}: added")
            else:
                found += document_differences(old[name], new[name], where)
        return found
    if frozen != live:
        return [f"{path}: {_short(frozen)} → {_short(live)}"]
    return []


# --- The attestation ---------------------------------------------------------------------


def attestation_statement(*, snapshot, document: dict) -> dict:
    """The in-toto Statement v1 of a snapshot: its subject is the release's tagged commit,
    its predicate the snapshot's digest and the gates' verdict."""
    release = document["release"]
    judgement = document["gates"]["judgement"]
    rows = judgement["gates"] if judgement else document["gates"]["evidence"]
    gates = [{"gate": g["gate"], "status": g["status"], "value": g["value"]} for g in rows]
    return {
        "_type": STATEMENT_TYPE,
        "subject": [
            {
                "name": release["tag"] or f"v{release['version']}",
                "digest": {"gitCommit": release["head_commit"]},
            }
        ],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "release": {
                "project": release["project"],
                "version": release["version"],
                "tag": release["tag"],
            },
            "evidence": {
                "number": snapshot.number,
                "sha256": snapshot.sha256,
                "taken_at": _time(snapshot.taken_at),
                "audit_head": {"seq": snapshot.audit_head_seq, "hash": snapshot.audit_head_hash},
            },
            "risk": document["risk"]["level"],
            "gates": gates,
        },
    }


# --- Reading snapshots and the report ----------------------------------------------------


def release_snapshots(*, release) -> list:
    """The release's snapshots, newest first, without their documents (one query)."""
    return list(
        EvidenceSnapshot.objects.filter(release=release)
        .defer("document")
        .select_related("taken_by")
        .order_by("-number")
    )


def snapshot_get(*, release, number: int | None = None):
    """One snapshot of the release with its document (the latest when `number` is None),
    or Http404."""
    snapshots = EvidenceSnapshot.objects.filter(release=release).order_by("-number")
    if number is not None:
        snapshots = snapshots.filter(number=number)
    snapshot = snapshots.first()
    if snapshot is None:
        raise Http404("No evidence snapshot.")
    return snapshot


def release_sbom(*, release):
    """The release's newest SBOM row (made, failed or on its way), or None."""
    return ReleaseSbom.objects.filter(release=release).defer("document").first()


def release_sbom_made(*, release):
    """The release's newest SBOM that was made, with its document, or Http404."""
    sbom = ReleaseSbom.objects.filter(release=release, status=SbomStatus.SUCCEEDED).first()
    if sbom is None:
        raise Http404("No SBOM.")
    return sbom


@dataclass
class ComplianceReport:
    document: dict
    snapshots: list
    latest: object = None
    # Against the latest snapshot: what differs, and audit events recorded since.
    differences: list = field(default_factory=list)
    events_since: int = 0
    audit_checked: int = 0
    audit_problem: object = None
    sbom: object = None

    @property
    def matches(self) -> bool:
        return self.latest is not None and not self.differences


def compliance_report(*, release) -> ComplianceReport:
    """The live document, and, when the release has a snapshot, whether the live record
    still matches it (built to the snapshot's audit head, compared key by key); the whole
    audit chain verified."""
    snapshots = release_snapshots(release=release)
    checked, problem = audit_verify()
    sbom = release_sbom(release=release)
    if not snapshots:
        return ComplianceReport(
            document=compliance_document(release=release),
            snapshots=snapshots,
            audit_checked=checked,
            audit_problem=problem,
            sbom=sbom,
        )
    latest = snapshot_get(release=release)
    frozen = json.loads(latest.document)
    live = compliance_document(release=release, audit_until=latest.audit_head_seq)
    version = frozen.get("document_version")
    if not isinstance(version, int) or not 1 <= version <= live["document_version"]:
        differences = ["document_version: the snapshot has another shape; compare by hand"]
    else:
        differences = document_differences(frozen, document_in_shape(live, version))
    events_since = audit_trail(obj=release).filter(seq__gt=latest.audit_head_seq).count()
    return ComplianceReport(
        document=live,
        snapshots=snapshots,
        latest=latest,
        differences=differences,
        events_since=events_since,
        audit_checked=checked,
        audit_problem=problem,
        sbom=sbom,
    )
