"""The deployment run ("deployment.run"): lock, checkout, deploy, switch, verify,
finalize. One kind for every strategy and for rollbacks: a step a strategy does not use
says so in its summary ("not used by webhook").

Where things live, under DATA_DIR/deployments/<project slug>/:
- `cache/`: a clone of the project's remote, kept between deployments;
- `deployment-<id>/`: this deployment's checkout of its commit (a detached worktree),
  removed when the run ends, however it ends.

The release reaches the commands only through LIFTOFF_* environment variables and the
environment's secret variables (masked in every log): never interpolated into a command.
"""

import contextlib
import shutil
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import git
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from deployments.models import Deployment, HealthCheck, Strategy
from deployments.selectors import deployment_secret_values
from deployments.services import (
    RUN_KIND,
    deployment_record,
    deployment_running,
    environment_color_switch,
)
from liftoff.commands import command_env
from liftoff.git import (
    LIFTOFF_IDENTITY,
    clone_or_fetch,
    folder_locked,
    git_env,
    git_secret_values,
    push_ref_args,
    ref_name_problem,
    repo_identity_set,
)
from liftoff.http import probe, webhook_post
from releases.services import release_git_facts_record
from runs.errors import StepFailed
from runs.registry import RunKind, StepSpec, register_kind

SILENCE_SECONDS = 300


def _deployment(ctx) -> Deployment:
    return Deployment.objects.select_related("environment__project", "release__project").get(
        pk=ctx.run.subject_id
    )


def _root(project) -> Path:
    # The id too: a project deleted and made again with the same slug (or another remote)
    # never inherits an old cache's tags.
    return Path(settings.DATA_DIR) / "deployments" / f"{project.slug}-{project.pk}"


def checkout_path(deployment: Deployment) -> Path:
    return _root(deployment.environment.project) / f"deployment-{deployment.pk}"


def _not_used(deployment: Deployment, what: str) -> str:
    return f"Not used by a {deployment.environment.get_strategy_display().lower()} {what}"


# --- Steps -------------------------------------------------------------------------------


def step_lock(ctx):
    """The deployment is running; the environment is held (the database's one-active
    index has held it since the deployment was queued)."""
    deployment = _deployment(ctx)
    if deployment.is_final:
        # A retry of an ended deployment's run (the runs page offers Retry for every
        # failed run): the deployment's record is closed; a new one is a new deployment.
        raise StepFailed(
            f"Deployment #{deployment.pk} has ended ({deployment.status}): deploy again "
            "from the release or the environment instead of retrying its run."
        )
    deployment_running(deployment=deployment)
    environment = deployment.environment
    verb = "Rolling back" if deployment.is_rollback else "Deploying"
    ctx.log(
        f"{verb} {environment.project.name} v{deployment.version} to {environment.name} "
        f"({environment.get_strategy_display()})"
        + (f", replacing v{deployment.replaced_version}" if deployment.replaced_version else "")
    )
    return f"{environment.name} held for deployment #{deployment.pk}"


def step_checkout(ctx):
    """1. Clone or fetch the project's remote into the cache; 2. tag the commit and push
    the tag if this is a first production deployment of an untagged release (the seed's
    production ritual: alignment check, tag, deploy, verify); 3. record the commits this
    deployment brings to the environment for the first time; 4. a fresh detached
    worktree of the commit."""
    deployment = _deployment(ctx)
    project = deployment.environment.project
    cache = _root(project) / "cache"
    checkout = checkout_path(deployment)
    commit = deployment.commit
    with folder_locked(ctx, _root(project)):
        repo = clone_or_fetch(ctx, url=project.repo_url, path=cache)
        try:
            repo.git.cat_file("-e", f"{commit}^{{commit}}")
        except git.GitCommandError:
            raise StepFailed(
                f"The commit {commit[:10]} is not in the remote: was the release branch "
                "rewritten? Prepare the release again."
            ) from None
        tagged = _tag_if_needed(ctx, repo, deployment)
        deployment_record(deployment=deployment, new_commits=_new_commits(repo, deployment))
        shutil.rmtree(checkout, ignore_errors=True)
        repo.git.worktree("prune")
        ctx.run_command(
            ["git", "worktree", "add", "--detach", "--force", str(checkout), commit],
            cwd=cache,
            env=git_env(),
            timeout=600,
        )
    count = len(deployment.new_commits)
    return (
        f"Checked out {commit[:10]}; {count} commit{'s' if count != 1 else ''} new to "
        f"{deployment.environment.name}" + (f"; {tagged}" if tagged else "")
    )


