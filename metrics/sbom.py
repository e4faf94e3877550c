"""A release's SBOM: the CycloneDX JSON of the Python dependencies its tagged commit
declares, made offline by the cyclonedx-bom package from the first dependency file found
at that commit: a lock file (uv.lock, poetry.lock, Pipfile.lock) before a requirements
file. Runs in a Celery task (`metrics.tasks`), never in a request: it reads git and starts
a process.

- uv.lock: cyclonedx-py has no reader for it, so its packages are pinned into a
  requirements text (`name==version`), then `cyclonedx-py requirements`;
- poetry.lock: `cyclonedx-py poetry` on a folder holding it and the pyproject.toml of the
  same commit;
- Pipfile.lock: `cyclonedx-py pipenv` on a folder holding it;
- a requirements file: `cyclonedx-py requirements`.

The files are read from the release's workspace clone (the one Prepare and Ship used),
or else from the project's mirror, with `git show <commit>:<file>`: no checkout is
written, nothing of the repository runs. The commit comes from git (the release's head),
and is checked to be a hexadecimal id before it reaches git's argument list.

A lock file names no licences; the licence gate (gates.licences) reads them from the
environment a validation run installed, which is where they are.
"""

import re
import sys
import tempfile
import tomllib
from pathlib import Path

import git

from liftoff.commands import run_command
from releases.run_kinds import workspace_path
from releases.selectors import project_mirror_path

# Where a project declares its Python dependencies, in the order they are looked for: a
# lock file pins the whole tree, a requirements file perhaps only the top of it.
LOCK_FILES = ("uv.lock", "poetry.lock", "Pipfile.lock")
SBOM_SOURCES = (
    *LOCK_FILES,
    "requirements.txt",
    "requirements/base.txt",
    "requirements/prod.txt",
    "requirements-dev.txt",
)
SPEC_VERSION = "1.6"
TIMEOUT_SECONDS = 120
COMMIT = re.compile(r"^[0-9a-f]{7,64}$")


class SbomProblem(Exception):
    """Why no SBOM could be made (stored on the row, shown on the report)."""


def _repository(release) -> git.Repo:
    for path in (workspace_path(release), project_mirror_path(release.project)):
        if Path(path).is_dir():
            return git.Repo(path)
    raise SbomProblem("Neither the release's workspace nor the project's mirror is here.")


def dependency_file_at(release, commit: str) -> tuple[str, dict[str, str]]:
    """(the first of SBOM_SOURCES present at `commit`, {path: content} of the files its
    reader needs: poetry.lock comes with the pyproject.toml beside it)."""
    if not COMMIT.match(commit or ""):
        raise SbomProblem("The release has no commit to read its dependencies from.")
    repo = _repository(release)
    for name in SBOM_SOURCES:
        try:
            files = {name: repo.git.show(f"{commit}:{name}")}
        except git.GitCommandError:
            continue
        if name == "poetry.lock":
            try:
                files["pyproject.toml"] = repo.git.show(f"{commit}:pyproject.toml")
            except git.GitCommandError:
                raise SbomProblem(
                    f"poetry.lock at {commit[:12]} has no pyproject.toml beside it."
                ) from None
        return name, files
    raise SbomProblem(
        f"No dependency file at {commit[:12]} (looked for {', '.join(SBOM_SOURCES)})."
    )


def uv_lock_requirements(content: str) -> str:
    """The packages of a uv.lock as pinned requirements, one `name==version` a line: every
    package but the project itself and the workspace's members (editable or virtual
    sources, and local folders), which are not dependencies. A universal lock holds the
    packages of every platform it resolved for: all are listed."""
    try:
        lock = tomllib.loads(content)
    except tomllib.TOMLDecodeError as exc:
        raise SbomProblem(f"uv.lock is not valid TOML: {exc}.") from None
    packages = lock.get("package")
    if not isinstance(packages, list):
        raise SbomProblem("uv.lock lists no packages ([[package]] tables).")
    lines = []
    for package in packages:
        if not isinstance(package, dict):
            continue
        source = package.get("source") if isinstance(package.get("source"), dict) else {}
        if {"editable", "virtual", "directory", "path"} & set(source):
            continue
        name, version = package.get("name"), package.get("version")
        if not isinstance(name, str) or not isinstance(version, str):
            continue
        if not _REQUIREMENT_PART.match(name) or not _REQUIREMENT_PART.match(version):
            raise SbomProblem(f"uv.lock has a package that is not a name and version: {name!r}.")
        lines.append(f"{name}=={version}")
    if not lines:
        raise SbomProblem("uv.lock has no dependencies beside the project itself.")
    return "\n".join(sorted(set(lines), key=str.lower))


# A package's name or version as a requirement line may hold them (PEP 508 / PEP 440);
# anything else in a lock file is refused rather than passed on to the reader.
_REQUIREMENT_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+!-]*$")


def sbom_from_files(name: str, files: dict[str, str]) -> str:
    """The CycloneDX JSON text of the dependency file `name` (with `files`, as
    `dependency_file_at` gives them)."""
    content = files[name]
    if name == "uv.lock":
        return sbom_from_requirements(uv_lock_requirements(content), name=name)
    if name == "poetry.lock":
        return _cyclonedx(["poetry"], files, name=name)
    if name == "Pipfile.lock":
        return _cyclonedx(["pipenv"], files, name=name)
    return sbom_from_requirements(content, name=name)


def sbom_from_requirements(content: str, *, name: str = "requirements.txt") -> str:
    """The CycloneDX JSON text of a requirements file's content (offline: the file's
    pins are read, no index is asked)."""
    return _cyclonedx(
        ["requirements", "requirements.txt"], {"requirements.txt": content + "\n"}, name=name
    )


def _cyclonedx(command: list[str], files: dict[str, str], *, name: str) -> str:
    """Run `cyclonedx-py <command…> ` in a temporary folder holding `files` (the readers
    take the folder, or the file's name in it, as their argument)."""
    with tempfile.TemporaryDirectory(prefix="liftoff-sbom-") as folder:
        for path, text in files.items():
            (Path(folder) / path).write_text(text)
        output = Path(folder) / "sbom.cdx.json"
        argv = [sys.executable, "-m", "cyclonedx_py", *command]
        if len(command) == 1:  # poetry, pipenv: the project's folder
            argv.append(folder)
        argv += ["--of", "JSON", "--sv", SPEC_VERSION, "--output-reproducible", "-o", str(output)]
        result = run_command(argv, cwd=folder, timeout=TIMEOUT_SECONDS)
        if result.exit_code != 0 or not output.is_file():
            raise SbomProblem(f"cyclonedx-py could not read {name}: {result.output_tail[-500:]}")
        return output.read_text()
