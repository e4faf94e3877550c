"""The run kinds of the releases app. Registered in ReleasesConfig.ready()."""

from pathlib import Path

import git
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from liftoff.git import (
    LIFTOFF_IDENTITY,
    clone_or_fetch,
    fetch_mirror_args,
    git_env,
    git_secret_values,
    liftoff_commit_message,
    list_refs,
    mirror_ensure,
    push_ref_args,
    redact_url,
    ref_name_problem,
    repo_identity_set,
)
from releases.models import ChangeImpactStatus, Project, ReleaseStatus
from releases.notes import draft_notes
from releases.selectors import notes_template_of, project_mirror_path, release_of_run
from releases.services import (
    project_refs_record,
    release_change_analyse,
    release_git_facts_record,
    release_previous_tag,
    release_transition,
)
from releases.version_files import bump_version_file
from runs.errors import StepFailed
from runs.registry import RunKind, StepSpec, register_kind


def _project(ctx) -> Project:
    return Project.objects.get(pk=ctx.run.subject_id)


def sync_prepare(ctx):
    project = _project(ctx)
    path = project_mirror_path(project)
    created = mirror_ensure(path)
    ctx.log(f"{'Created' if created else 'Using'} the mirror at {path}")
    return "New mirror" if created else "Mirror ready"


def sync_fetch(ctx):
    project = _project(ctx)
    ctx.log(f"Fetching {redact_url(project.repo_url)}")
    ctx.run_command(
        fetch_mirror_args(project.repo_url),
        cwd=project_mirror_path(project),
        env=git_env(),
        timeout=900,
        silence_timeout=300,
    )
    return f"Fetched {redact_url(project.repo_url)}"


def sync_record(ctx):
    project = _project(ctx)
    refs = list_refs(project_mirror_path(project))
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
        secrets=lambda run: git_secret_values(),
    )
)


# --- Release preparation and shipping ---------------------------------------------------


def workspace_path(release) -> Path:
    """A working clone per release: never anyone's own checkout."""
    return Path(settings.DATA_DIR) / "workspaces" / release.project.slug / f"release-{release.pk}"


def _release(ctx):
    return release_of_run(ctx.run)


def _workspace(ctx, release):
    """Clone the remote (first time) or fetch it (a retry), then return the repo."""
    repo = clone_or_fetch(ctx, url=release.project.repo_url, path=workspace_path(release))
    repo_identity_set(repo, **LIFTOFF_IDENTITY)
    return repo


def prepare_fetch(ctx):
    release = _release(ctx)
    repo = _workspace(ctx, release)
    return f"Workspace at {repo.working_dir}"


def prepare_branch(ctx):
    """Check out the release branch: the remote's if a former attempt pushed it, else a
    new one from the base (the default branch, or the production tag for a hotfix)."""

    release = _release(ctx)
    for name in (release.branch, release.base_ref):
        if problem := ref_name_problem(name):
            raise StepFailed(f"“{name}” {problem}.")
    repo = git.Repo(workspace_path(release))
    remote_branch = f"origin/{release.branch}"
    if remote_branch in [r.name for r in repo.remotes.origin.refs]:
        repo.git.checkout("-B", release.branch, remote_branch, "--")
        return f"Continuing {release.branch} from the remote"
    base_tag = f"refs/tags/{release.base_ref}"
    base = (
        base_tag
        if release.base_ref in [t.name for t in repo.tags]
        else f"refs/remotes/origin/{release.base_ref}"
    )
    try:
        base_commit = repo.commit(base).hexsha
    except (git.BadName, ValueError):
        raise StepFailed(f"The base {release.base_ref} does not exist in the remote.") from None
    repo.git.checkout("-B", release.branch, base_commit, "--")
    release_git_facts_record(release=release, base_commit=base_commit)
    return f"Created {release.branch} from {release.base_ref} ({base_commit[:10]})"


def prepare_bump(ctx):
    """Write the new version into the version files and commit, unless an earlier attempt
    already did (then nothing changes, and no second commit is made)."""

    release = _release(ctx)
    repo = git.Repo(workspace_path(release))
    changed = []
    for relative in release.project.version_files:
        path = Path(repo.working_dir) / relative
        if not path.is_file():
            raise StepFailed(f"The version file {relative} is not in the repository.")
        content = path.read_text()
        new, old = bump_version_file(relative, content, release.version)
        ctx.log(f"{relative}: {old} → {release.version}")
        if new != content:
            path.write_text(new)
            changed.append(relative)
    if not changed:
        return f"Version files already at {release.version}"
    repo.index.add(changed)
    # The trailer (with Liftoff's identity) keeps this commit out of the release notes.
    message = liftoff_commit_message(
        f'chore(release): v{release.version} "{release.codename}"',
        body=release.summary,
        version=release.version,
    )
    commit = repo.index.commit(message)
    return f"Committed {commit.hexsha[:10]}: {', '.join(changed)}"


def prepare_push(ctx):
    release = _release(ctx)
    repo = git.Repo(workspace_path(release))
    ctx.run_command(
        push_ref_args("HEAD", f"refs/heads/{release.branch}"),
        cwd=repo.working_dir,
        env=git_env(),
        timeout=900,
    )
    head = repo.head.commit.hexsha
    release_git_facts_record(release=release, head_commit=head)
    return f"Pushed {release.branch} at {head[:10]}"


