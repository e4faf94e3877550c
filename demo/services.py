"""The demo: users per role, the PepeluGPT project, and its real local git repository.

Every service here is idempotent: what exists already is left as it is (unless the caller
asks for passwords to be reset), so `manage.py seed_demo` may run on every `make run`.
"""

import os
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import git
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from demo.pepelugpt_repo import PEPE, STEPS, files_at
from deployments.health import environments_check_health
from deployments.models import EnvironmentPhase
from deployments.selectors import deployment_blockers, environment_active, environment_current
from deployments.services import deployment_start, environment_create, health_check_set
from gates.services import validation_command_save
from liftoff.audit import audit_record
from liftoff.errors import Conflict, DomainError, ValidationFailed
from liftoff.git import list_refs
from liftoff.roles import Role
from releases.models import (
    RELEASE_IN_FLIGHT,
    ActionItem,
    ActionItemStatus,
    Project,
    Release,
    ReleaseStatus,
    RetroAnswer,
)
from releases.selectors import release_change_impact
from releases.services import (
    action_item_create,
    action_item_set_status,
    project_create,
    project_refs_record,
    release_change_analyse,
    release_create,
    release_record_shipped,
    retro_answer_save,
)

DEMO_REPO_NAME = "pepelugpt.git"
# The tag whose presence says "the demo repository is complete": the build pushes
# everything at once into a staging folder and renames it, so there is no half-built repo.
DEMO_REPO_LAST_TAG = "v0.2.0"
DEMO_PROJECT_SLUG = "pepelugpt"
DEMO_PROJECT_NAME = "PepeluGPT"
DEMO_VERSION_FILES = ["pyproject.toml", "src/pepelugpt/__init__.py"]
# The seed's five cosmic codenames first (RELEASE_PROCESS.md), then more in their style.
DEMO_CODENAMES = [
    "Nebula Whisper",
    "Quantum Guardian",
    "Digital Oracle",
    "Cosmic Defender",
    "Stellar Navigator",
    "Astral Sentinel",
    "Lunar Cipher",
    "Solar Sage",
    "Galactic Weaver",
    "Celestial Beacon",
    "Aurora Keeper",
    "Pulsar Warden",
    "Comet Seeker",
    "Eclipse Mystic",
    "Zenith Voyager",
]
DEMO_DESCRIPTION = (
    "An oracle for cybersecurity questions in three personalities (oracle, compliance, "
    "cosmic): a small Python web service. Its repository is a real local git repository "
    "made by `manage.py seed_demo`."
)
# (username, role), in the order the logins are printed.
DEMO_USERS = [
    ("admin", Role.ADMIN),
    ("manager", Role.RELEASE_MANAGER),
    ("approver", Role.APPROVER),
    ("stakeholder", Role.STAKEHOLDER),
]
DEMO_USERNAMES = [username for username, _ in DEMO_USERS]


@dataclass(frozen=True)
class DemoRepo:
    path: Path
    created: bool
    head: str


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: Role
    created: bool
    password_reset: bool
    # What an existing account needed to match its role ("added to the approver group").
    changes: tuple[str, ...] = ()


@dataclass(frozen=True)
class DemoProject:
    project: Project
    created: bool
    # Set when an existing project points somewhere else than the demo repository.
    repo_url_mismatch: str = ""


@dataclass(frozen=True)
class DemoSeed:
    repo: DemoRepo
    project: DemoProject
    # None when users were not asked for (DEBUG off and no --force).
    users: list[DemoUser] | None
    # The names of the validation commands this seed added (none when all were there).
    validation_added: tuple[str, ...] = ()
    # The release this seed planned (None when one was there already, or no users).
    planned: object = None
    # Whether this seed wrote the last shipped release's retrospective.
    retrospective: bool = False


def demo_root() -> Path:
    """Where the demo's files live: DATA_DIR/demo."""
    return Path(settings.DATA_DIR) / "demo"


