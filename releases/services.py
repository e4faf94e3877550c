import re

from django.db import IntegrityError, transaction

from liftoff.audit import audit_record
from liftoff.errors import ValidationFailed
from liftoff.git import ref_name_problem, remote_url_problem
from releases.models import Project, default_cadence_days

PATTERN_PLACEHOLDERS = {"{version}", "{codename-slug}", "{codename}"}
_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?$")


def _pattern_problem(pattern: str) -> str | None:
    if "{version}" not in pattern:
        return "must contain {version}"
    rest = pattern
    for placeholder in PATTERN_PLACEHOLDERS:
        rest = rest.replace(placeholder, "x")
    if "{" in rest or "}" in rest:
        return "may use only {version}, {codename} and {codename-slug}"
    return ref_name_problem(rest)


def _version_file_problem(path: str) -> str | None:
    if not isinstance(path, str) or not path or path.startswith(("/", "-")):
        return "must be a relative path inside the repository"
    if any(part in {"", ".", ".."} for part in path.split("/")):
        return "must not contain '.', '..' or empty parts"
    return None


def _project_errors(data: dict) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}

    def add(field, message):
        errors.setdefault(field, []).append(message)

    if not _SLUG.match(data["slug"]):
        add("slug", "Use 1–50 lowercase letters, digits and hyphens.")
    if not data["name"].strip():
        add("name", "This field is required.")
    if problem := remote_url_problem(data["repo_url"]):
        add("repo_url", f"The repository URL {problem}.")
    if problem := ref_name_problem(data["default_branch"]):
        add("default_branch", f"The branch name {problem}.")
    files = data["version_files"]
    if not isinstance(files, list) or not files:
        add("version_files", "List at least one file that holds the version.")
    else:
        for path in files:
            if problem := _version_file_problem(path):
                add("version_files", f"{path!r} {problem}.")
    for field in ("branch_pattern", "tag_pattern"):
        if problem := _pattern_problem(data[field]):
            add(field, f"The pattern {problem}.")
    pool = data["codename_pool"]
    if not isinstance(pool, list) or not all(isinstance(n, str) and n.strip() for n in pool):
        add("codename_pool", "List codenames as non-empty strings.")
    return errors


def project_create(
    *,
    actor,
    slug: str,
    name: str,
    repo_url: str,
    default_branch: str = "main",
    version_files: list[str] | None = None,
    description: str = "",
    branch_pattern: str = "release/v{version}-{codename-slug}",
    tag_pattern: str = "v{version}",
    codename_pool: list[str] | None = None,
    cadence_days: dict | None = None,
) -> Project:
    data = {
        "slug": slug.strip(),
        "name": name.strip(),
        "repo_url": repo_url.strip(),
        "default_branch": default_branch.strip(),
        "version_files": version_files if version_files is not None else ["pyproject.toml"],
        "description": description,
        "branch_pattern": branch_pattern,
        "tag_pattern": tag_pattern,
        "codename_pool": codename_pool or [],
        "cadence_days": cadence_days or default_cadence_days(),
    }
    if errors := _project_errors(data):
        raise ValidationFailed("The project could not be created.", errors=errors)
    try:
        with transaction.atomic():
            project = Project.objects.create(**data)
            audit_record(actor=actor, action="project.created", obj=project, after=data)
    except IntegrityError:
        raise ValidationFailed(
            "The project could not be created.",
            errors={"slug": [f"A project with the slug “{data['slug']}” exists already."]},
        ) from None
    return project


@transaction.atomic
def project_refs_record(*, project: Project, refs: list[dict]) -> dict[str, int]:
    """Replace the project's known branches and tags with what the last sync saw."""
    from django.utils import timezone

    from releases.models import ProjectRef

    now = timezone.now()
    before = {(r.kind, r.name): r.commit for r in project.refs.all()}
    after = {(r["kind"], r["name"]): r["commit"] for r in refs}
    project.refs.all().delete()
    ProjectRef.objects.bulk_create(ProjectRef(project=project, synced_at=now, **r) for r in refs)
    Project.objects.filter(pk=project.pk).update(last_synced_at=now)
    counts = {
        "branches": sum(1 for k, _ in after if k == "branch"),
        "tags": sum(1 for k, _ in after if k == "tag"),
        "added": len(after.keys() - before.keys()),
        "removed": len(before.keys() - after.keys()),
        "moved": sum(1 for k in after.keys() & before.keys() if after[k] != before[k]),
    }
    audit_record(actor=None, action="project.synced", obj=project, after=counts)
    return counts


def project_sync(*, project: Project, actor):
    """Start a sync run of the project's repository (one at a time per project)."""
    from runs.services import run_create

    return run_create(kind="project.sync", subject=project, project=project, requested_by=actor)