def _tag_if_needed(ctx, repo: git.Repo, deployment: Deployment) -> str:
    release, environment = deployment.release, deployment.environment
    if deployment.is_rollback or environment.phase != "production" or release.tagged_at:
        return ""
    if not release.tag or ref_name_problem(release.tag):
        raise StepFailed(f"The release's tag “{release.tag}” is not a usable tag name.")
    # The remote decides, not the cache: a tag only the cache has (a push that failed
    # half-way, an old remote) is made again.
    on_remote = _remote_tag_commit(repo, release.tag)
    if on_remote and on_remote != deployment.commit:
        raise StepFailed(
            f"The tag {release.tag} exists already on the remote on another commit "
            f"({on_remote[:10]}): the remote and the release disagree."
        )
    existing = next((t for t in repo.tags if t.name == release.tag), None)
    if existing is not None and existing.commit.hexsha != deployment.commit:
        repo.delete_tag(existing)
        existing = None
    if existing is None:
        message = f'v{release.version} "{release.codename}" – {release.summary}'.rstrip(" –")
        repo_identity_set(repo, **LIFTOFF_IDENTITY)  # an annotated tag has a tagger
        repo.create_tag(release.tag, ref=deployment.commit, message=message)
        ctx.log(f"Tagged {deployment.commit[:10]} as {release.tag}")
    ctx.run_command(
        push_ref_args(f"refs/tags/{release.tag}", f"refs/tags/{release.tag}"),
        cwd=repo.working_dir,
        env=git_env(),
        timeout=900,
    )
    with transaction.atomic():
        release_git_facts_record(release=release, tagged_at=timezone.now())
    return f"pushed the tag {release.tag}"


def _remote_tag_commit(repo: git.Repo, tag: str) -> str:
    """The commit `tag` points at on the remote ("" when the remote has no such tag)."""
    out = repo.git.ls_remote(
        "--tags",
        "origin",
        f"refs/tags/{tag}",
        f"refs/tags/{tag}^{{}}",
        env=git_env(),  # no prompt for credentials, a bounded SSH connect
        kill_after_timeout=120,
    )
    commits = dict(reversed(line.split("\t", 1)) for line in out.splitlines() if "\t" in line)
    # An annotated tag: the peeled line (^{}) names the commit; a lightweight one, itself.
    return commits.get(f"refs/tags/{tag}^{{}}") or commits.get(f"refs/tags/{tag}", "")


def _new_commits(repo: git.Repo, deployment: Deployment) -> list[dict]:
    """The commits of this deployment not in any commit verified there before, oldest
    first, with their commit time."""
    before = set(
        Deployment.objects.filter(environment_id=deployment.environment_id, verified=True)
        .exclude(commit="")
        .values_list("commit", flat=True)[:50]
    )
    known = []
    for commit in before:
        try:
            repo.git.cat_file("-e", f"{commit}^{{commit}}")
            known.append(commit)
        except git.GitCommandError:
            continue  # rewritten away: it cannot hide anything
    args = ["--reverse", "--format=%H %cI", deployment.commit]
    if known:
        args += ["--not", *known]
    out = repo.git.log(*args, "--max-count=1000")
    commits = []
    for line in out.splitlines():
        sha, _, when = line.partition(" ")
        commits.append({"sha": sha, "committed_at": when})
    return commits


def _variables(deployment: Deployment) -> dict[str, str]:
    release, environment = deployment.release, deployment.environment
    variables = {
        "LIFTOFF_VERSION": deployment.version,
        "LIFTOFF_CODENAME": release.codename,
        "LIFTOFF_ENVIRONMENT": environment.name,
        "LIFTOFF_COMMIT": deployment.commit,
        "LIFTOFF_PREVIOUS_VERSION": deployment.replaced_version,
        "LIFTOFF_PROJECT": environment.project.slug,
        "LIFTOFF_DEPLOYMENT": str(deployment.pk),
        "LIFTOFF_COLOR": deployment.color,
    }
    if deployment.is_rollback:
        variables["LIFTOFF_ROLLBACK"] = "1"
    return variables