# --- The git repository ----------------------------------------------------------------
def _complete_demo_repo_head(path: Path) -> str | None:
    """The HEAD commit of the demo's bare repository at `path`, or None if nothing is
    there. Anything else in the way is refused, never deleted."""
    if not path.exists():
        return None
    try:
        repo = git.Repo(path)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise Conflict(
            f"{path} exists but is not a git repository. Move it away and run seed_demo again."
        ) from None
    with repo:
        if repo.bare and DEMO_REPO_LAST_TAG in {tag.name for tag in repo.tags}:
            return repo.head.commit.hexsha
    raise Conflict(
        f"{path} is a git repository but not a complete demo repository (it should be "
        f"bare, with tag {DEMO_REPO_LAST_TAG}). Move it away and run seed_demo again."
    )


def _write_history(work: Path) -> git.Repo:
    """Replay demo.pepelugpt_repo.STEPS into a new working repository at `work`.

    Identities and dates come from the steps (GitPython's Actor for commits, the
    environment for tags), never from the machine's git configuration, so every build
    gives the same commit and tag ids.
    """
    repo = git.Repo.init(work, initial_branch="main")
    with repo.config_writer() as config:
        config.set_value("user", "name", PEPE.name)
        config.set_value("user", "email", PEPE.email)
        config.set_value("commit", "gpgSign", "false")
        config.set_value("tag", "gpgSign", "false")
        # No hooks from the machine's git configuration run on this repository's push.
        config.set_value("core", "hooksPath", os.devnull)
    for number, step in enumerate(STEPS, start=1):
        changed = []
        for relative, content in files_at(number).items():
            target = work / relative
            if target.exists() and target.read_text(encoding="utf-8") == content:
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content, encoding="utf-8")
            changed.append(relative)
        if not changed:
            raise RuntimeError(f"Step {number} of the demo history changes no file.")
        repo.index.add(changed)
        actor = git.Actor(step.author.name, step.author.email)
        commit = repo.index.commit(
            step.message,
            author=actor,
            committer=actor,
            author_date=step.when,
            commit_date=step.when,
        )
        if step.tag:
            tagger = {
                "GIT_COMMITTER_NAME": step.author.name,
                "GIT_COMMITTER_EMAIL": step.author.email,
                "GIT_COMMITTER_DATE": step.when.isoformat(),
            }
            with repo.git.custom_environment(**tagger):
                repo.git.tag(
                    "--annotate",
                    "--no-sign",
                    "--message",
                    step.tag.message,
                    step.tag.name,
                    commit.hexsha,
                )
    return repo


def demo_repo_ensure(*, root: Path) -> DemoRepo:
    """The demo's bare remote at `root`/pepelugpt.git, built if it is not there yet.

    1. A complete demo repository already there is left exactly as it is.
    2. Otherwise the history is written into a working repository in a staging folder
       under `root`, and pushed (main and the tags) into a new bare repository beside it.
    3. The bare repository is renamed into place in one step, so a build that fails
       half-way leaves nothing behind that a later run would take for complete.
    """
    root = Path(root).resolve()
    path = root / DEMO_REPO_NAME
    if head := _complete_demo_repo_head(path):
        return DemoRepo(path=path, created=False, head=head)
    root.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.TemporaryDirectory(dir=root, prefix=".pepelugpt-build-") as staging:
            work = _write_history(Path(staging) / "work")
            bare_path = Path(staging) / DEMO_REPO_NAME
            git.Repo.init(bare_path, bare=True, initial_branch="main").close()
            tags = [f"refs/tags/{tag.name}:refs/tags/{tag.name}" for tag in work.tags]
            work.git.push("--quiet", str(bare_path), "refs/heads/main:refs/heads/main", *tags)
            head = work.head.commit.hexsha
            work.close()
            try:
                os.rename(bare_path, path)
            except OSError:
                # Another seed_demo finished first: keep its repository if it is complete.
                if other_head := _complete_demo_repo_head(path):
                    return DemoRepo(path=path, created=False, head=other_head)
                raise
    except git.GitError as error:
        raise DomainError(f"Building the demo git repository failed: {error}") from error
    return DemoRepo(path=path, created=True, head=head)


