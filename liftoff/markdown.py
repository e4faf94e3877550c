"""Markdown to HTML, sanitised: the one place user-written Markdown becomes markup."""

import functools

import markdown as markdown_lib
import nh3
from django.utils.safestring import SafeString, mark_safe

ALLOWED_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "code",
    "del",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "li",
    "ol",
    "p",
    "pre",
    "strong",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "th": {"align"}, "td": {"align"}}


# Texts up to this long are kept rendered per process (the last 256): pages render the
# same description, postmortem or notes on every view, and building the Markdown parser
# and sanitising cost a few ms each time. The result depends on the text alone.
KEPT_MAX_CHARS = 20_000


def render_markdown(text: str) -> SafeString:
    text = text or ""
    if not text:
        return mark_safe("")
    if len(text) <= KEPT_MAX_CHARS:
        return _render_kept(text)
    return _render(text)


@functools.lru_cache(maxsize=256)
def _render_kept(text: str) -> SafeString:
    return _render(text)


def _render(text: str) -> SafeString:
    html = markdown_lib.markdown(text, extensions=["tables", "fenced_code", "sane_lists"])
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )
    return mark_safe(clean)  # noqa: S308 - sanitised by nh3 just above
