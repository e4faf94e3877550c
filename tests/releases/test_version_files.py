import json

import pytest

from liftoff.errors import ValidationFailed
from releases.version_files import bump_version_file, read_version_file

PYPROJECT = """\
# The build is managed by uv.
[build-system]
requires = ["hatchling"]

[project]
name = "demo"   # keep this comment
version = "1.2.3"  # bumped by Liftoff
dependencies = [
    "requests>=2",
]

[project.urls]
Homepage = "https://example.test"

[tool.other]
version = "9.9.9"
"""

POETRY = """\
[tool.poetry]
name = "demo"
version = '0.4.0'
description = "A project still on Poetry"

[tool.poetry.dependencies]
python = "^3.12"
"""


# --- pyproject.toml ---------------------------------------------------------------------


def test_pyproject_bumps_project_version_and_keeps_everything_else():
    new, old = bump_version_file("pyproject.toml", PYPROJECT, "1.3.0")

    assert old == "1.2.3"
    assert new == PYPROJECT.replace('version = "1.2.3"', 'version = "1.3.0"')
    assert read_version_file("pyproject.toml", new) == "1.3.0"


def test_pyproject_with_tool_poetry_only_bumps_poetry_version_keeping_single_quotes():
    new, old = bump_version_file("backend/pyproject.toml", POETRY, "0.5.0")

    assert old == "0.4.0"
    assert new == POETRY.replace("version = '0.4.0'", "version = '0.5.0'")


def test_pyproject_prefers_project_over_tool_poetry():
    content = '[tool.poetry]\nversion = "0.0.1"\n\n[project]\nname = "x"\nversion = "2.0.0"\n'

    new, old = bump_version_file("pyproject.toml", content, "2.1.0")

    assert old == "2.0.0"
    assert '[tool.poetry]\nversion = "0.0.1"' in new
    assert new.endswith('version = "2.1.0"\n')


def test_pyproject_version_in_a_later_table_is_not_taken_for_the_project_version():
    content = '[project]\nname = "x"\ndynamic = ["version"]\n\n[tool.other]\nversion = "1.0"\n'

    with pytest.raises(ValidationFailed) as excinfo:
        bump_version_file("pyproject.toml", content, "1.1")

    assert str(excinfo.value) == "pyproject.toml has no version in [project] or [tool.poetry]."


def test_pyproject_dotted_key_version_is_refused_rather_than_guessed():
    content = 'project.name = "x"\nproject.version = "1.0.0"\n'

    with pytest.raises(ValidationFailed, match=r"cannot edit it safely"):
        bump_version_file("pyproject.toml", content, "1.0.1")


def test_pyproject_bump_is_idempotent():
    once, _ = bump_version_file("pyproject.toml", PYPROJECT, "1.3.0")
    twice, old = bump_version_file("pyproject.toml", once, "1.3.0")

    assert twice == once
    assert old == "1.3.0"


def test_invalid_toml_names_the_file():
    with pytest.raises(ValidationFailed, match=r"^svc/pyproject.toml is not valid TOML"):
        bump_version_file("svc/pyproject.toml", "[project\nversion = 1", "1.0.0")


# --- package.json -----------------------------------------------------------------------


def test_package_json_keeps_indentation_and_key_order():
    data = {
        "name": "web",
        "engines": {"node": ">=20", "version": "not-this-one"},
        "version": "3.0.0-rc.1",
        "scripts": {"build": "vite build"},
    }
    content = json.dumps(data, indent=4) + "\n"

    new, old = bump_version_file("web/package.json", content, "3.0.0")

    assert old == "3.0.0-rc.1"
    assert new == content.replace('"version": "3.0.0-rc.1"', '"version": "3.0.0"')
    assert json.loads(new)["engines"]["version"] == "not-this-one"


def test_package_json_with_tabs_and_nested_version_first_bumps_top_level():
    content = '{\n\t"config": {"version": "1"},\n\t"version" :  "0.9.0",\n\t"private": true\n}'

    new, old = bump_version_file("package.json", content, "1.0.0")

    assert old == "0.9.0"
    assert new == content.replace('"0.9.0"', '"1.0.0"')


def test_package_json_without_version_is_refused():
    with pytest.raises(ValidationFailed, match=r'^package.json has no top-level "version"'):
        bump_version_file("package.json", '{"name": "x", "a": {"version": "1"}}', "1.0.0")


def test_package_json_bump_is_idempotent():
    content = '{\n  "name": "x",\n  "version": "1.0.0"\n}\n'

    assert bump_version_file("package.json", content, "1.0.0") == (content, "1.0.0")


# --- __version__ in a Python file -------------------------------------------------------


@pytest.mark.parametrize("quote", ['"', "'"])
def test_python_version_keeps_quote_style(quote):
    content = f'"""The package."""\n\n__version__ = {quote}0.1.0{quote}\n__all__ = ["x"]\n'

    new, old = bump_version_file("src/pkg/__init__.py", content, "0.2.0")

    assert old == "0.1.0"
    assert new == content.replace(f"{quote}0.1.0{quote}", f"{quote}0.2.0{quote}")


def test_python_version_with_annotation():
    new, old = bump_version_file("pkg/_version.py", '__version__: str = "1.0"\n', "1.1")

    assert (new, old) == ('__version__: str = "1.1"\n', "1.0")


def test_python_file_without_version_is_refused():
    with pytest.raises(ValidationFailed, match=r"^pkg/about.py has no module-level __version__"):
        bump_version_file("pkg/about.py", "def version():\n    return '1.0'\n", "1.1")


def test_python_bump_is_idempotent():
    content = "__version__ = '2.0.0'\n"

    assert bump_version_file("pkg/__init__.py", content, "2.0.0") == (content, "2.0.0")


# --- VERSION / VERSION.txt --------------------------------------------------------------


@pytest.mark.parametrize("name", ["VERSION", "VERSION.txt"])
def test_plain_version_file_keeps_trailing_newline(name):
    assert bump_version_file(name, "1.4.2\n", "1.5.0") == ("1.5.0\n", "1.4.2")
    assert bump_version_file(f"sub/{name}", "1.4.2", "1.5.0") == ("1.5.0", "1.4.2")


def test_plain_version_file_bump_is_idempotent():
    assert bump_version_file("VERSION", "1.5.0\n", "1.5.0") == ("1.5.0\n", "1.5.0")


def test_plain_version_file_with_more_than_a_version_is_refused():
    with pytest.raises(ValidationFailed, match=r"^VERSION should hold only the version"):
        bump_version_file("VERSION", "1.0.0\nreleased on a Tuesday\n", "1.0.1")


def test_empty_version_file_is_refused():
    with pytest.raises(ValidationFailed, match=r"^VERSION is empty"):
        read_version_file("VERSION", "\n")


# --- Anything else ----------------------------------------------------------------------


def test_unknown_file_kind_is_refused_naming_the_file():
    with pytest.raises(ValidationFailed, match=r"^Cargo.toml is not a version file"):
        bump_version_file("Cargo.toml", '[package]\nversion = "1.0.0"\n', "1.0.1")


@pytest.mark.parametrize("bad", ['1.0"\nevil = "x', "", "1.0 beta", "1.0\\", "-1.0"])
def test_a_version_that_could_break_out_of_its_string_is_refused(bad):
    with pytest.raises(ValidationFailed, match=r"is not a version Liftoff can write"):
        bump_version_file("pyproject.toml", PYPROJECT, bad)