# --- Users ------------------------------------------------------------------------------
@transaction.atomic
def _demo_user_ensure(*, username: str, role: Role, password: str, reset: bool) -> DemoUser:
    user_model = get_user_model()
    try:
        group = Group.objects.get(name=role.value)
    except Group.DoesNotExist:
        raise Conflict(f"The {role.value} group is missing: run `manage.py migrate`.") from None
    is_admin = role is Role.ADMIN
    user = user_model.objects.select_for_update().filter(username=username).first()
    if user is None:
        user = user_model(username=username, email=f"{username}@liftoff.example")
        user.set_password(password)
        user.is_staff = user.is_superuser = is_admin
        user.save()
        user.groups.add(group)
        audit_record(
            actor=None,
            action="user.created",
            obj=user,
            after={
                "username": username,
                "roles": [role.value],
                "is_superuser": is_admin,
                "by": "seed_demo",
            },
        )
        return DemoUser(username=username, role=role, created=True, password_reset=False)

    # An existing account keeps its password; only its role is made to match the demo's.
    changes = []
    if not user.groups.filter(pk=group.pk).exists():
        user.groups.add(group)
        changes.append(f"added to the {role.value} group")
    if is_admin and not (user.is_staff and user.is_superuser):
        user.is_staff = user.is_superuser = True
        user.save(update_fields=["is_staff", "is_superuser"])
        changes.append("made staff and superuser")
    if changes:
        audit_record(
            actor=None,
            action="user.roles_changed",
            obj=user,
            after={"username": username, "changes": changes, "by": "seed_demo"},
        )
    if reset:
        user.set_password(password)
        user.save(update_fields=["password"])
        audit_record(
            actor=None,
            action="user.password_reset",
            obj=user,
            after={"username": username, "by": "seed_demo"},
        )
    return DemoUser(
        username=username,
        role=role,
        created=False,
        password_reset=reset,
        changes=tuple(changes),
    )


def demo_users_ensure(*, password: str, reset_passwords: bool = False) -> list[DemoUser]:
    """The four demo accounts, one per role; each is created with `password` if missing.

    An existing account keeps its password unless `reset_passwords`; its role group (and,
    for admin, staff and superuser) is restored if it lacks it. Each change is audited.
    """
    if not password:
        raise ValidationFailed("The demo password is empty: set DEMO_PASSWORD.")
    return [
        _demo_user_ensure(username=username, role=role, password=password, reset=reset_passwords)
        for username, role in DEMO_USERS
    ]


# --- The project ------------------------------------------------------------------------
def demo_project_ensure(*, repo_url: str, actor=None) -> DemoProject:
    """The PepeluGPT project, created through releases' project_create if missing.

    An existing project is never changed; if it points elsewhere than `repo_url`, the
    result says so.
    """
    project = Project.objects.filter(slug=DEMO_PROJECT_SLUG).first()
    created = False
    if project is None:
        try:
            project = project_create(
                actor=actor,
                slug=DEMO_PROJECT_SLUG,
                name=DEMO_PROJECT_NAME,
                repo_url=repo_url,
                default_branch="main",
                version_files=list(DEMO_VERSION_FILES),
                description=DEMO_DESCRIPTION,
                codename_pool=list(DEMO_CODENAMES),
            )
            created = True
        except ValidationFailed:
            # Another seed_demo created it between our look and our insert.
            project = Project.objects.filter(slug=DEMO_PROJECT_SLUG).first()
            if project is None:
                raise
    mismatch = "" if project.repo_url == repo_url else project.repo_url
    return DemoProject(project=project, created=created, repo_url_mismatch=mismatch)


# --- Everything --------------------------------------------------------------------------
def demo_seed(
    *, root: Path, with_users: bool, password: str, reset_passwords: bool = False
) -> DemoSeed:
    """1. The git repository (slow I/O, outside any database transaction);
    2. the users, when asked for; 3. the project, pointing at the repository."""
    repo = demo_repo_ensure(root=root)
    users = None
    if with_users:
        users = demo_users_ensure(password=password, reset_passwords=reset_passwords)
    # Made by the seed, not by a person: the audit trail records "system" as the actor.
    project = demo_project_ensure(repo_url=str(repo.path), actor=None)
    demo_history_ensure(project=project.project, repo_path=repo.path)
    # A project of the same name that points elsewhere is someone's own: left unchanged.
    added = [] if project.repo_url_mismatch else demo_validation_ensure(project=project.project)
    planned = None
    retro = False
    if users is not None and not project.repo_url_mismatch:
        planned = demo_release_ensure(project=project.project)
        retro = demo_retrospective_ensure(project=project.project)
    if not project.repo_url_mismatch:
        demo_environments_ensure(project=project.project)
    return DemoSeed(
        repo=repo,
        project=project,
        users=users,
        validation_added=tuple(added),
        planned=planned,
        retrospective=retro,
    )


