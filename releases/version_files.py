"""Read and bump the version a project declares in its version file.

The kind of file is chosen by its name:

- `pyproject.toml`: `version = "..."` inside `[project]`, else inside `[tool.poetry]`;
- `package.json`: the top-level `"version"` value;
- `*.py`: a module-level `__version__ = "..."` (or `'...'`) line;
- `VERSION` / `VERSION.txt`: the whole content is the version, plus an optional newline.

Every edit is made on the text, so comments, key order, indentation and quote style stay
as the project wrote them; the structured parsers (tomllib, json) only read and verify.
Bumping to the version already there returns the content unchanged, so a retried release
step makes no change and no empty commit.
"""

import json
import re
import tomllib
from pathlib import PurePosixPath

from liftoff.errors import ValidationFailed

# What we are willing to write between quotes: SemVer and PEP 440 characters only, so a
# version can never close the string or add a line.
_VERSION_OK = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.+!_-]{0,99}$")

# A TOML table header such as `[project]` or `[ tool.poetry ]  # comment`.
_TOML_HEADER = re.compile(r"^[ \t]*\[[^\n]*$", re.MULTILINE)
_TOML_VERSION = re.compile(
    r"^(?P<prefix>[ \t]*version[ \t]*=[ \t]*)(?P<quote>[\"'])(?P<value>[^\"'\\\n]*)(?P=quote)",
    re.MULTILINE,
)
_PY_VERSION = re.compile(
    r"^(?P<prefix>__version__[ \t]*(?::[ \t]*str[ \t]*)?=[ \t]*)"
    r"(?P<quote>[\"'])(?P<value>[^\"'\\\n]*)(?P=quote)",
    re.MULTILINE,
)
_PYPROJECT_TABLES = (("project",), ("tool", "poetry"))


def version_file_kind(path: str) -> str:
    """ "pyproject", "package.json", "python" or "plain", from the file's name."""
    name = PurePosixPath(path.replace("\\", "/")).name
    if name == "pyproject.toml":
        return "pyproject"
    if name == "package.json":
        return "package.json"
    if name.endswith(".py"):
        return "python"
    if name in {"VERSION", "VERSION.txt"}:
        return "plain"
    raise ValidationFailed(
        f"{path} is not a version file Liftoff can edit: use pyproject.toml, package.json, "
        "a .py file with __version__, or VERSION / VERSION.txt."
    )


def read_version_file(path: str, content: str) -> str:
    """The version declared in `content`, the text of the file at `path`."""
    _, _, old = _locate(path, content)
    return old


def bump_version_file(path: str, content: str, new_version: str) -> tuple[str, str]:
    """(new content, old version) with the version in `content` replaced by `new_version`."""
    if not _VERSION_OK.match(new_version):
        raise ValidationFailed(
            f"{new_version!r} is not a version Liftoff can write to {path}: use letters, "
            "digits and . + ! _ - only (at most 100 characters)."
        )
    start, end, old = _locate(path, content)
    if old == new_version:
        return content, old
    new_content = content[:start] + new_version + content[end:]
    _verify(path, content, new_content, new_version)
    return new_content, old


# --- Locating the version: (start, end, value) of the text to replace --------------------


def _locate(path: str, content: str) -> tuple[int, int, str]:
    kind = version_file_kind(path)
    if kind == "pyproject":
        return _locate_pyproject(path, content)
    if kind == "package.json":
        return _locate_package_json(path, content)
    if kind == "python":
        return _locate_python(path, content)
    return _locate_plain(path, content)


def _pyproject_version(data: dict) -> tuple[tuple[str, ...], object] | None:
    """The first table of _PYPROJECT_TABLES that declares a version, and that version."""
    for table in _PYPROJECT_TABLES:
        node = data
        for key in table:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict) and "version" in node:
            return table, node["version"]
    return None


