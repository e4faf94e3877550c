"""A release's SBOM: the CycloneDX JSON of the Python dependencies its tagged commit
declares, made offline by the cyclonedx-bom package (`cyclonedx-py requirements`) from
the first requirements file found at that commit. Runs in a Celery task (`metrics.tasks`),
never in a request: it reads git and starts a process.

The files are read from the release's workspace clone (the one Prepare and Ship used),
or else from the project's mirror, with `git show <commit>:<file>`: no checkout is
written, nothing of the repository runs. The commit comes from git (the release's head),
and is checked to be a hexadecimal id before it reaches git's argument list.
"""

import re
import sys
import tempfile
from pathlib import Path

import git

from liftoff.commands import run_command
from releases.run_kinds import workspace_path
from releases.selectors import project_mirror_path

# Where a project declares its Python dependencies, in the order they are looked for.
SBOM_SOURCES = (
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


def dependency_file_at(release, commit: str) -> tuple[str, str]:
    """(path, content) of the first of SBOM_SOURCES present at `commit`."""
    if not COMMIT.match(commit or ""):
        raise SbomProblem("The release has no commit to read its dependencies from.")
    repo = _repository(release)
    for name in SBOM_SOURCES:
        try:
            return name, repo.git.show(f"{commit}:{name}")
        except git.GitCommandError:
            continue
    raise SbomProblem(
        f"No dependency file at {commit[:12]} (looked for {', '.join(SBOM_SOURCES)})."
    )


def sbom_from_requirements(content: str, *, name: str = "requirements.txt") -> str:
    """The CycloneDX JSON text of a requirements file's content (offline: the file's
    pins are read, no index is asked)."""
    with tempfile.TemporaryDirectory(prefix="liftoff-sbom-") as folder:
        source, output = Path(folder) / "requirements.txt", Path(folder) / "sbom.json"
        source.write_text(content + "\n")
        result = run_command(
            [
                sys.executable,
                "-m",
                "cyclonedx_py",
                "requirements",
                str(source),
                "--of",
                "JSON",
                "--sv",
                SPEC_VERSION,
                "--output-reproducible",
                "-o",
                str(output),
            ],
            cwd=folder,
            timeout=TIMEOUT_SECONDS,
        )
        if result.exit_code != 0 or not output.is_file():
            raise SbomProblem(f"cyclonedx-py could not read {name}: {result.output_tail[-500:]}")
        return output.read_text()