# The next release of the seed's cosmic roadmap (RELEASE_PROCESS.md), planned for the demo
# manager so that the checklists, gates and approvals have something to show at once.
DEMO_NEXT = ("0.3.0", "Digital Oracle", "Wisdom enhancement phase", "minor")


def demo_release_ensure(*, project):
    """Plan the next release once: nothing when it, or any release in flight, exists."""

    version, codename, summary, release_type = DEMO_NEXT
    releases = Release.objects.filter(project=project)
    if (
        releases.filter(version=version).exists()
        or releases.filter(status__in=RELEASE_IN_FLIGHT).exists()
    ):
        return None
    manager = get_user_model().objects.filter(username="manager").first()
    return release_create(
        actor=None,
        project=project,
        release_type=release_type,
        version=version,
        codename=codename,
        summary=summary,
        release_manager=manager,
    )


# The demo's validation run: (name, argv, report format, report path, gate key, timeout).
# It measures every automated gate of gates.defaults, so that a validated v0.3.0 has no
# gate left pending (a gate nothing measures blocks every release until it is waived).
# The tests run under coverage first; the coverage report that follows carries their exit
# code (gates.run_kinds). pip-audit runs with --strict, so a worker that cannot reach the
# vulnerability service fails the scan ("not measured") instead of reporting no findings.
# The accessibility report is the demo repository's own checker (scripts/a11y.py, the
# standard library only, no browser): the pages' HTML against a set of WCAG rules, written
# in axe-core's results format.
# The licences are read from the environment the validation ran in (the worker's: a lock
# file carries no licences) by cyclonedx-py; `--pyproject` names the demo as the root
# component with its declared dependencies (its dev tools), so only they and what they
# pull in are judged, not every package the worker has installed.
DEMO_VALIDATION_COMMANDS = [
    (
        "Tests under coverage",
        [
            "{python}",
            "-m",
            "coverage",
            "run",
            "--branch",
            "-m",
            "unittest",
            "discover",
            "-s",
            "tests",
        ],
        "none",
        "",
        None,
        900,
    ),
    (
        "Coverage report",
        ["{python}", "-m", "coverage", "xml", "-o", "coverage.xml"],
        "cobertura",
        "coverage.xml",
        "coverage",
        120,
    ),
    (
        "Security scan (bandit)",
        ["{python}", "-m", "bandit", "-r", "src", "-f", "json", "-o", "bandit.json"],
        "bandit",
        "bandit.json",
        "security-scan",
        300,
    ),
    (
        "Dependency audit (pip-audit)",
        [
            "{python}",
            "-m",
            "pip_audit",
            "--strict",
            "--no-deps",
            "--disable-pip",
            "--progress-spinner",
            "off",
            "-r",
            "requirements-dev.txt",
            "-f",
            "json",
            "-o",
            "pip-audit.json",
        ],
        "pip_audit",
        "pip-audit.json",
        "dependency-vulnerabilities",
        300,
    ),
    (
        "Performance report",
        ["{python}", "scripts/perf.py", "--requests", "100", "--output", "perf.json"],
        "performance",
        "perf.json",
        "performance-regression",
        300,
    ),
    (
        "Accessibility report",
        ["{python}", "scripts/a11y.py", "--output", "axe.json"],
        "axe",
        "axe.json",
        "accessibility",
        120,
    ),
    (
        "Dependency licences (CycloneDX SBOM)",
        [
            "{python}",
            "-m",
            "cyclonedx_py",
            "environment",
            "{python}",
            "--pyproject",
            "pyproject.toml",
            "--sv",
            "1.6",
            "--output-reproducible",
            "-o",
            "sbom.json",
        ],
        "cyclonedx",
        "sbom.json",
        "dependency-licences",
        300,
    ),
]


