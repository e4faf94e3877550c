import git
from django.db import IntegrityError, transaction
from django.utils import timezone

from liftoff.audit import audit_record
from liftoff.errors import Conflict, NotAllowed, ValidationFailed
from liftoff.events import emit
from liftoff.git import SLUG, SLUG_RULE, ref_name_problem, remote_url_problem, repo_path_problem
from liftoff.roles import Role, has_role, require_role
from releases.impact import (
    COMMIT,
    PATTERNS_MAX,
    ImpactProblem,
    change_impact_compute,
    security_pattern_problem,
)
from releases.models import (
    RELEASE_REACHED_PRODUCTION,
    RELEASE_TRANSITIONS,
    ActionItem,
    ActionItemStatus,
    ChangeImpact,
    ChangeImpactStatus,
    NotesTemplate,
    Project,
    ProjectRef,
    Release,
    ReleaseStatus,
    ReleaseType,
    RetroAnswer,
    Retrospective,
    RetroTemplate,
    default_cadence_days,
)
from releases.notes import (
    DEFAULT_TEMPLATE,
    HEADING_MAX,
    Template,
    commits_between,
    sections_from_text,
    template_to_data,
)
from releases.policy import SHIP_ANCHOR, project_created, release_blockers, release_planned
from releases.retro import DEFAULT_RETRO_GROUPS, retro_groups_from_text, retro_groups_frozen
from releases.selectors import (
    project_mirror_path,
    project_sync_problem,
    retro_template_groups,
    retrospective_require_open,
)
from releases.versioning import (
    Version,
    codename_slug,
    next_codename,
    propose_version,
    suggest_release_type,
    version_problem,
)
from runs.services import run_create

PATTERN_PLACEHOLDERS = {"{version}", "{codename-slug}", "{codename}"}


def _pattern_problem(pattern: str) -> str | None:
    if "{version}" not in pattern:
        return "must contain {version}"
    rest = pattern
    for placeholder in PATTERN_PLACEHOLDERS:
        rest = rest.replace(placeholder, "x")
    if "{" in rest or "}" in rest:
        return "may use only {version}, {codename} and {codename-slug}"
    return ref_name_problem(rest)


def _project_errors(data: dict) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}

    def add(field, message):
        errors.setdefault(field, []).append(message)

    if not SLUG.match(data["slug"]):
        add("slug", SLUG_RULE)
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
            if problem := repo_path_problem(path):
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
    install_defaults: bool = True,
) -> Project:
    """A new project starts with what the apps' project hooks give it (the default
    checklist templates, the default quality gates: `releases.policy`) unless
    `install_defaults` is off, and with its first sync run,
    written in the same transaction and dispatched on commit: until a sync has finished
    nothing can be proposed for it (`project_sync_problem`), so nobody should have to
    press Sync first."""
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
            if install_defaults:
                project_created(project=project, actor=actor)
            project_sync(project=project, actor=actor)
    except IntegrityError:
        raise ValidationFailed(
            "The project could not be created.",
            errors={"slug": [f"A project with the slug “{data['slug']}” exists already."]},
        ) from None
    return project


@transaction.atomic
def project_refs_record(*, project: Project, refs: list[dict]) -> dict[str, int]:
    """Replace the project's known branches and tags with what the last sync saw."""

    now = timezone.now()
    before = {(r.kind, r.name): r.commit for r in project.refs.all()}
    after = {(r["kind"], r["name"]): r["commit"] for r in refs}
    project.refs.all().delete()
    ProjectRef.objects.bulk_create(ProjectRef(project=project, synced_at=now, **r) for r in refs)
    Project.objects.filter(pk=project.pk).update(last_synced_at=now)
    project.last_synced_at = now  # the caller's copy knows it too (the demo seed plans next)
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

    return run_create(kind="project.sync", subject=project, scope=project.slug, requested_by=actor)


# --- Releases ------------------------------------------------------------------------------


def render_ref_pattern(pattern: str, *, version: str, codename: str) -> str:
    """A branch or tag name from the project's pattern (placeholders only, never format())."""

    return (
        pattern.replace("{version}", version)
        .replace("{codename-slug}", codename_slug(codename) or "release")
        .replace("{codename}", codename)
    )


