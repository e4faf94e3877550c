"""The quality gates a new project gets (the "Quality Gates" section of the seed's
release process): plain data that a project's admins edit afterwards on its gates page."""

DEFAULT_GATES = [
    {
        "key": "coverage",
        "name": "Test coverage",
        "kind": "automated",
        "comparator": "gte",
        "threshold": 90.0,
        "unit": "%",
        "description": "Line coverage of the test suite (Cobertura XML from coverage.py).",
    },
    {
        "key": "security-scan",
        "name": "Security scan: high and critical findings",
        "kind": "automated",
        "comparator": "eq",
        "threshold": 0.0,
        "unit": "findings",
        "description": "High and critical findings of the static security scan (bandit).",
    },
    {
        "key": "dependency-vulnerabilities",
        "name": "Dependency vulnerabilities",
        "kind": "automated",
        "comparator": "eq",
        "threshold": 0.0,
        "unit": "vulnerabilities",
        "description": (
            "Known vulnerabilities in the dependencies (pip-audit --strict). A scan that "
            "could not reach its vulnerability service is not measured, never a pass."
        ),
    },
    {
        "key": "performance-regression",
        "name": "Performance regression",
        "kind": "automated",
        "comparator": "lte",
        "threshold": 5.0,
        "unit": "%",
        "description": "(value − baseline) / baseline of the performance report.",
    },
    {
        "key": "accessibility",
        "name": "Accessibility violations (WCAG 2.1 AA)",
        "kind": "automated",
        "comparator": "eq",
        "threshold": 0.0,
        "unit": "violations",
        "description": "axe-core violations, posted by CI or measured by a validation command.",
    },
    {
        "key": "dependency-licences",
        "name": "Dependency licences",
        "kind": "automated",
        "comparator": "eq",
        "threshold": 0.0,
        "unit": "packages",
        "description": (
            "Packages whose licence the project's allow-list does not allow, read from a "
            "CycloneDX SBOM of the installed environment (cyclonedx-py environment). A "
            "licence that cannot be read is not measured, never a pass."
        ),
    },
    {
        "key": "security-review",
        "name": "Security review",
        "kind": "manual",
        "required_approvals": 1,
        "description": "An approver has reviewed the security assessment.",
    },
    {
        "key": "documentation",
        "name": "Documentation complete",
        "kind": "manual",
        "required_approvals": 1,
        "description": "All features documented.",
    },
    {
        "key": "personality-modes",
        "name": "All personality modes functional",
        "kind": "manual",
        "required_approvals": 1,
        "description": "Oracle, compliance and cosmic modes checked by hand.",
    },
]