def demo_validation_ensure(*, project) -> list[str]:
    """The demo's validation commands, added through the gates service (as the system)
    where a command of that name is missing, so a second seed adds nothing. A command
    whose gate the project no longer has is left out. Returns the names added."""

    have = set(project.validation_commands.values_list("name", flat=True))
    gates = {g.key: g for g in project.quality_gates.filter(kind="automated")}
    added = []
    for order, (name, argv, fmt, report, gate_key, timeout) in enumerate(
        DEMO_VALIDATION_COMMANDS, start=1
    ):
        if name in have or (gate_key and gate_key not in gates):
            continue
        validation_command_save(
            actor=None,
            project=project,
            name=name,
            argv=list(argv),
            report_format=fmt,
            report_path=report,
            gate=gates.get(gate_key) if gate_key else None,
            timeout_seconds=timeout,
            order=order,
        )
        added.append(name)
    return added


# The releases the demo repository's tags stand for (the seed's codename table).
DEMO_HISTORY = [
    ("0.1.0", "Nebula Whisper", "Initial consciousness awakening", "minor"),
    ("0.2.0", "Quantum Guardian", "Security framework manifestation", "minor"),
]


# The retrospective of the last shipped demo release, as its team would have held it: the
# seed's questions (group-question keys of releases.retro), answers by three people, and
# action items from the seed's "Continuous Improvement Actions", one of them done.
DEMO_RETRO_ANSWERS = [
    ("manager", "0-0", "Guardian mode taught us that a safe answer can still be a kind one."),
    ("approver", "1-0", "Yes: every gate passed or had a waiver with its reason on record."),
    ("approver", "1-1", "The security scan's waiver procedure is not written down anywhere."),
    ("stakeholder", "2-0", "Name the codename's champion in the release announcement."),
    ("manager", "2-2", "Post the cosmic announcement in the community channel on ship day."),
]
DEMO_RETRO_ACTIONS = [
    # (title, owner, due in days from the seed, done)
    ("Write down the security scan's waiver procedure", "approver", 14, False),
    ("Review deployment metrics and pick one optimisation", "manager", 7, False),
    ("Post-release security monitoring of the guardian mode", "manager", -3, True),
]


def demo_retrospective_ensure(*, project) -> bool:
    """Hold the retrospective of the last shipped demo release once (through the services,
    by the demo users): nothing when it has answers or action items already, or a demo
    user is missing."""
    version = DEMO_HISTORY[-1][0]
    release = Release.objects.filter(project=project, version=version).first()
    users = {u.username: u for u in get_user_model().objects.filter(username__in=DEMO_USERNAMES)}
    if (
        release is None
        or len(users) < len(DEMO_USERNAMES)
        or RetroAnswer.objects.filter(retrospective__release=release).exists()
        or ActionItem.objects.filter(release=release).exists()
    ):
        return False
    with transaction.atomic():
        for username, question, text in DEMO_RETRO_ANSWERS:
            retro_answer_save(release=release, actor=users[username], question=question, text=text)
        today = timezone.localdate()
        for title, owner, days, done in DEMO_RETRO_ACTIONS:
            item = action_item_create(
                release=release,
                actor=users["manager"],
                title=title,
                owner=users[owner],
                due_date=today + timedelta(days=days),
            )
            if done:
                action_item_set_status(item=item, actor=users[owner], status=ActionItemStatus.DONE)
    return True


def demo_history_ensure(*, project, repo_path: Path) -> None:
    """The project's known refs (as a sync would record them) and its shipped releases,
    so that the dashboard, the history and the version proposal start from real data;
    each with its change impact since the tag before it (once: a preparation run analyses
    the releases Liftoff prepares, but these were recorded from their tags, and the seed
    is a command on the demo's small local repository, not a request)."""

    if not project.refs.exists():
        project_refs_record(project=project, refs=list_refs(repo_path))
    dates = {r.name: r.committed_at for r in project.refs.filter(kind="tag")}
    for version, codename, summary, release_type in DEMO_HISTORY:
        release = release_record_shipped(
            actor=None,
            project=project,
            version=version,
            codename=codename,
            summary=summary,
            release_type=release_type,
            released_at=dates.get(f"v{version}"),
        )
        if release_change_impact(release=release)["state"] == "pending":
            release_change_analyse(release=release, repo_path=repo_path, head=release.head_commit)


