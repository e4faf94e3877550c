"""Template rules Django does not enforce."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# `{# … #}` is a one-line comment: across lines Django prints it as text on the page.
MULTILINE_COMMENT = re.compile(r"\{#(?:(?!#\}).)*\n", re.S)


def _templates():
    for path in ROOT.rglob("*.html"):
        parts = path.relative_to(ROOT).parts
        if parts[0] in {".venv", "var", "node_modules", "staticfiles"} or "templates" not in parts:
            continue
        yield path


def test_no_template_comment_spans_lines():
    found = []
    for path in _templates():
        text = path.read_text()
        for match in MULTILINE_COMMENT.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            found.append(f"{path.relative_to(ROOT)}:{line}")
    assert found == [], "use {% comment %} for comments over several lines: " + ", ".join(found)