def _run_commands(ctx, deployment: Deployment, commands: list[list[str]], *, extra=None) -> None:
    checkout = checkout_path(deployment)
    if not checkout.is_dir():
        raise StepFailed("The checkout is missing: retry the deployment.")
    secrets = {s.name: s.value for s in deployment.environment.secrets.all()}
    env = command_env({**secrets, **_variables(deployment), **(extra or {})})
    timeout = deployment.environment.command_timeout_seconds
    for argv in commands:
        ctx.check_cancelled()
        ctx.run_command(
            [a.replace("{python}", sys.executable) for a in argv],
            cwd=checkout,
            env=env,
            timeout=timeout,
            silence_timeout=min(timeout, SILENCE_SECONDS),
            inherit_env=False,
        )


def _colour_already_runs(deployment: Deployment) -> bool:
    """A blue-green rollback whose colour still runs the version: switch back only."""
    environment = deployment.environment
    return (
        deployment.is_rollback
        and environment.strategy == Strategy.BLUE_GREEN
        and bool(deployment.color)
        and deployment.color != environment.active_color
        and Deployment.objects.filter(
            environment=environment, color=deployment.color, verified=True
        )
        .order_by("-finished_at", "-id")
        .values_list("version", flat=True)
        .first()
        == deployment.version
    )


def step_deploy(ctx):
    deployment = _deployment(ctx)
    environment = deployment.environment
    if environment.strategy == Strategy.WEBHOOK:
        return _deploy_webhook(ctx, deployment)
    if _colour_already_runs(deployment):
        return (
            f"{deployment.color} still runs v{deployment.version}: no redeploy, the switch "
            "puts it back"
        )
    commands = environment.deploy_commands
    if deployment.is_rollback and environment.rollback_commands:
        commands = environment.rollback_commands
    _run_commands(ctx, deployment, commands)
    where = f" to {deployment.color}" if deployment.color else ""
    return f"{len(commands)} command{'s' if len(commands) != 1 else ''} ran{where}"


def _deploy_webhook(ctx, deployment: Deployment) -> str:
    environment = deployment.environment
    release = deployment.release
    payload = {
        "type": "deployment.rollback" if deployment.is_rollback else "deployment.deploy",
        "timestamp": timezone.now().isoformat(),
        "data": {
            "deployment": deployment.pk,
            "project": environment.project.slug,
            "environment": environment.name,
            "version": deployment.version,
            "codename": release.codename,
            "commit": deployment.commit,
            "previous_version": deployment.replaced_version,
            "rollback": deployment.is_rollback,
            "variables": {s.name: s.value for s in environment.secrets.all()},
        },
    }
    ctx.log(f"POST {environment.webhook_url} (signed, Standard Webhooks)")
    answer = webhook_post(
        environment.webhook_url,
        payload=payload,
        secret=environment.webhook_secret,
        timeout=min(environment.command_timeout_seconds, 60),
    )
    if answer.status is None:
        raise StepFailed(f"The deployer did not answer: {answer.error}.")
    ctx.log(f"{answer.status} {ctx.mask(answer.text[:500])}")
    if not 200 <= answer.status < 300:
        raise StepFailed(f"The deployer answered {answer.status}: {ctx.mask(answer.text[:200])}")
    return f"The deployer accepted it ({answer.status}, {answer.message_id})"


def _colour_url(url: str, base: str) -> str:
    """The health check's URL on a colour's own base URL (same path and query)."""
    check, colour = urlsplit(url), urlsplit(base)
    return urlunsplit((colour.scheme, colour.netloc, check.path, check.query, ""))


def step_switch(ctx):
    deployment = _deployment(ctx)
    environment = deployment.environment
    if environment.strategy != Strategy.BLUE_GREEN:
        return _not_used(deployment, "deployment")
    base = environment.blue_url if deployment.color == "blue" else environment.green_url
    checks = list(environment.health_checks.all())
    ctx.log(f"Verifying {deployment.color} on {base} before the switch")
    _verify_checks(ctx, deployment, checks, base=base, hold=0)
    ctx.log(f"Switching the traffic to {deployment.color}")
    _run_commands(ctx, deployment, environment.switch_commands)
    environment_color_switch(environment=environment, color=deployment.color, deployment=deployment)
    return f"Traffic on {deployment.color}"


def step_verify(ctx):
    deployment = _deployment(ctx)
    environment = deployment.environment
    checks = list(environment.health_checks.all())
    if not checks:
        return "No health checks configured: nothing verified it (configure some)"
    _verify_checks(ctx, deployment, checks, base=None, hold=environment.verify_seconds)
    held = f", held for {environment.verify_seconds} s" if environment.verify_seconds else ""
    return f"{len(checks)} health check{'s' if len(checks) != 1 else ''} passed{held}"


