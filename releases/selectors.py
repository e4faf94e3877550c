from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.db.models import Count, F, Max, Q, Window
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from liftoff.errors import Conflict, ValidationFailed
from liftoff.kept import Rows
from releases.models import (
    ACTION_ITEM_OPEN_STATES,
    RELEASE_CLOSED_STATES,
    RELEASE_IN_FLIGHT,
    ActionItem,
    ChangeImpact,
    ChangeImpactStatus,
    NotesTemplate,
    Project,
    Release,
    ReleaseStatus,
    RetroAnswer,
    Retrospective,
    RetroTemplate,
)
from releases.notes import Template, template_from_data
from releases.retro import DEFAULT_RETRO_GROUPS, retro_groups_frozen
from runs.models import RunStatus
from runs.selectors import run_latest_for


def project_list():
    return Project.objects.order_by("name")


def project_get(*, slug: str) -> Project:
    """Every role may read every project; 404 when there is none of that slug."""
    return get_object_or_404(Project, slug=slug)


def notes_template_of(*, project: Project) -> Template:
    """How the project's notes read: its template, or the default when it has none (one
    query)."""
    row = NotesTemplate.objects.filter(project=project).first()
    if row is None:
        return template_from_data(None)
    return template_from_data(
        {
            "sections": row.sections,
            "quote": row.quote,
            "footer": row.footer,
            "contributors": row.contributors,
            "contributors_heading": row.contributors_heading,
        }
    )


def project_mirror_path(project: Project) -> Path:
    """The project's bare mirror (the sync keeps it; the version proposal reads it)."""
    return Path(settings.DATA_DIR) / "mirrors" / f"{project.slug}.git"


def release_of_run(run) -> Release:
    """The release a release run (prepare, validate, ship) works on."""
    return Release.objects.select_related("project").get(pk=run.subject_id)


def project_refs(*, project: Project):
    return list(project.refs.order_by("kind", "name"))


def project_latest_sync(*, project: Project):
    return run_latest_for(subject=project, kind="project.sync")


def project_sync_problem(*, project: Project) -> str | None:
    """Why no version can be proposed for the project yet, or None once a sync finished.

    Until the repository's tags are known, the released versions are not: a proposal would
    start from nothing (0.1.0 for a repository at v4.12.1) and `version_problem` could not
    check a given version against them. The release services and the plan page ask this."""
    if project.last_synced_at is not None:
        return None
    prefix = "The repository has not been synced yet: "
    run = project_latest_sync(project=project)
    if run is None:
        return prefix + "sync it (Sync on the project page) to learn its released versions."
    if run.status in (RunStatus.QUEUED, RunStatus.RUNNING):
        return prefix + f"sync run #{run.pk} is {run.status}; the proposal follows when it ends."
    ended = f"sync run #{run.pk} {run.status}" + (f" ({run.error})" if run.error else "")
    return prefix + f"{ended}; retry it or sync again."


def release_list(
    *,
    project_slug: str = "",
    status: str = "",
    release_type: str = "",
    query: str = "",
    date_from=None,
    date_to=None,
    manager=None,
):

    releases = Release.objects.select_related("project", "release_manager")
    if manager is not None:
        releases = releases.filter(release_manager=manager)
    if project_slug:
        releases = releases.filter(project__slug=project_slug)
    if status:
        releases = releases.filter(status=status)
    if release_type:
        releases = releases.filter(type=release_type)
    if query:
        releases = releases.filter(
            Q(version__icontains=query) | Q(codename__icontains=query) | Q(summary__icontains=query)
        )
    if date_from:
        releases = releases.filter(created_at__date__gte=date_from)
    if date_to:
        releases = releases.filter(created_at__date__lte=date_to)
    return releases.order_by("-created_at", "-id")


def release_upcoming(*, project_slug: str = ""):
    """Releases still on their way, by target date (soonest first, undated last): what a
    stakeholder asks "what comes next?" about."""
    releases = Release.objects.select_related("project", "release_manager").filter(
        status__in=RELEASE_IN_FLIGHT
    )
    if project_slug:
        releases = releases.filter(project__slug=project_slug)
    return releases.order_by(F("target_date").asc(nulls_last=True), "created_at", "id")


def release_get(*, release_id: int):
    """Every role may read every release; 404 if none."""

    return get_object_or_404(
        Release.objects.select_related("project", "release_manager", "created_by"), pk=release_id
    )