def _known_versions(project: Project):
    """(released versions, versions of live releases, version now in production)."""

    released, existing, production = [], [], None
    for version, status in Release.objects.filter(project=project).values_list("version", "status"):
        parsed = Version.parse(version)
        if status != ReleaseStatus.CANCELLED:
            existing.append(parsed)
        if status in RELEASE_REACHED_PRODUCTION:
            released.append(parsed)
            if production is None or parsed > production:
                production = parsed
    for name in project.refs.filter(kind="tag").values_list("name", flat=True):
        parsed = Version.parse_tag(name, project.tag_pattern)
        if parsed is not None:
            released.append(parsed)
            existing.append(parsed)
    if production is None and released:
        production = max((v for v in released if not v.prerelease), default=None)
    return released, existing, production


def _require_synced(project: Project) -> None:
    """Conflict (409, with what is missing) while the project's released versions are not
    known: before its first sync has finished."""
    if problem := project_sync_problem(project=project):
        raise Conflict(f"No version can be proposed for {project.name} yet.", missing=[problem])


def release_proposal(*, project: Project, release_type: str | None = None) -> dict:
    """What the new-release form proposes: type (with reasons), version, codename.
    Refused (Conflict) until the repository has been synced once."""

    _require_synced(project)
    released, _, production = _known_versions(project)
    last = max((v for v in released if not v.prerelease), default=None)
    suggested, reasons = "patch", []
    commits = _commits_since_release(project, last)
    if commits is None:
        reasons = ["Sync the repository to see the commits since the last release."]
    else:
        suggested, reasons = suggest_release_type(commits, current=last)
    release_type = release_type or suggested
    used = Release.objects.filter(project=project).values_list("codename", flat=True)
    return {
        "suggested_type": suggested,
        "reasons": reasons,
        "type": release_type,
        "version": str(
            propose_version(release_type=release_type, released=released, in_production=production)
        ),
        "codename": next_codename(project.codename_pool, used) or "",
        "last_released": str(last) if last else None,
    }


def _commits_since_release(project: Project, last):
    """(subject, body) of commits on the default branch since the last release tag, read
    from the project's mirror; None if the mirror has not been synced yet."""

    mirror = project_mirror_path(project)
    if not (mirror / "HEAD").exists() or ref_name_problem(project.default_branch):
        return None
    since = (
        render_ref_pattern(project.tag_pattern, version=str(last), codename="") if last else None
    )
    try:
        commits = commits_between(mirror, since=since, until=project.default_branch)
    except Exception:
        return None
    return [(c.subject, c.body) for c in commits]


def _version_fields(parsed) -> dict:
    """A release's version and the precedence parts the database sorts by."""
    return {
        "version": str(parsed),
        "major": parsed.major,
        "minor": parsed.minor,
        "patch": parsed.patch,
        "prerelease": ".".join(parsed.prerelease),
    }


