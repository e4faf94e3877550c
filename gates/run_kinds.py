"""The validation run ("release.validate"): check out the release head, run the project's
validation commands there, and record what their reports measured as gate results.

Where things live, under DATA_DIR/validation/<project slug>/:
- `cache/`: a clone of the project's remote, kept between runs (cloned once, then fetched);
- `run-<id>/`: this run's checkout of the release head, a detached worktree of the cache;
- `run-<id>.json`: the commands' exit codes, handed from the "commands" step to "reports".
The checkout and its file are removed when the run ends, however it ends.

Never a user's working copy, and never an old report: the checkout is new for every run,
and each command's report file is deleted before the command runs.
"""

import json
import re
import shutil
import sys
from pathlib import Path

import git
from django.conf import settings
from django.db import transaction

from gates.models import GateResultSource, ValidationCommand
from gates.reports import Measurement, parse_report
from gates.selectors import project_allowed_licences, release_gates
from gates.services import gate_result_record
from liftoff.commands import command_env
from liftoff.events import emit
from liftoff.git import clone_or_fetch, folder_locked, git_env, git_secret_values
from releases.selectors import release_of_run
from runs.errors import StepFailed
from runs.registry import RunKind, StepSpec, register_kind

_SHA = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")
SILENCE_SECONDS = 300


def validation_root(project) -> Path:
    return Path(settings.DATA_DIR) / "validation" / project.slug


def _cache_path(project) -> Path:
    return validation_root(project) / "cache"


def checkout_path(project, run) -> Path:
    return validation_root(project) / f"run-{run.pk}"


def _state_path(project, run) -> Path:
    return validation_root(project) / f"run-{run.pk}.json"


def _release(ctx):
    return release_of_run(ctx.run)


def _commit(ctx) -> str:
    commit = str(ctx.params.get("commit", ""))
    if not _SHA.fullmatch(commit):
        raise StepFailed(f"“{commit[:80]}” is not a commit id: nothing to validate.")
    return commit


def validate_checkout(ctx):
    """1. Clone the remote into the cache (first run) or fetch it; 2. check the commit is
    there; 3. add a fresh detached worktree of it for this run."""
    release = _release(ctx)
    project = release.project
    commit = _commit(ctx)
    cache, checkout = _cache_path(project), checkout_path(project, ctx.run)
    with folder_locked(ctx, validation_root(project)):
        repo = clone_or_fetch(ctx, url=project.repo_url, path=cache)
        try:
            repo.git.cat_file("-e", f"{commit}^{{commit}}")
        except git.GitCommandError:
            raise StepFailed(
                f"The commit {commit[:10]} is not in the remote: was the release branch "
                "rewritten? Prepare the release again."
            ) from None
        shutil.rmtree(checkout, ignore_errors=True)
        repo.git.worktree("prune")
        ctx.run_command(
            ["git", "worktree", "add", "--detach", "--force", str(checkout), commit],
            cwd=cache,
            env=git_env(),
            timeout=600,
        )
    return f"Checked out {commit[:10]} (v{release.version})"


def _report_file(checkout: Path, report_path: str) -> Path | None:
    """The report's place in the checkout; None if it lies outside it (the service refuses
    such paths; a symlink in the repository could still point elsewhere)."""
    path = (checkout / report_path).resolve()
    return path if path.is_relative_to(checkout.resolve()) else None


def validate_commands(ctx):
    """Run the project's active commands in order. A command that fails is remembered, not
    fatal: its gate says so in the next step. A time limit or a cancel ends the run."""
    release = _release(ctx)
    checkout = checkout_path(release.project, ctx.run)
    if not checkout.is_dir():
        raise StepFailed("The checkout is missing: retry the run.")
    commands = list(
        ValidationCommand.objects.filter(project=release.project, active=True).order_by(
            "order", "id"
        )
    )
    if not commands:
        raise StepFailed(f"{release.project.name} has no active validation commands.")
    outcomes = []
    for command in commands:
        ctx.check_cancelled()
        ctx.log("")
        ctx.log(f"[liftoff] ── {command.name} ──")
        if command.report_path:
            # Committed by mistake, or a symlink planted in the repository: either way
            # not this run's report.
            stale = checkout / command.report_path
            if stale.is_symlink() or stale.is_file():
                stale.unlink()
                ctx.log(f"[liftoff] removed {command.report_path} found in the checkout")
        argv = [a.replace("{python}", sys.executable) for a in command.argv]
        result = ctx.run_command(
            argv,
            cwd=checkout,
            env=command_env(),
            timeout=command.timeout_seconds,
            silence_timeout=min(command.timeout_seconds, SILENCE_SECONDS),
            check=False,
            inherit_env=False,
        )
        if result.reason == "timeout":
            raise StepFailed(
                f"“{command.name}” ran past its time limit ({command.timeout_seconds} s) "
                "and was ended."
            )
        if result.reason == "silence":
            raise StepFailed(
                f"“{command.name}” printed nothing for {SILENCE_SECONDS} s and was ended."
            )
        ctx.log(
            f"[liftoff] {command.name} {_ended(result.exit_code)} after {result.duration:.1f} s"
        )
        outcomes.append(
            {
                "command": command.pk,
                "name": command.name,
                "exit_code": result.exit_code,
                "output": ctx.mask(result.output_tail),
            }
        )
    state = _state_path(release.project, ctx.run)
    state.write_text(json.dumps({"commit": _commit(ctx), "commands": outcomes}))
    failed = [o for o in outcomes if o["exit_code"] != 0]
    summary = f"{len(outcomes)} commands ran"
    if failed:
        summary += ": " + ", ".join(f"{o['name']} {_ended(o['exit_code'])}" for o in failed)
        # The gates are still recorded (the next step), so the run succeeds; its status
        # says that not everything did.
        ctx.outcome = f"{len(outcomes) - len(failed)} of {len(outcomes)} commands succeeded"
    return summary