def release_facts(*, release_id: int) -> Release:
    """The few facts of a release its kept page needs before it knows whether it must
    render (liftoff.kept): its project, head, version and project's name, as an unsaved
    `Release` with `project_name`; 404 if none. Hand-written: release_get builds four
    models for it, 2.9 ms against 0.3 (docs/performance.md)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT r.project_id, r.head_commit, r.version, p.name FROM releases_release r "
            "JOIN releases_project p ON p.id = r.project_id WHERE r.id = %s",
            [release_id],
        )
        row = cursor.fetchone()
    if row is None:
        raise Http404("No such release.")
    project_id, head_commit, version, project_name = row
    release = Release(
        pk=release_id, project_id=project_id, head_commit=head_commit, version=version
    )
    release.project_name = project_name
    return release


def release_change_impact(*, release) -> dict:
    """The release's change impact as plain values, with its state (one query):

    - "pending": not analysed yet (the preparation run analyses it after the notes);
    - "failed": the analysis could not be made, and `error` says why;
    - "stale": made for another head than the release's now (prepared again since);
    - "analysed": `totals`, `folders`, `migrations`, `dependencies`, `security`, …
      (releases.impact.impact_summarise) from `previous_tag`/`base_commit` to
      `head_commit`.
    """
    impact = ChangeImpact.objects.filter(release_id=release.pk).first()
    if impact is None:
        return {"state": "pending"}
    if impact.status == ChangeImpactStatus.FAILED:
        state = "failed"
    elif impact.head_commit != release.head_commit:
        state = "stale"
    else:
        state = "analysed"
    return {
        "state": state,
        "previous_tag": impact.previous_tag,
        "base_commit": impact.base_commit,
        "head_commit": impact.head_commit,
        "analysed_at": impact.analysed_at.isoformat(),
        "error": impact.error,
        **impact.result,
    }


def release_latest_run(*, release):
    """The newest run about the release (prepare, validate, ship, …): its page shows it."""
    return run_latest_for(subject=release)


def project_releases(*, project: Project):
    """The project's history: every release, newest version first."""
    return list(
        project.releases.select_related("release_manager").order_by(
            "-major", "-minor", "-patch", "-created_at"
        )
    )


def project_cadence(*, project: Project, releases=None) -> list[dict]:
    """Per release type: the last shipped release, when the next is due by the project's
    cadence, and whether it is overdue. Uses the already loaded `releases` if given."""

    releases = project_releases(project=project) if releases is None else releases
    today = timezone.localdate()
    rows = []
    for release_type, days in project.cadence_days.items():
        shipped = [
            r
            for r in releases
            if r.type == release_type and r.status == ReleaseStatus.RELEASED and r.released_at
        ]
        last = max(shipped, key=lambda r: r.released_at, default=None)
        due = (timezone.localtime(last.released_at).date() + timedelta(days=days)) if last else None
        rows.append(
            {
                "type": release_type,
                "every_days": days,
                "last": last,
                "due": due,
                "overdue_days": (today - due).days if due and due < today else 0,
            }
        )
    return rows


def releases_in_flight(*, limit: int = 10):
    return list(
        Release.objects.filter(status__in=RELEASE_IN_FLIGHT)
        .select_related("project")
        .order_by("target_date", "-created_at")[:limit]
    )


def releases_in_flight_sql() -> tuple[str, tuple]:
    """SQL selecting the ids of every release in flight, and its parameters (the rows a
    page of releases in flight reads, for liftoff.kept)."""
    states = tuple(sorted(RELEASE_IN_FLIGHT))
    marks = ", ".join(["%s"] * len(states))
    # Only placeholders go into the SQL: the states are parameters.
    return f"SELECT id FROM releases_release WHERE status IN ({marks})", states  # noqa: S608


def releases_in_flight_rows() -> list[Rows]:
    """The rows `releases_in_flight` and `project_list` read: every release in flight (not
    only the first ones listed: which come first depends on all of them) and every
    project."""
    ids_sql, params = releases_in_flight_sql()
    return [Rows(Release, f"id IN ({ids_sql})", params), Rows(Project)]


def release_closed_reason(release) -> str | None:
    """Why `release`'s checklists and gates take no more changes, or None while it is open."""
    if release.status not in RELEASE_CLOSED_STATES:
        return None
    return (
        f"v{release.version} is {release.get_status_display().lower()}: "
        "its checklists and gates are closed."
    )


