"""Retrospective templates as data: the seed's default, and the plain text an admin edits
("## Heading" starts a group, "- question" adds a question to it)."""

from liftoff.errors import ValidationFailed

# The seed's "Release Retrospective Ritual" (RELEASE_PROCESS.md).
DEFAULT_RETRO_GROUPS = [
    {
        "heading": "🔮 Oracle Reflection",
        "questions": [
            "What wisdom did this release bring to our cosmic journey?",
            "How did the development process serve our spiritual growth?",
            "What deeper insights emerged through the challenges faced?",
        ],
    },
    {
        "heading": "📊 Compliance Review",
        "questions": [
            "Were all process gates followed correctly?",
            "What documentation gaps need addressing?",
            "How can we improve our audit trails?",
        ],
    },
    {
        "heading": "🌠 Cosmic Celebration",
        "questions": [
            "How do we honor the team's creative contributions?",
            "What beauty emerged through our collaborative efforts?",
            "How can we share our cosmic joy with the community?",
        ],
    },
]

MAX_QUESTIONS = 50
MAX_LENGTH = 300


def retro_groups_to_text(groups: list[dict]) -> str:
    lines = []
    for group in groups:
        lines.append(f"## {group['heading']}")
        lines += [f"- {question}" for question in group["questions"]]
        lines.append("")
    return "\n".join(lines).strip() + "\n"


def retro_groups_from_text(text: str) -> list[dict]:
    """The groups an edited text describes; ValidationFailed naming the line that is
    neither a heading nor a question, a question before any heading, an empty group."""
    groups: list[dict] = []
    problems = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("## ") and line[3:].strip():
            groups.append({"heading": line[3:].strip()[:MAX_LENGTH], "questions": []})
        elif line.startswith("- ") and line[2:].strip():
            if not groups:
                problems.append(f"Line {number}: a question before any “## Heading”.")
            else:
                groups[-1]["questions"].append(line[2:].strip()[:MAX_LENGTH])
        else:
            problems.append(f"Line {number}: start it with “## ” (a group) or “- ” (a question).")
    if not groups:
        problems.append("Write at least one group with one question.")
    problems += [
        f"The group “{g['heading']}” has no question." for g in groups if not g["questions"]
    ]
    if sum(len(g["questions"]) for g in groups) > MAX_QUESTIONS:
        problems.append(f"At most {MAX_QUESTIONS} questions.")
    if problems:
        raise ValidationFailed("The template is not valid.", errors={"text": problems})
    return groups


def retro_groups_frozen(groups: list[dict]) -> list[dict]:
    """The template's groups with a stable key per question ("<group>-<question>")."""
    return [
        {
            "heading": group["heading"],
            "questions": [
                {"key": f"{g}-{q}", "text": text} for q, text in enumerate(group["questions"])
            ],
        }
        for g, group in enumerate(groups)
    ]
