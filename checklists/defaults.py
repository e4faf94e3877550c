"""The default checklist templates a new project starts with (its default quality gates
are in gates/defaults.py).

They encode the first customer's release process (shared/seed/RELEASE_PROCESS.md): the
pre-release checklist, the three manual test protocols with their scenarios and validation
criteria, the staging validation checklist, the production deployment steps, the
retrospective, the release security checklist and the compliance documents. They are
plain data: once installed, a project's admins edit them like any other template.

Items are written in the template editor's line format (`checklists.services.parse_items`):
`[test]` marks a manual test scenario, `[optional]` an item that does not block,
`[auto:tag]` an item Liftoff ticks itself when its run has done it (here: the ship run's
tag), and the text after ` | ` is the item's description.
"""

DEFAULT_TEMPLATES = [
    {
        "phase": "preparation",
        "name": "Pre-release checklist",
        "description": "Before the release branch is validated.",
        "items": """\
Vision alignment | Release goals align with the roadmap
Feature complete | All planned features implemented and tested
Security review | Security assessment completed
Documentation | All documentation updated
Testing | Full test suite passing with more than 90 % coverage
Localization | All user-facing strings localized
Dependencies | All dependencies updated and secured""",
    },
    {
        "phase": "validation",
        "name": "Oracle mode validation",
        "description": (
            "Validation criteria: response depth and insight quality; appropriate use of "
            "cosmic metaphors; layered meaning structure; mystical tone preservation."
        ),
        "items": """\
[test] Deep wisdom queries about cybersecurity philosophy
[test] Complex scenario analysis with layered responses
[test] Metaphorical language consistency
[test] Contemplative pace maintenance""",
    },
    {
        "phase": "validation",
        "name": "Compliance mode validation",
        "description": (
            "Validation criteria: structured report format; accurate framework citations; "
            "complete audit trails; risk level assessments."
        ),
        "items": """\
[test] NIST CSF framework analysis
[test] Audit documentation generation
[test] Risk assessment workflows
[test] Control mapping accuracy""",
    },
    {
        "phase": "validation",
        "name": "Cosmic mode validation",
        "description": (
            "Validation criteria: inspirational language flow; visual appeal of responses; "
            "creative solution generation; spiritual-technical integration."
        ),
        "items": """\
[test] Creative problem-solving queries
[test] Inspirational technical content
[test] Beautiful response formatting
[test] Aesthetic consciousness""",
    },
    {
        "phase": "staging",
        "name": "Staging validation checklist",
        "description": "After the release is deployed to staging.",
        "items": """\
Staging environment health check | The staging deployment answers its health checks
Oracle mode functionality
Compliance reports generation
Cosmic interface beauty
Security controls active
Performance metrics normal""",
    },
    {
        "phase": "production",
        "name": "Production deployment",
        "description": "The production deployment ritual, in order.",
        "items": """\
Final alignment check | Every gate passed or waived, staging checklist complete
[auto:tag] Release tag created | Annotated tag with the codename, pushed
Deployed to production
Deployment verified | Health checks of every mode answer""",
    },
    {
        "phase": "post_release",
        "name": "Release retrospective",
        "description": "Oracle reflection, compliance review and cosmic celebration.",
        "items": """\
[optional] What did this release bring to our journey?
[optional] Were all process gates followed correctly?
[optional] What documentation gaps need addressing?
[optional] How can we improve our audit trails?
[optional] How do we honour the team's contributions?
[optional] Metrics analysis | Review deployment metrics and find what to improve
[optional] Post-release security monitoring
[optional] Community feedback gathered""",
    },
    {
        "phase": "security",
        "name": "Release security checklist",
        "description": "",
        "items": """\
Vulnerability scanning | No critical or high severity issues
SBOM generation | Software bill of materials created
License compliance | All dependencies properly licensed
Audit trail | Complete release audit documentation
Penetration testing | Security validation completed
Secrets management | No exposed credentials or keys""",
    },
    {
        "phase": "security",
        "name": "Compliance documentation",
        "description": "Each release includes these documents.",
        "items": """\
Release security assessment report
Change impact analysis
Regulatory compliance validation
Risk assessment matrix
Business continuity verification""",
    },
]