def release_require_open(*, release) -> None:
    """Conflict (409) once the release is closed: the checklist and gate services ask it."""
    if reason := release_closed_reason(release):
        raise Conflict(reason)


def releases_managed_by(*, user, limit: int) -> tuple[list, int]:
    """The first `limit` releases `user` manages that are still on their way, soonest
    target first, and how many there are in all (in the same query: a window count)."""
    releases = list(
        _managed_in_flight(user)
        .select_related("project")
        .annotate(managed_total=Window(Count("id")))[:limit]
    )
    return releases, (releases[0].managed_total if releases else 0)


def _managed_in_flight(user):
    return Release.objects.filter(status__in=RELEASE_IN_FLIGHT, release_manager=user).order_by(
        F("target_date").asc(nulls_last=True), "-created_at", "id"
    )


def releases_managed_by_light(*, user, limit: int) -> list:
    """The releases `releases_managed_by` lists, with only what the release policy's
    blockers need to say which rows they read (`releases.policy.blockers_rows`)."""
    return list(_managed_in_flight(user).only("id", "project_id", "head_commit")[:limit])


def releases_managed_rows(*, user) -> list[Rows]:
    """The rows `releases_managed_by` reads: every release `user` manages in flight (the
    ones beyond the limit are counted) and their projects."""
    states = sorted(RELEASE_IN_FLIGHT)
    marks = ", ".join(["%s"] * len(states))
    managed = f"release_manager_id = %s AND status IN ({marks})"
    # Only placeholders go into the SQL: the user and the states are parameters.
    their_projects = f"id IN (SELECT project_id FROM releases_release WHERE {managed})"  # noqa: S608
    return [
        Rows(Release, managed, (user.pk, *states)),
        Rows(Project, their_projects, (user.pk, *states)),
    ]


def releases_recently_shipped(*, limit: int):
    return list(
        Release.objects.filter(status=ReleaseStatus.RELEASED, released_at__isnull=False)
        .select_related("project")
        .order_by("-released_at", "-id")[:limit]
    )


def releases_shipped_rows(*, recent: int) -> list[Rows]:
    """The rows `releases_recently_shipped(limit=recent)` and `projects_cadence` read: the
    newest shipped releases, the newest shipped of each project and type (what the
    cadence's aggregate finds: a newer one, or the newest one gone, changes the set), and
    every project (their cadence, their names)."""
    shipped = "status = %s AND released_at IS NOT NULL"
    # A constant: the status is a parameter.
    newest_of_each = (
        "id IN (SELECT DISTINCT ON (project_id, type) id FROM releases_release "
        "WHERE status = %s AND released_at IS NOT NULL "
        "ORDER BY project_id, type, released_at DESC, id DESC)"
    )
    released = (ReleaseStatus.RELEASED,)
    return [
        Rows(
            Release,
            shipped,
            released,
            tail=f"ORDER BY released_at DESC, id DESC LIMIT {int(recent)}",
        ),
        Rows(Release, newest_of_each, released),
        Rows(Project),
    ]


def projects_cadence(*, projects) -> list[dict]:
    """`project_cadence` for every project of `projects` at once: the last shipped release
    of each type comes from one aggregate query, not from each project's history."""
    last = {
        (row["project_id"], row["type"]): row["last"]
        for row in Release.objects.filter(status=ReleaseStatus.RELEASED, released_at__isnull=False)
        .values("project_id", "type")
        .annotate(last=Max("released_at"))
        .order_by()
    }
    today = timezone.localdate()
    rows = []
    for project in projects:
        for release_type, days in project.cadence_days.items():
            shipped = last.get((project.pk, release_type))
            due = (timezone.localtime(shipped).date() + timedelta(days=days)) if shipped else None
            rows.append(
                {
                    "project": project,
                    "type": release_type,
                    "every_days": days,
                    "last_at": shipped,
                    "due": due,
                    "overdue_days": (today - due).days if due and due < today else 0,
                }
            )
    return rows


# --- Retrospectives --------------------------------------------------------------------


def retro_template_groups(*, project) -> list[dict]:
    """The project's retrospective questions ({"heading", "questions": [str]}); the seed's
    when it has no template row."""
    groups = RetroTemplate.objects.filter(project=project).values_list("groups", flat=True)
    return groups.first() or DEFAULT_RETRO_GROUPS


def retrospective_is_open(release) -> bool:
    """A retrospective looks back at a release that shipped (even one later rolled back)."""
    return release.released_at is not None


