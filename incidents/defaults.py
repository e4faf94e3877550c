"""The incident response matrix a new project gets (the seed's "Incident Response
Matrix"): plain data that a project's admins edit afterwards. The data migration that
installs it for existing projects keeps its own frozen copy (migrations never import app
code that may change)."""

DEFAULT_MATRIX = [
    {
        "severity": "critical",
        "respond_minutes": 15,
        "action": "Immediate rollback",
        "audience_roles": ["admin", "release_manager", "approver", "stakeholder"],
        "escalate_after_minutes": 15,
        "max_escalations": 2,
    },
    {
        "severity": "high",
        "respond_minutes": 60,
        "action": "Hotfix deployment",
        "audience_roles": ["admin", "release_manager"],
        "escalate_after_minutes": 30,
        "max_escalations": 2,
    },
    {
        "severity": "medium",
        "respond_minutes": 240,
        "action": "Scheduled fix",
        "audience_roles": ["release_manager"],
        "escalate_after_minutes": 120,
        "max_escalations": 1,
    },
    {
        "severity": "low",
        "respond_minutes": None,
        "action": "Next release",
        "audience_roles": [],
        "escalate_after_minutes": 0,
        "max_escalations": 0,
    },
]
# What the low row's audience means: no one is paged; it goes into the release notes.
LOW_COMMUNICATION = "Release notes"