# --- The environments: PepeluGPT deployed for real on 127.0.0.1 ----------------------------
# The seed's health endpoints (RELEASE_PROCESS.md, "Oracle Health Verification").
DEMO_HEALTH_PATHS = ["/health/oracle", "/health/compliance", "/health/cosmic"]
DEMO_VERIFY_SECONDS = 5


def demo_run_dir() -> Path:
    """Where the deployed demo services live: their installed copies, logs, PID files and
    the switch's colour file (DATA_DIR/demo/run)."""
    return demo_root() / "run"


def _demo_checks(port: int) -> list[dict]:
    return [
        {
            "url": f"http://127.0.0.1:{port}{path}",
            "expected_status": 200,
            "json_field": "version",
            "json_value": "{version}",
            "timeout_seconds": 2,
            "retries": 3,
        }
        for path in DEMO_HEALTH_PATHS
    ]


def demo_environment_specs() -> list[tuple[dict, list[dict]]]:
    """(fields, health checks) of the demo's two environments, with the ports of the
    settings (DEMO_STAGING_PORT, DEMO_PRODUCTION_PORT, DEMO_BLUE_PORT, DEMO_GREEN_PORT).
    The commands are the demo repository's own deploy/serve.py and deploy/switch.py (the
    seed's deploy-staging.sh, blue-green-deploy.sh and the traffic switch), run in the
    release's checkout."""
    run = str(demo_run_dir())
    staging, production = settings.DEMO_STAGING_PORT, settings.DEMO_PRODUCTION_PORT
    blue, green = settings.DEMO_BLUE_PORT, settings.DEMO_GREEN_PORT
    colours = ["--blue-port", str(blue), "--green-port", str(green)]
    return [
        (
            {
                "name": "staging",
                "order": 1,
                "phase": "staging",
                "strategy": "command",
                "url": f"http://127.0.0.1:{staging}/",
                "deploy_commands": [
                    [
                        "{python}",
                        "deploy/serve.py",
                        "deploy",
                        "--run-dir",
                        run,
                        "--port",
                        str(staging),
                    ]
                ],
                "command_timeout_seconds": 120,
                "verify_seconds": DEMO_VERIFY_SECONDS,
                "verify_interval_seconds": 1,
            },
            _demo_checks(staging),
        ),
        (
            {
                "name": "production",
                "order": 2,
                "phase": "production",
                "strategy": "blue_green",
                "url": f"http://127.0.0.1:{production}/",
                "deploy_commands": [
                    ["{python}", "deploy/serve.py", "deploy", "--run-dir", run, *colours]
                ],
                "switch_commands": [
                    [
                        "{python}",
                        "deploy/switch.py",
                        "--run-dir",
                        run,
                        "--port",
                        str(production),
                        *colours,
                    ]
                ],
                "blue_url": f"http://127.0.0.1:{blue}/",
                "green_url": f"http://127.0.0.1:{green}/",
                "command_timeout_seconds": 120,
                "verify_seconds": DEMO_VERIFY_SECONDS,
                "verify_interval_seconds": 1,
            },
            _demo_checks(production),
        ),
    ]


def demo_environments_ensure(*, project) -> list[str]:
    """The demo's staging and production, created through the deployments services (as
    the system) where missing; an existing environment of that name is left as it is.
    Nothing is recorded as running: until the first deployment the board says nothing
    runs there. Returns the names added."""
    have = set(project.environments.values_list("name", flat=True))
    added = []
    for fields, checks in demo_environment_specs():
        if fields["name"] in have:
            continue
        with transaction.atomic():
            try:
                environment, _secret = environment_create(project=project, actor=None, **fields)
            except ValidationFailed:
                continue  # another seed_demo created it between our look and our insert
            health_check_set(environment=environment, actor=None, checks=checks)
        added.append(fields["name"])
    return added