def _ended(exit_code) -> str:
    return "could not start" if exit_code is None else f"exited {exit_code}"


def validate_reports(ctx):
    """Read each command's report and record it against its gate.

    A command without a report of its own and without a gate (the tests run under
    coverage, say) belongs to the next command that has one (the coverage report): if it
    failed, that gate fails too, with the reason.
    """
    release = _release(ctx)
    checkout = checkout_path(release.project, ctx.run)
    state_file = _state_path(release.project, ctx.run)
    try:
        state = json.loads(state_file.read_text())
    except (OSError, ValueError):
        raise StepFailed("The commands' results are missing: retry the run.") from None
    commands = ValidationCommand.objects.select_related("gate").in_bulk(
        [o["command"] for o in state["commands"]]
    )
    # The allow-list as it is now: the evidence of each licence result names it.
    allowed_licences = project_allowed_licences(project=release.project)
    parts, earlier_failure = [], ""
    for outcome in state["commands"]:
        command = commands.get(outcome["command"])
        if command is None:
            continue  # deleted while the run ran
        fmt, exit_code = command.report_format, outcome["exit_code"]
        if fmt == ValidationCommand.ReportFormat.NONE and command.gate is None:
            if exit_code != 0:
                earlier_failure = f"“{command.name}” {_ended(exit_code)}"
            continue
        report = _report_file(checkout, command.report_path) if command.report_path else None
        if command.report_path and report is None:
            # A symlink to a file elsewhere on the worker: never read into the evidence.
            measured = Measurement(
                None, f"{command.report_path} points outside the checkout.", failed=True
            )
        else:
            measured = parse_report(
                fmt,
                report,
                exit_code,
                output=outcome["output"],
                name=command.report_path or None,
                allowed_licences=allowed_licences,
            )
        failed, reason = measured.failed, measured.reason
        if earlier_failure and measured.value is not None:
            failed, reason = True, f"{earlier_failure}, so this does not count; {reason}"
        earlier_failure = ""
        gate = command.gate
        if gate is None or not gate.active:
            ctx.log(f"[liftoff] {command.name}: {reason} (no active gate to record it on)")
            continue
        result = gate_result_record(
            release=release,
            gate=gate,
            source=GateResultSource.VALIDATION,
            value=measured.value,
            commit=state["commit"],
            reason=reason,
            report=measured.report_text,
            report_name=command.report_path or command.name,
            run=ctx.run,
            failed=failed,
        )
        status = result.get_status_display().lower()
        measured_label = (
            f"{result.value:g}{' ' + gate.unit if gate.unit else ''} "
            if result.value is not None
            else ""
        )
        ctx.log(f"[liftoff] {gate.name}: {measured_label}{status}: {result.reason}")
        parts.append(f"{gate.key} {measured_label}{status}")
    _cleanup(release.project, ctx.run)
    return ", ".join(parts) or "No gate measured"


def _cleanup(project, run) -> None:
    """Remove the run's checkout and its state file; the cache's record of the worktree is
    pruned by the next checkout."""
    shutil.rmtree(checkout_path(project, run), ignore_errors=True)
    _state_path(project, run).unlink(missing_ok=True)


def validate_finished(run):
    """Whatever the outcome (failed, cancelled), leave no checkout behind, then tell who
    listens (`validation.finished`) with each gate's status as it now stands."""
    release = release_of_run(run)
    _cleanup(release.project, run)
    with transaction.atomic():
        emit(
            "validation.finished",
            subject=release,
            payload={
                "run": run.pk,
                "status": run.status,
                "gates": {v.gate.key: v.status for v in release_gates(release=release)},
            },
        )


VALIDATE = register_kind(
    RunKind(
        name="release.validate",
        label="Validation",
        steps=(
            StepSpec("checkout", "Check out the release head", validate_checkout),
            StepSpec("commands", "Run the validation commands", validate_commands),
            StepSpec("reports", "Record the gate results", validate_reports),
        ),
        lock_keys=lambda run: [f"release:{run.subject_id}:validate"],
        secrets=lambda run: git_secret_values(),
        on_finish=validate_finished,
    )
)