def check_problem(check: HealthCheck, *, version: str, base: str | None = None) -> tuple[str, int]:
    """One try of one check: ("", ms) when it passes, else (what was wrong, ms)."""
    url = _colour_url(check.url, base) if base else check.url
    answer = probe(url, timeout=check.timeout_seconds)
    if answer.status is None:
        return f"{url}: {answer.error}", answer.milliseconds
    if answer.status != check.expected_status:
        return (
            f"{url}: answered {answer.status}, expected {check.expected_status}",
            answer.milliseconds,
        )
    if check.json_field:
        expected = check.json_value.replace("{version}", version)
        got = answer.body.get(check.json_field) if isinstance(answer.body, dict) else None
        if got is None or str(got) != expected:
            return (
                f"{url}: {check.json_field} is {got!r}, expected {expected!r}",
                answer.milliseconds,
            )
    return "", answer.milliseconds


def _verify_checks(ctx, deployment, checks, *, base: str | None, hold: int) -> None:
    """Each check passes (with its retries and a growing pause between tries), then all
    keep passing for `hold` seconds (the verification window)."""
    for check in checks:
        _check_with_retries(ctx, deployment, check, base=base)
    if hold:
        ctx.log(f"Holding verification for {hold} s")
        interval = max(1, deployment.environment.verify_interval_seconds)
        until = time.monotonic() + hold
        while time.monotonic() < until:
            ctx.check_cancelled()
            for check in checks:
                problem, _ms = check_problem(check, version=deployment.version, base=base)
                if problem:
                    _failed(ctx, deployment, f"During the verification window: {problem}")
            time.sleep(min(interval, max(0, until - time.monotonic())))


def _check_with_retries(ctx, deployment, check, *, base):
    pause = 0.5
    problem = ""
    for attempt in range(check.retries + 1):
        ctx.check_cancelled()
        problem, ms = check_problem(check, version=deployment.version, base=base)
        if not problem:
            ctx.log(f"ok   {_colour_url(check.url, base) if base else check.url} ({ms} ms)")
            return
        ctx.log(f"fail {problem} (try {attempt + 1} of {check.retries + 1})")
        if attempt < check.retries:
            time.sleep(pause)
            pause = min(pause * 2, 10)
    _failed(ctx, deployment, problem)


def _failed(ctx, deployment, problem: str):
    deployment_record(deployment=deployment, verification_failed=True)
    raise StepFailed(f"Verification failed: {problem}")


def step_finalize(ctx):
    deployment = _deployment(ctx)
    what = "Rolled back to" if deployment.is_rollback else "Deployed"
    return f"{what} v{deployment.version} on {deployment.environment.name}, verified"


def _cleanup(run) -> None:
    """on_finish: remove the deployment's checkout, however the run ended."""
    deployment = Deployment.objects.select_related("environment__project").get(pk=run.subject_id)
    checkout = checkout_path(deployment)
    shutil.rmtree(checkout, ignore_errors=True)
    cache = _root(deployment.environment.project) / "cache"
    if (cache / ".git").is_dir():
        with contextlib.suppress(git.GitCommandError):
            git.Repo(cache).git.worktree("prune")


def _secrets(run) -> list[str]:
    deployment = Deployment.objects.select_related("environment").get(pk=run.subject_id)
    return [*deployment_secret_values(environment=deployment.environment), *git_secret_values()]


def _lock_keys(run) -> list[str]:
    environment_id = (
        Deployment.objects.filter(pk=run.subject_id).values_list("environment_id", flat=True).get()
    )
    return [f"environment:{environment_id}:deploy"]


DEPLOYMENT = register_kind(
    RunKind(
        name=RUN_KIND,
        label="Deployment",
        steps=(
            StepSpec("lock", "Hold the environment", step_lock),
            StepSpec("checkout", "Check out the release", step_checkout),
            StepSpec("deploy", "Deploy", step_deploy),
            StepSpec("switch", "Switch the traffic", step_switch),
            StepSpec("verify", "Verify health", step_verify),
            StepSpec("finalize", "Finalize", step_finalize),
        ),
        lock_keys=_lock_keys,
        secrets=_secrets,
        on_finish=_cleanup,
        not_retryable="A deployment is not retried as a run: deploy the release again (a new "
        "deployment, checked against the environment as it is now).",
    )
)
