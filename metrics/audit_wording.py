"""How metrics' two actions read in the audit trail: a project's targets changed (against
the project) and a release rated (against the release). Words from the event only."""

from liftoff.audit import register_audit_kind, register_describer

register_audit_kind("metrics", "Metrics", order=70)


def _after(event) -> dict:
    return event.after if isinstance(event.after, dict) else {}


def _targets(event, ctx) -> str:
    after = _after(event)
    return (
        "changed the metric targets (success rate > {success_rate_target} %, rollbacks < "
        "{rollback_rate_target} %, deployment time < {deployment_minutes_target} min, "
        "satisfaction > {satisfaction_target}/5, DORA {dora_year} bands)".format_map(
            {
                k: after.get(k, "?")
                for k in (
                    "success_rate_target",
                    "rollback_rate_target",
                    "deployment_minutes_target",
                    "satisfaction_target",
                    "dora_year",
                )
            }
        )
    )


def _rated(event, ctx) -> str:
    before = event.before if isinstance(event.before, dict) else {}
    score = _after(event).get("score")
    if before.get("score") is not None:
        return f"changed their rating of the release from {before['score']} to {score} of 5"
    return f"rated the release {score} of 5"


register_describer("project.metric_settings_changed", _targets, kind="metrics")
register_describer("release.rated", _rated, kind="metrics")


def _snapshot(event, ctx) -> str:
    after = _after(event)
    how = "when it shipped" if after.get("reason") == "shipped" else "again"
    return (
        f"froze the compliance evidence {how} (snapshot {after.get('number', '?')}, "
        f"SHA-256 {str(after.get('sha256', '?'))[:12]}…)"
    )


register_describer("release.evidence_snapshot_taken", _snapshot, kind="metrics")


def _sbom(event, ctx) -> str:
    after = _after(event)
    if after.get("status") == "succeeded":
        return f"made the SBOM from {after.get('source_file', '?')}"
    return f"could not make the SBOM: {after.get('error', '?')}"


register_describer("release.sbom_made", _sbom, kind="metrics")


_LEVELS = {1: "low", 2: "medium", 3: "high"}


def _risk(event, ctx) -> str:
    after = _after(event)
    likelihood = _LEVELS.get(after.get("likelihood"), "?")
    impact = _LEVELS.get(after.get("impact"), "?")
    return f"assessed the risk: likelihood {likelihood}, impact {impact}"


register_describer("release.risk_assessed", _risk, kind="metrics")