def retrospective_require_open(*, release) -> None:
    if not retrospective_is_open(release):
        raise ValidationFailed(
            f"v{release.version} has not shipped: its retrospective opens when it does."
        )


def retrospective_view(*, release, user) -> dict:
    """The retrospective page's data in four queries: the questions (frozen once begun,
    else the project's), everyone's answers under each, the reader's own, the action items."""
    retro = Retrospective.objects.filter(release=release).first()
    if retro is not None:
        groups = retro.groups
        answers = list(
            RetroAnswer.objects.filter(retrospective=retro)
            .select_related("author")
            .order_by("created_at", "id")
        )
    else:
        groups = retro_groups_frozen(retro_template_groups(project=release.project))
        answers = []
    by_question: dict[str, list] = {}
    for answer in answers:
        by_question.setdefault(answer.question, []).append(answer)
    shown = [
        {
            "heading": group["heading"],
            "questions": [
                {
                    **question,
                    "answers": by_question.get(question["key"], []),
                    "mine": next(
                        (a for a in by_question.get(question["key"], []) if a.author_id == user.pk),
                        None,
                    ),
                }
                for question in group["questions"]
            ],
        }
        for group in groups
    ]
    return {
        "groups": shown,
        "answer_count": len(answers),
        "action_items": release_action_items(release=release),
    }


def release_action_items(*, release) -> list[ActionItem]:
    """The release's action items, soonest due first (the compliance report lists them)."""
    return list(
        ActionItem.objects.filter(release=release)
        .select_related("owner")
        .order_by(F("due_date").asc(nulls_last=True), "id")
    )


def action_item_get(*, release, pk: int) -> ActionItem:
    return get_object_or_404(ActionItem.objects.select_related("owner"), release=release, pk=pk)


def action_items_open_rows(*, user) -> list[Rows]:
    """The rows `action_items_open_for` reads: the user's open items and their releases
    (the projects are read whole by the pages that show them: `releases_in_flight_rows`)."""
    states = tuple(sorted(ACTION_ITEM_OPEN_STATES))
    mine = "owner_id = %s AND status IN (" + ", ".join(["%s"] * len(states)) + ")"
    # Only placeholders go into the SQL: the user and the states are parameters.
    their_releases = f"id IN (SELECT release_id FROM releases_actionitem WHERE {mine})"  # noqa: S608
    return [
        Rows(ActionItem, mine, (user.pk, *states)),
        Rows(Release, their_releases, (user.pk, *states)),
        Rows(Project),
    ]


def action_items_open_for(*, user, limit: int) -> list[ActionItem]:
    """The user's open action items, soonest due first, each with `overdue` (the dashboard)."""
    items = list(
        ActionItem.objects.filter(owner=user, status__in=ACTION_ITEM_OPEN_STATES)
        .select_related("release__project")
        .order_by(F("due_date").asc(nulls_last=True), "id")[:limit]
    )
    today = timezone.localdate()
    for item in items:
        item.overdue = bool(item.due_date and item.due_date < today)
    return items


def retrospective_summary(*, user, release) -> dict:
    """The release page's retrospective card: how many answered, how many items open."""
    if not retrospective_is_open(release):
        return {"retro_summary": None}
    answers = RetroAnswer.objects.filter(retrospective__release=release).count()
    open_items = ActionItem.objects.filter(
        release=release, status__in=ACTION_ITEM_OPEN_STATES
    ).count()
    return {"retro_summary": {"answers": answers, "open_items": open_items}}


def retrospective_page_rows(release) -> list[Rows]:
    """The rows the release page's retrospective card reads (liftoff.kept)."""
    return [
        Rows(
            RetroAnswer,
            "retrospective_id IN (SELECT id FROM releases_retrospective WHERE release_id = %s)",
            (release.pk,),
        ),
        Rows(ActionItem, "release_id = %s", (release.pk,)),
    ]


def release_history(*, project_slug: str = "", release_type: str = "", since=None, until=None):
    """Shipped releases (those later rolled back too), newest first: the stakeholders'
    history, filtered by project, type and the day each shipped."""
    releases = Release.objects.filter(released_at__isnull=False).select_related("project")
    if project_slug:
        releases = releases.filter(project__slug=project_slug)
    if release_type:
        releases = releases.filter(type=release_type)
    if since:
        releases = releases.filter(released_at__date__gte=since)
    if until:
        releases = releases.filter(released_at__date__lte=until)
    return releases.order_by("-released_at", "-id")