def release_create(
    *,
    actor,
    project: Project,
    release_type: str | None = None,
    version: str | None = None,
    codename: str | None = None,
    summary: str = "",
    target_date=None,
    release_manager=None,
):
    """1. Refuse before the first sync (even a given version: it is checked against the
    released tags, which are not known yet); 2. propose what was not given (no type: the
    suggested one); 3. check the version (SemVer, not taken, not lower than released) and
    the branch name; 4. write it with the suggestion, audited. Two people creating the same
    version at once: the unique constraint keeps one, the other gets the same message."""

    _require_synced(project)
    if release_type is None:
        release_type = release_proposal(project=project)["suggested_type"]
    if release_type not in ReleaseType.values:
        raise ValidationFailed(
            "Choose the type of release.",
            errors={"type": [f"Choose one of {', '.join(ReleaseType.values)}."]},
        )
    proposal = release_proposal(project=project, release_type=release_type)
    version = (version or proposal["version"]).strip()
    codename = (proposal["codename"] if codename is None else codename).strip()
    parsed = Version.parse(version)  # ValidationFailed naming the version field
    released, existing, production = _known_versions(project)
    hotfix_of = production if release_type == ReleaseType.HOTFIX else None
    if problem := version_problem(
        parsed, released=released, existing=existing, hotfix_of=hotfix_of
    ):
        raise ValidationFailed("The version cannot be used.", errors={"version": [problem]})
    branch = render_ref_pattern(project.branch_pattern, version=version, codename=codename)
    tag = render_ref_pattern(project.tag_pattern, version=version, codename=codename)
    for field, name in (("codename", branch), ("version", tag)):
        if problem := ref_name_problem(name):
            raise ValidationFailed(
                "The release's git names are not valid.", errors={field: [f"“{name}” {problem}."]}
            )
    base_ref = project.default_branch
    if release_type == ReleaseType.HOTFIX and production is not None:
        base_ref = render_ref_pattern(project.tag_pattern, version=str(production), codename="")
    try:
        with transaction.atomic():
            release = Release.objects.create(
                project=project,
                **_version_fields(parsed),
                type=release_type,
                suggested_type=proposal["suggested_type"],
                suggestion_reasons=proposal["reasons"],
                codename=codename,
                summary=summary.strip()[:300],
                target_date=target_date,
                release_manager=release_manager or (actor if getattr(actor, "pk", None) else None),
                created_by=actor if getattr(actor, "pk", None) else None,
                branch=branch,
                tag=tag,
                base_ref=base_ref,
            )
            audit_record(
                actor=actor,
                action="release.created",
                obj=release,
                after={
                    "project": project.slug,
                    "version": version,
                    "type": release_type,
                    "codename": codename,
                    "branch": branch,
                    "base": base_ref,
                },
            )
            release_planned(release=release)
            emit(
                "release.planned",
                subject=release,
                actor=actor,
                payload={
                    "project": project.slug,
                    "version": version,
                    "type": release_type,
                    "codename": codename,
                },
            )
    except IntegrityError:
        raise ValidationFailed(
            "The version cannot be used.",
            errors={"version": [f"v{version} exists already in {project.name}."]},
        ) from None
    return release


def release_transition(*, release, to: str, actor, system_reason: str = ""):
    """The one place a release's status changes: the state machine, then the release
    policy (`releases.policy.release_blockers`), then a conditional UPDATE (someone else
    may have moved it meanwhile: zero rows changed, and the caller is told).

    A system move (Prepare starting, a validation run starting, the ship run's tag on
    the remote, later a rollback) passes `system_reason`: the policy is not asked, and the
    audit record and the event say that it was skipped and why."""
    current = release.status
    if to not in ReleaseStatus.values:
        raise ValidationFailed("Unknown phase.", errors={"to": [f"“{to}” is not a phase."]})
    if to not in RELEASE_TRANSITIONS[current]:
        allowed = ", ".join(sorted(RELEASE_TRANSITIONS[current])) or "nothing"
        raise Conflict(
            f"A {current} release cannot move to {to} (it can move to {allowed}).",
            missing=[f"{current} → {to} is not a step of the release process."],
        )
    if not system_reason and (missing := release_blockers(release=release, to=to)):
        raise Conflict(f"v{release.version} cannot move to {to} yet.", missing=missing)
    fields = {"status": to}
    if to == ReleaseStatus.RELEASED:
        fields["released_at"] = timezone.now()
    with transaction.atomic():
        changed = Release.objects.filter(pk=release.pk, status=current).update(**fields)
        if not changed:
            raise Conflict(
                "Someone else moved this release meanwhile; reload to see it.",
                missing=["The release changed while you looked at it."],
            )
        after = {"status": to}
        if system_reason:
            after["checks_skipped"] = system_reason
        audit_record(
            actor=actor,
            action="release.transition",
            obj=release,
            before={"status": current},
            after=after,
        )
        for name, value in fields.items():
            setattr(release, name, value)
        payload = {"from": current, "to": to, "system": system_reason or None}
        emit("release.moved", subject=release, actor=actor, payload=payload)
        if to == ReleaseStatus.RELEASED:
            emit(
                "release.shipped",
                subject=release,
                actor=actor,
                payload={
                    "version": release.version,
                    "tag": release.tag,
                    "commit": release.head_commit,
                },
            )
    return release


