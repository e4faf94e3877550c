"""The run kinds of the releases app. Registered in ReleasesConfig.ready()."""

from pathlib import Path

from django.conf import settings

from liftoff.git import GIT_ENV, fetch_mirror_args, list_refs, mirror_ensure, redact_url
from releases.models import Project
from runs.registry import RunKind, StepSpec, register_kind


def mirror_path(project: Project) -> Path:
    return Path(settings.DATA_DIR) / "mirrors" / f"{project.slug}.git"


def _project(ctx) -> Project:
    return Project.objects.get(pk=ctx.run.subject_id)


def sync_prepare(ctx):
    project = _project(ctx)
    path = mirror_path(project)
    created = mirror_ensure(path)
    ctx.log(f"{'Created' if created else 'Using'} the mirror at {path}")
    return "New mirror" if created else "Mirror ready"


def sync_fetch(ctx):
    project = _project(ctx)
    ctx.log(f"Fetching {redact_url(project.repo_url)}")
    ctx.run_command(
        fetch_mirror_args(project.repo_url),
        cwd=mirror_path(project),
        env=GIT_ENV,
        timeout=900,
        silence_timeout=300,
    )
    return f"Fetched {redact_url(project.repo_url)}"


def sync_record(ctx):
    from releases.services import project_refs_record

    project = _project(ctx)
    refs = list_refs(mirror_path(project))
    for ref in refs:
        ctx.log(f"{ref['kind']:<6} {ref['name']} {ref['commit'][:10]}")
    counts = project_refs_record(project=project, refs=refs)
    return (
        f"{counts['branches']} branches, {counts['tags']} tags "
        f"({counts['added']} new, {counts['moved']} moved, {counts['removed']} gone)"
    )


SYNC = register_kind(
    RunKind(
        name="project.sync",
        label="Repository sync",
        steps=(
            StepSpec("prepare", "Prepare the mirror", sync_prepare),
            StepSpec("fetch", "Fetch the remote", sync_fetch),
            StepSpec("record", "Record branches and tags", sync_record),
        ),
        lock_keys=lambda run: [f"project:{run.subject_id}:mirror"],
    )
)