# --- The baseline: what the board says runs in the demo's environments, really running ----
# A bound per deployment: a clone, the service's start (serve.py waits at most 20 s) and the
# 5 s verification window, with room for a busy machine.
DEMO_BASELINE_WAIT_SECONDS = 120


@dataclass(frozen=True)
class BaselineStep:
    environment: str
    outcome: str  # "running" (left alone), "deployed", "failed" or "skipped"
    detail: str


def _demo_baseline_release(*, project):
    """The demo's last released version (v0.2.0 on a fresh seed): what runs in staging and
    production before the manager's next release goes there."""
    return (
        Release.objects.filter(project=project, status=ReleaseStatus.RELEASED)
        .order_by("-major", "-minor", "-patch")
        .first()
    )


def _deployment_wait(deployment, *, timeout: float):
    """The deployment once it has ended, or None after `timeout` seconds (it goes on in
    the worker: the run engine, not this wait, decides how it ends)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        deployment.refresh_from_db()
        if deployment.is_final:
            return deployment
        time.sleep(0.25)
    return None


def _demo_environment_baseline(*, environment, fallback, timeout: float) -> BaselineStep:
    """One environment: left alone when what the board shows there answers its health
    checks; otherwise that version deployed again (or `fallback`, the last released
    version, where nothing was ever verified or that release may no longer be deployed),
    then waited for."""
    name = environment.name
    current = environment_current(environment=environment)
    if current is not None and environments_check_health(environments=[environment]).get(
        environment.pk
    ):
        return BaselineStep(name, "running", f"v{current.version} answers")
    if environment_active(environment=environment) is not None:
        return BaselineStep(name, "skipped", "a deployment is in progress there already")
    candidates = [r for r in (current.release if current else None, fallback) if r is not None]
    blockers: list = []
    for release in dict.fromkeys(candidates):  # the current release first, no repeats
        if blockers := deployment_blockers(release=release, environment=environment):
            continue
        try:
            deployment = deployment_start(release=release, environment=environment, actor=None)
        except DomainError as error:
            blockers = [error.message]
            continue
        ended = _deployment_wait(deployment, timeout=timeout)
        if ended is None:
            return BaselineStep(
                name, "failed", f"v{release.version} still not verified after {timeout:.0f} s"
            )
        if not ended.verified:
            return BaselineStep(
                name, "failed", f"v{release.version} {ended.status}: {ended.error[:300]}"
            )
        return BaselineStep(name, "deployed", f"v{release.version} (deployment #{ended.pk})")
    if not candidates:
        return BaselineStep(name, "skipped", "no released version to deploy")
    return BaselineStep(name, "skipped", "; ".join(str(b) for b in blockers))


def demo_baseline_ensure(
    *, project, timeout: float = DEMO_BASELINE_WAIT_SECONDS
) -> list[BaselineStep]:
    """Make what the board says runs in the demo's environments really run (`make run`
    calls it through `manage.py demo_baseline` once the worker is up):

    1. the environments in order (staging, then production: production takes only a
       commit verified on staging), each through `_demo_environment_baseline`;
    2. every deployment is a real one of the run engine (`deployment_start`, as the
       system, with the blockers any deployment has), waited for at most `timeout` s;
    3. an environment that fails stops the ones after it (they would take a version
       their previous environment does not run).

    On a fresh seed this deploys the last released version (v0.2.0) to staging and then to
    production (blue), so that the next release has a version to roll back to. After a
    restart (Ctrl-C of `make run` stopped the services) it deploys again what ran there."""
    steps = []
    for environment in project.environments.order_by("order", "id"):
        if environment.phase not in {EnvironmentPhase.STAGING, EnvironmentPhase.PRODUCTION}:
            continue
        step = _demo_environment_baseline(
            environment=environment,
            fallback=_demo_baseline_release(project=project),
            timeout=timeout,
        )
        steps.append(step)
        if step.outcome == "failed":
            break
    if any(s.outcome == "deployed" for s in steps):
        # The health the board shows was recorded before the redeploy (down): ask again
        # now rather than at beat's next check, up to a minute later.
        environments_check_health(environments=list(project.environments.all()))
    return steps