def release_prepare(*, release, actor):
    """Start the preparation run (branch, version bump, commit, push, notes)."""

    with transaction.atomic():
        if release.status == ReleaseStatus.PLANNED:
            release_transition(
                release=release,
                to=ReleaseStatus.PREPARING,
                actor=actor,
                system_reason="Prepare started the preparation run.",
            )
        elif release.status != ReleaseStatus.PREPARING:
            raise Conflict(
                f"A {release.status} release cannot be prepared again.",
                missing=["Only a planned or preparing release is prepared."],
            )
        return run_create(
            kind="release.prepare", subject=release, scope=release.project.slug, requested_by=actor
        )


def release_change_analysis_start(*, release, actor):
    """Start the run that analyses the release's change again (its workspace fetched, the
    previous tag found, the diff stored): after a failed analysis, one of an older head,
    or a release recorded without one. Release managers and admins; the release's git
    lock keeps it from running beside a preparation or a ship."""
    require_role(actor, {Role.RELEASE_MANAGER}, "Only release managers analyse the change.")
    if not COMMIT.match(release.head_commit or ""):
        raise Conflict(
            "The release has no head commit to analyse.", missing=["Prepare the release."]
        )
    return run_create(
        kind="release.analyse", subject=release, scope=release.project.slug, requested_by=actor
    )


def release_ship(*, release, actor):
    """Start the run that tags the release head and pushes the tag; it moves the release
    to released when the tag is on the remote."""

    if release.status != ReleaseStatus.PRODUCTION:
        raise Conflict(
            f"Only a release in production is shipped (this one is {release.status}).",
            missing=["Move the release to production first."],
        )
    if not release.head_commit:
        raise Conflict("The release has no head commit.", missing=["Prepare the release."])
    # What else keeps it from being released (a production environment where it is not
    # verified yet: its deployment tags and releases it instead) refuses Ship too: the
    # ship run's own move skips the checks, so they are made here.
    others = [
        b
        for b in release_blockers(release=release, to=ReleaseStatus.RELEASED)
        if b.anchor != SHIP_ANCHOR
    ]
    if others:
        raise Conflict(f"v{release.version} cannot be shipped yet.", missing=others)
    return run_create(
        kind="release.ship", subject=release, scope=release.project.slug, requested_by=actor
    )


@transaction.atomic
def release_notes_update(*, release, actor, markdown: str):

    before = release.notes
    Release.objects.filter(pk=release.pk).update(notes=markdown, notes_edited=True)
    audit_record(
        actor=actor,
        action="release.notes_edited",
        obj=release,
        before={"length": len(before)},
        after={"length": len(markdown)},
    )
    release.notes, release.notes_edited = markdown, True
    return release


# --- The notes template ------------------------------------------------------------------
NOTES_TEXT_MAX = 500


def project_notes_template_install(*, project, actor=None) -> bool:
    """Give a project the seed's notes template unless it has one (the project hook)."""
    _, created = NotesTemplate.objects.get_or_create(
        project=project, defaults=template_to_data(DEFAULT_TEMPLATE)
    )
    return created