def _locate_pyproject(path: str, content: str) -> tuple[int, int, str]:
    try:
        data = tomllib.loads(content)
    except tomllib.TOMLDecodeError as exc:
        raise ValidationFailed(f"{path} is not valid TOML: {exc}") from exc
    found = _pyproject_version(data)
    if found is None:
        raise ValidationFailed(f"{path} has no version in [project] or [tool.poetry].")
    table, value = found
    header = "[" + ".".join(table) + "]"
    if not isinstance(value, str):
        raise ValidationFailed(f"{path}: the version in {header} is not a string.")

    # The table runs from its header to the next header (a sub-table such as
    # [project.urls] ends it too, as in TOML itself).
    header_re = re.compile(
        r"^[ \t]*\[[ \t]*" + r"[ \t]*\.[ \t]*".join(table) + r"[ \t]*\][ \t]*(?:#.*)?$",
        re.MULTILINE,
    )
    head = header_re.search(content)
    if head is not None:
        following = _TOML_HEADER.search(content, head.end())
        section_end = following.start() if following else len(content)
        match = _TOML_VERSION.search(content, head.end(), section_end)
        if match is not None and match["value"] == value:
            return match.start("value"), match.end("value"), value
    # Declared in a way we do not edit as text (dotted key, inline table, escapes).
    raise ValidationFailed(
        f"{path}: the version in {header} is not written as a plain "
        f'version = "..." line under {header}, so Liftoff cannot edit it safely.'
    )


def _locate_package_json(path: str, content: str) -> tuple[int, int, str]:
    try:
        data = json.loads(content)
    except json.JSONDecodeError as exc:
        raise ValidationFailed(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict) or "version" not in data:
        raise ValidationFailed(f'{path} has no top-level "version".')
    if not isinstance(data["version"], str):
        raise ValidationFailed(f'{path}: the top-level "version" is not a string.')
    span = _top_level_string_value(content, "version")
    if span is None or json.loads(content[span[0] - 1 : span[1] + 1]) != data["version"]:
        raise ValidationFailed(f'{path}: could not locate the top-level "version" to edit.')
    return span[0], span[1], data["version"]


def _locate_python(path: str, content: str) -> tuple[int, int, str]:
    match = _PY_VERSION.search(content)
    if match is None:
        raise ValidationFailed(
            f'{path} has no module-level __version__ = "..." line with a plain string.'
        )
    return match.start("value"), match.end("value"), match["value"]


def _locate_plain(path: str, content: str) -> tuple[int, int, str]:
    value = content.strip()
    if not value:
        raise ValidationFailed(f"{path} is empty: it should hold the version.")
    if len(value.split()) != 1:
        raise ValidationFailed(f"{path} should hold only the version, on one line.")
    start = content.index(value)
    return start, start + len(value), value


def _top_level_string_value(text: str, key: str) -> tuple[int, int] | None:
    """The span inside the quotes of the string value of `key` in the top-level JSON
    object, or None. A small scanner rather than a regex, so that a "version" key in a
    nested object (engines, publishConfig, ...) is never taken for the package's own."""
    depth = 0
    i = 0
    n = len(text)
    expecting_key = False
    while i < n:
        ch = text[i]
        if ch == '"':
            end = _string_end(text, i)
            if depth == 1 and expecting_key:
                name = json.loads(text[i : end + 1])
                j = end + 1
                while j < n and text[j] in " \t\r\n":
                    j += 1
                j += 1  # the colon
                while j < n and text[j] in " \t\r\n":
                    j += 1
                if name == key:
                    if j < n and text[j] == '"':
                        return j + 1, _string_end(text, j)
                    return None
                i = j
                expecting_key = False
                continue
            i = end + 1
            continue
        if ch in "{[":
            depth += 1
            expecting_key = ch == "{" and depth == 1
        elif ch in "}]":
            depth -= 1
        elif ch == "," and depth == 1:
            expecting_key = True
        i += 1
    return None


def _string_end(text: str, start: int) -> int:
    """Index of the closing quote of the JSON string opening at `start`."""
    i = start + 1
    while True:
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == '"':
            return i
        i += 1


# --- Verification: the edit changed the version and nothing else -------------------------


def _verify(path: str, old_content: str, new_content: str, new_version: str) -> None:
    kind = version_file_kind(path)
    if kind == "pyproject":
        before, after = tomllib.loads(old_content), tomllib.loads(new_content)
        table, _ = _pyproject_version(before)
        _set_nested(before, (*table, "version"), new_version)
    elif kind == "package.json":
        before, after = json.loads(old_content), json.loads(new_content)
        before["version"] = new_version
    else:
        before, after = new_version, read_version_file(path, new_content)
    if before != after:
        raise ValidationFailed(f"{path}: bumping the version would change more than the version.")


def _set_nested(data: dict, keys: tuple[str, ...], value: str) -> None:
    for key in keys[:-1]:
        data = data[key]
    data[keys[-1]] = value