def prepare_notes(ctx):
    """Draft the notes from the commits since the previous release tag (kept if a person
    has edited them since)."""

    release = _release(ctx)
    path = workspace_path(release)
    previous = _previous_tag(release)
    facts = {"previous_tag": previous or "", "prepared_at": timezone.now()}
    if not release.notes_edited:
        facts["notes"] = draft_notes(
            path,
            since=previous,
            until="HEAD",
            project_name=release.project.name,
            version=release.version,
            codename=release.codename,
            summary=release.summary,
            template=notes_template_of(project=release.project),
        )
    release_git_facts_record(release=release, **facts)
    kept = "kept the edited notes" if release.notes_edited else "drafted the notes"
    return f"Since {previous or 'the first commit'}: {kept}"


def _previous_tag(release) -> str | None:
    """The highest release tag below this version, as the remote has it."""
    return release_previous_tag(release=release, repo=git.Repo(workspace_path(release)))


def prepare_impact(ctx):
    """Analyse the change from the previous release tag to the pushed head: files and
    lines per top-level folder, migrations, dependency files and security-sensitive paths
    (releases.impact). A failure is recorded on the release and fails the run, which a
    retry runs again; the head is the one the push step recorded, from git."""

    release = _release(ctx)
    impact = release_change_analyse(
        release=release, repo_path=workspace_path(release), head=release.head_commit
    )
    if impact.status == ChangeImpactStatus.FAILED:
        raise StepFailed(f"The change could not be analysed: {impact.error}")
    result = impact.result
    totals = result["totals"]
    for folder in result["folders"]:
        ctx.log(
            f"{folder['folder']}: {folder['files']} files, +{folder['added']} "
            f"-{folder['removed']}" + (f", {folder['binary']} binary" if folder["binary"] else "")
        )
    called = ", ".join(
        f"{result[key]['count']} {label}{'' if result[key]['count'] == 1 else 's'}"
        for key, label in (
            ("migrations", "migration"),
            ("dependencies", "dependency file"),
            ("security", "security-sensitive path"),
        )
    )
    return (
        f"Since {impact.previous_tag or 'the first commit'}: {totals['files']} files "
        f"(+{totals['added']} -{totals['removed']}) in {len(result['folders'])} folders; {called}"
    )


def ship_tag(ctx):
    """Create the annotated tag on the release head, unless it exists already there."""

    release = _release(ctx)
    repo = git.Repo(workspace_path(release))
    if problem := ref_name_problem(release.tag):
        raise StepFailed(f"“{release.tag}” {problem}.")
    existing = next((t for t in repo.tags if t.name == release.tag), None)
    if existing is not None:
        if existing.commit.hexsha != release.head_commit:
            raise StepFailed(
                f"The tag {release.tag} exists already on another commit "
                f"({existing.commit.hexsha[:10]})."
            )
        return f"{release.tag} exists already on {release.head_commit[:10]}"
    message = f'v{release.version} "{release.codename}" – {release.summary}'.rstrip(" –")
    repo.create_tag(release.tag, ref=release.head_commit, message=message)
    return f"Tagged {release.head_commit[:10]} as {release.tag}"


def ship_push(ctx):
    release = _release(ctx)
    ctx.run_command(
        push_ref_args(f"refs/tags/{release.tag}", f"refs/tags/{release.tag}"),
        cwd=workspace_path(release),
        env=git_env(),
        timeout=900,
    )
    # Once the tag is on the remote the release is released, before the run ends: whoever
    # sees the run succeeded sees the release released (not a moment later, in on_finish).
    with transaction.atomic():
        release_git_facts_record(release=release, tagged_at=timezone.now())
        release.refresh_from_db()
        if release.status == ReleaseStatus.PRODUCTION:
            release_transition(
                release=release,
                to=ReleaseStatus.RELEASED,
                actor=None,
                system_reason=f"The ship run pushed {release.tag}.",
            )
    return f"Pushed {release.tag}"


PREPARE = register_kind(
    RunKind(
        name="release.prepare",
        label="Release preparation",
        steps=(
            StepSpec("fetch", "Fetch the remote", prepare_fetch),
            StepSpec("branch", "Create the release branch", prepare_branch),
            StepSpec("bump", "Bump the version", prepare_bump),
            StepSpec("push", "Push the branch", prepare_push),
            StepSpec("notes", "Draft the release notes", prepare_notes),
            StepSpec("impact", "Analyse the change", prepare_impact),
        ),
        lock_keys=lambda run: [f"release:{run.subject_id}:git"],
        secrets=lambda run: git_secret_values(),
    )
)

ANALYSE = register_kind(
    RunKind(
        name="release.analyse",
        label="Change analysis",
        steps=(
            StepSpec("fetch", "Fetch the remote", prepare_fetch),
            StepSpec("impact", "Analyse the change", prepare_impact),
        ),
        lock_keys=lambda run: [f"release:{run.subject_id}:git"],
        secrets=lambda run: git_secret_values(),
    )
)

SHIP = register_kind(
    RunKind(
        name="release.ship",
        label="Release tag",
        steps=(
            StepSpec("fetch", "Fetch the remote", prepare_fetch),
            StepSpec("tag", "Tag the release head", ship_tag),
            StepSpec("push", "Push the tag", ship_push),
        ),
        lock_keys=lambda run: [f"release:{run.subject_id}:git"],
        secrets=lambda run: git_secret_values(),
    )
)