@transaction.atomic
def notes_template_update(
    *,
    project,
    actor,
    sections: str,
    quote: str,
    footer: str,
    contributors: bool,
    contributors_heading: str,
) -> NotesTemplate:
    """Change how the project's notes read (release managers and admins). `sections` is the
    settings page's text, one section a line (`releases.notes.sections_from_text`). Notes
    drafted from now on follow it; notes already drafted stay as they are."""
    require_role(
        actor, {Role.RELEASE_MANAGER}, "Only release managers and admins change the notes."
    )
    errors: dict[str, list[str]] = {}
    try:
        parsed = sections_from_text(sections)
    except ValidationFailed as exc:
        errors |= exc.errors
    quote, footer = " ".join(quote.split()), footer.strip()
    contributors_heading = " ".join(contributors_heading.split())
    for name, value, limit in (
        ("quote", quote, NOTES_TEXT_MAX),
        ("footer", footer, NOTES_TEXT_MAX),
        ("contributors_heading", contributors_heading, HEADING_MAX),
    ):
        if len(value) > limit:
            errors[name] = [f"At most {limit} characters."]
    if contributors and not contributors_heading:
        errors["contributors_heading"] = ["Name the contributors' section, or turn it off."]
    if errors:
        raise ValidationFailed("The notes template was not saved.", errors=errors)
    data = template_to_data(
        Template(
            sections=parsed,
            quote=quote,
            footer=footer,
            contributors=contributors,
            contributors_heading=contributors_heading or DEFAULT_TEMPLATE.contributors_heading,
        )
    )
    row = NotesTemplate.objects.select_for_update().filter(project=project).first()
    before = {} if row is None else {"sections": row.sections, "quote": row.quote}
    row, _ = NotesTemplate.objects.update_or_create(project=project, defaults=data)
    audit_record(
        actor=actor,
        action="project.notes_template_changed",
        obj=project,
        before=before,
        after={
            "sections": data["sections"],
            "quote": quote,
            "footer": footer,
            "contributors": contributors,
        },
    )
    return row


def release_git_facts_record(*, release, **facts):
    """The preparation and ship runs record what they did (branch, commits, tag)."""

    Release.objects.filter(pk=release.pk).update(**facts)
    audit_record(
        actor=None,
        action="release.git_recorded",
        obj=release,
        after={k: str(v) for k, v in facts.items() if k != "notes"},
    )
    for name, value in facts.items():
        setattr(release, name, value)


# --- Change impact ---------------------------------------------------------------------


def release_previous_tag(*, release, repo: git.Repo) -> str | None:
    """The highest release tag below the release's version in `repo` (the tags as the
    remote has them): where its notes and its change impact start."""
    current = Version.parse(release.version)
    best = None
    for tag in repo.tags:
        parsed = Version.parse_tag(tag.name, release.project.tag_pattern)
        usable = parsed is not None and not parsed.prerelease and parsed < current
        if usable and (best is None or parsed > best[0]):
            best = (parsed, tag.name)
    return best[1] if best else None


def release_change_analyse(*, release, repo_path, head: str) -> ChangeImpact:
    """1. Find the previous release tag in the repository at `repo_path` and its commit
    (none: the first release, compared with the empty tree); 2. run the git diffs
    (releases.impact, outside any transaction: git may take a while); 3. record the
    result, or why there is none, as the release's change impact (audited).

    `head` comes from git (the commit the run pushed, the tag's commit), and is checked
    to be a commit id before git sees it. The caller decides whether a failure fails its
    run; the failure is on the row either way."""
    previous, base, result, error = "", "", {}, ""
    try:
        if not COMMIT.match(head or ""):
            raise ImpactProblem("The release has no head commit to analyse.")
        repo = git.Repo(repo_path)
        previous = release_previous_tag(release=release, repo=repo) or ""
        if previous:
            base = repo.tags[previous].commit.hexsha
        result = change_impact_compute(
            repo_path,
            base=base or None,
            head=head,
            security_patterns=list(release.project.security_patterns),
        )
    except (ImpactProblem, git.GitError, git.BadName, git.BadObject, ValueError) as exc:
        error = str(exc) or type(exc).__name__
    return release_change_impact_record(
        release=release,
        previous_tag=previous,
        base_commit=base,
        head_commit=head if COMMIT.match(head or "") else "",
        result=result,
        error=error,
    )


@transaction.atomic
def release_change_impact_record(
    *,
    release,
    previous_tag: str,
    base_commit: str,
    head_commit: str,
    result: dict,
    error: str = "",
) -> ChangeImpact:
    """The release's change impact, replacing an earlier analysis (of an earlier head, or
    one that failed). Audited with its figures, not its paths."""
    status = ChangeImpactStatus.FAILED if error else ChangeImpactStatus.SUCCEEDED
    impact, _ = ChangeImpact.objects.update_or_create(
        release=release,
        defaults={
            "status": status,
            "previous_tag": previous_tag,
            "base_commit": base_commit,
            "head_commit": head_commit,
            "result": {} if error else result,
            "error": error[:2000],
            "analysed_at": timezone.now(),
        },
    )
    after = {"status": status, "previous_tag": previous_tag, "head_commit": head_commit}
    if error:
        after["error"] = error[:500]
    else:
        after["totals"] = result["totals"]
        for part in ("migrations", "dependencies", "security"):
            after[part] = result[part]["count"]
    audit_record(actor=None, action="release.impact_analysed", obj=release, after=after)
    return impact


@transaction.atomic
def project_security_patterns_set(*, project, actor, patterns: list[str]) -> Project:
    """The project's security-sensitive path patterns (admins): each a glob
    (releases.impact.path_matches). Releases analysed from now on are matched with them;
    an analysis made before keeps the patterns it was made with."""
    require_role(actor, {Role.ADMIN}, "Only admins change the security-sensitive paths.")
    problems = [f"“{p}” {problem}." for p in patterns if (problem := security_pattern_problem(p))]
    if len(patterns) > PATTERNS_MAX:
        problems.append(f"At most {PATTERNS_MAX} patterns.")
    if problems:
        raise ValidationFailed(
            "The patterns were not saved.", errors={"security_patterns": problems}
        )
    unique = list(dict.fromkeys(patterns))
    current = Project.objects.select_for_update().get(pk=project.pk)
    before = list(current.security_patterns)
    Project.objects.filter(pk=project.pk).update(security_patterns=unique)
    audit_record(
        actor=actor,
        action="project.security_patterns_changed",
        obj=project,
        before={"security_patterns": before},
        after={"security_patterns": unique},
    )
    project.security_patterns = unique
    return project


def release_record_shipped(
    *,
    actor,
    project: Project,
    version: str,
    codename: str,
    summary: str,
    release_type: str,
    released_at,
):
    """Record a release that shipped before Liftoff tracked the project, from its tag.
    Idempotent: an existing record of that version is returned unchanged."""

    existing = Release.objects.filter(project=project, version=version).first()
    if existing is not None:
        return existing
    parsed = Version.parse(version)
    tag = render_ref_pattern(project.tag_pattern, version=version, codename=codename)
    head = project.refs.filter(kind="tag", name=tag).values_list("commit", flat=True).first()
    if head is None:
        raise ValidationFailed(
            f"No tag {tag} in the repository: sync it first.",
            errors={"version": [f"{tag} is not a known tag."]},
        )
    with transaction.atomic():
        release = Release.objects.create(
            project=project,
            **_version_fields(parsed),
            type=release_type,
            codename=codename,
            summary=summary,
            status=ReleaseStatus.RELEASED,
            tag=tag,
            head_commit=head,
            branch="",
            base_ref=project.default_branch,
            tagged_at=released_at,
            released_at=released_at,
            recorded=True,
        )
        audit_record(
            actor=actor,
            action="release.recorded",
            obj=release,
            after={"version": version, "tag": tag, "commit": head},
        )
    return release


# --- Retrospectives --------------------------------------------------------------------

RETRO_ANSWER_MAX = 4000
ACTION_TITLE_MAX = 300
MANAGERS = {Role.RELEASE_MANAGER}


def project_retro_template_install(*, project, actor=None) -> bool:
    """Give a project the seed's retrospective questions unless it has some (the hook)."""
    _, created = RetroTemplate.objects.get_or_create(
        project=project, defaults={"groups": DEFAULT_RETRO_GROUPS}
    )
    return created


@transaction.atomic
def retro_template_update(*, project, actor, text: str) -> RetroTemplate:
    """Change the questions of the project's retrospectives from now on (release managers
    and admins); a retrospective already begun keeps the questions it was asked."""
    require_role(actor, MANAGERS, "Only release managers and admins change the questions.")
    groups = retro_groups_from_text(text)
    template, _ = RetroTemplate.objects.select_for_update().get_or_create(project=project)
    before = template.groups
    template.groups = groups
    template.save(update_fields=["groups", "updated_at"])
    audit_record(
        actor=actor,
        action="retro.template_changed",
        obj=project,
        before={"groups": before},
        after={"groups": groups},
    )
    return template


def _retrospective_begin(release) -> Retrospective:
    """The release's retrospective, begun with the project's questions as they are now."""
    retro = Retrospective.objects.filter(release=release).first()
    if retro is None:
        groups = retro_groups_frozen(retro_template_groups(project=release.project))
        retro, _ = Retrospective.objects.get_or_create(release=release, defaults={"groups": groups})
    return retro


@transaction.atomic
def retro_answer_save(*, release, actor, question: str, text: str) -> RetroAnswer | None:
    """The actor's answer to one question: one per person, saved again to edit it; an
    empty text withdraws it. Anyone signed in with a role may answer."""
    require_role(actor, set(Role), "Sign in with a role to answer.")
    retrospective_require_open(release=release)
    text = text.strip()
    if len(text) > RETRO_ANSWER_MAX:
        raise ValidationFailed(
            "The answer is too long.",
            errors={"text": [f"At most {RETRO_ANSWER_MAX} characters."]},
        )
    retro = _retrospective_begin(release)
    keys = {q["key"] for group in retro.groups for q in group["questions"]}
    if question not in keys:
        raise ValidationFailed(
            "No such question.", errors={"question": ["This question is not asked here."]}
        )
    found = RetroAnswer.objects.select_for_update().filter(
        retrospective=retro, question=question, author=actor
    )
    previous = found.first()
    before = {"question": question, "text": previous.text} if previous else None
    if not text:
        if previous is None:
            raise ValidationFailed("Write an answer.", errors={"text": ["Write an answer."]})
        previous.delete()
        answer = None
    elif previous is None:
        answer = RetroAnswer.objects.create(
            retrospective=retro, question=question, author=actor, text=text
        )
    else:
        previous.text = text
        previous.save(update_fields=["text", "updated_at"])
        answer = previous
    audit_record(
        actor=actor,
        action="retro.answered" if answer else "retro.answer_withdrawn",
        obj=release,
        before=before,
        after={"question": question, "text": text} if answer else None,
    )
    return answer


@transaction.atomic
def action_item_create(*, release, actor, title: str, owner, due_date=None) -> ActionItem:
    """An action item of the release's retrospective (release managers and admins)."""
    require_role(actor, MANAGERS, "Only release managers and admins add action items.")
    retrospective_require_open(release=release)
    title = title.strip()
    errors = {}
    if not title:
        errors["title"] = ["Say what is to be done."]
    elif len(title) > ACTION_TITLE_MAX:
        errors["title"] = [f"At most {ACTION_TITLE_MAX} characters."]
    if owner is None or not owner.is_active:
        errors["owner"] = ["Choose who owns it."]
    if errors:
        raise ValidationFailed("The action item is not valid.", errors=errors)
    item = ActionItem.objects.create(
        release=release, title=title, owner=owner, due_date=due_date, created_by=actor
    )
    audit_record(
        actor=actor,
        action="retro.action_created",
        obj=item,
        after={
            "release": release.pk,
            "title": title,
            "owner": owner.get_username(),
            "due_date": due_date.isoformat() if due_date else None,
        },
    )
    return item


def action_item_may_change(*, item, user) -> bool:
    """The owner, or a release manager or admin."""
    return item.owner_id == user.pk or has_role(user, MANAGERS)


@transaction.atomic
def action_item_set_status(*, item, actor, status: str) -> ActionItem:
    """Move an action item to `status` (its owner, or a manager). The write is conditional
    on the status read, so two people changing it at once cannot both win silently."""
    if not action_item_may_change(item=item, user=actor):
        raise NotAllowed("Only its owner or a release manager changes this action item.")
    if status not in ActionItemStatus.values:
        raise ValidationFailed("No such status.", errors={"status": ["Choose a status."]})
    current = item.status
    if status == current:
        return item
    changed = ActionItem.objects.filter(pk=item.pk, status=current).update(
        status=status, updated_at=timezone.now()
    )
    if not changed:
        raise Conflict("Someone changed this action item meanwhile: look again.")
    item.status = status
    audit_record(
        actor=actor,
        action="retro.action_status_changed",
        obj=item,
        before={"status": current},
        after={"status": status},
    )
    return item
