"""The home page: composes other apps' selectors, owns nothing.

Every reader sees the projects, the releases in flight, what waits for their sign-off, their
open retrospective action items, the environments and the open incidents; each role then
gets the cards of its own work:

- a release manager: the releases they manage with what blocks each one's next phase
  (the release policy), the deployments running now (followed live);
- an approver: the emergency changes waiting for a second look;
- a stakeholder: recent and upcoming releases with the cadence, the KPI tiles and the DORA
  figures (metrics' cached report).

Each list is capped, so the page's queries do not grow with the history.
"""

from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.timezone import get_current_timezone_name
from django.views.decorators.vary import vary_on_headers

from checklists.selectors import releases_checklist_progress, releases_checklist_progress_rows
from deployments.selectors import (
    board,
    board_page_rows,
    deployments_running,
    deployments_running_rows,
    emergency_changes_unreviewed,
    emergency_changes_unreviewed_rows,
)
from gates.selectors import approvals_waiting, approvals_waiting_count, approvals_waiting_rows
from liftoff.kept import CSRF_PLACEHOLDER, kept_html, kept_value, rows_version, valid_until
from liftoff.roles import READ_ROLES, Role, has_role, role_required, user_roles
from metrics.selectors import metrics_report_cached, metrics_version_rows, metrics_window
from releases.models import RELEASE_NEXT_PHASE, ReleaseStatus
from releases.policy import blockers_rows, releases_blockers
from releases.selectors import (
    action_items_open_for,
    action_items_open_rows,
    project_list,
    projects_cadence,
    release_upcoming,
    releases_in_flight,
    releases_in_flight_rows,
    releases_in_flight_sql,
    releases_managed_by,
    releases_managed_by_light,
    releases_managed_rows,
    releases_recently_shipped,
    releases_shipped_rows,
)

# How many rows each role card lists; each links to its full page.
CARD_ROWS = 5
# A release manager's own releases in flight: all of them up to this many (one policy
# batch answers for all, in the same queries for 1 or 20), then "and N more".
MY_RELEASES_ROWS = 20


def _environments(request, projects) -> str:
    """Each environment's health and what runs there: kept rendered per process under the
    version of every row the board reads (liftoff.kept), since most views find none of
    them changed and the board is the page's biggest part."""

    def render_card(csrf_token):
        rows = [row for _, env_rows in board(projects=projects) for row in env_rows]
        return render_to_string(
            "dashboard/index.html#environments", {"environments": rows}, request
        )

    key = ("dashboard-environments", rows_version(board_page_rows()), get_current_timezone_name())
    return kept_html(request, key=key, render=render_card)


def _manager_cards(request, user) -> dict:
    """The releases `user` manages (up to `MY_RELEASES_ROWS`), each with what blocks its
    next phase: the release policy's batch answer for all of them at once, so the card
    costs the same queries for one release or twenty; and the deployments running now
    (each one's progress loads itself and follows itself live)."""
    mine, total = releases_managed_by(user=user, limit=MY_RELEASES_ROWS)
    moves = {}
    for release in mine:
        release.next_phase = RELEASE_NEXT_PHASE.get(release.status)
        release.next_phase_label = (
            ReleaseStatus(release.next_phase).label if release.next_phase else ""
        )
        if release.next_phase:
            moves[release.pk] = release.next_phase
    blockers = releases_blockers(releases=mine, to=moves)
    for release in mine:
        release.blockers = blockers.get(release.pk, [])
    return {
        "my_releases": mine,
        "my_releases_more": total - len(mine),
        "running": deployments_running(limit=CARD_ROWS),
    }


def _approver_cards() -> dict:
    changes = list(emergency_changes_unreviewed()[: CARD_ROWS + 1])
    now = timezone.now()
    for change in changes:
        change.overdue = change.review_due < now
        if not change.overdue:
            valid_until(change.review_due)  # a kept card shows "Overdue" when it is
    return {"emergencies": changes[:CARD_ROWS], "more_emergencies": len(changes) > CARD_ROWS}


def _stakeholder_cards(today) -> dict:
    """Recent and upcoming releases, the cadence and the figures (metrics' report for all
    projects over the default window, which ends `today`)."""
    upcoming = list(release_upcoming()[:CARD_ROWS])
    for release in upcoming:
        release.overdue = bool(release.target_date and release.target_date < today)
    window = metrics_window(until=today)
    return {
        "recent": releases_recently_shipped(limit=CARD_ROWS),
        "upcoming": upcoming,
        "cadence": projects_cadence(projects=list(project_list())),
        "report": metrics_report_cached(project=None, window=window),
    }


def _cards_rows(user, roles: dict) -> list | None:
    """Every row the reader's cards read (None when a part has not said: then they are
    rendered on every view). A release manager's releases are read first by id (one
    narrow query): the release policy's blockers say which rows they read for them."""
    rows = [*action_items_open_rows(user=user)]
    if roles["is_manager"]:
        listed = releases_managed_by_light(user=user, limit=MY_RELEASES_ROWS)
        blocker_rows = blockers_rows(listed)
        if blocker_rows is None:
            return None
        rows += [*releases_managed_rows(user=user), *blocker_rows, *deployments_running_rows()]
    if roles["is_approver"]:
        rows += emergency_changes_unreviewed_rows()
    if roles["is_stakeholder"]:
        rows += [
            *releases_in_flight_rows(),
            *releases_shipped_rows(recent=CARD_ROWS),
            *metrics_version_rows(),
        ]
    return rows


@role_required(*READ_ROLES)
def dashboard(request):
    """The page's cards (projects, releases in flight, what waits for the reader's sign-off,
    environments) are kept per process under the digest of every row they read (one
    query): most views find nothing changed. The reader's roles and time zone are in the
    key; the open incidents and the reader's own cards load themselves (htmx)."""
    user = request.user
    in_flight_ids, params = releases_in_flight_sql()
    version = rows_version(
        [
            *releases_in_flight_rows(),
            *releases_checklist_progress_rows(release_ids_sql=in_flight_ids, params=params),
            *approvals_waiting_rows(),
            *board_page_rows(),
        ]
    )
    key = (
        "dashboard",
        user.pk,
        tuple(sorted(user_roles(user))),
        version,
        get_current_timezone_name(),
    )
    main, waiting_count = kept_value(key, lambda: _dashboard_main(request))
    if CSRF_PLACEHOLDER in main:  # no form today; never another session's token
        main = main.replace(CSRF_PLACEHOLDER, get_token(request))
    # The navigation's count from the list the cards read (the context processor's lazy
    # count is then never evaluated): "All N" and the badge are one number.
    context = {"main_html": mark_safe(main), "approvals_waiting": waiting_count}  # noqa: S308
    return render(request, "dashboard/index.html", context)


def _dashboard_main(request) -> tuple[str, int]:
    in_flight = list(releases_in_flight())
    # (done, total) of each release's checklists, in one query.
    progress = releases_checklist_progress(release_ids=[r.pk for r in in_flight])
    for release in in_flight:
        release.checklist_progress = progress.get(release.pk)
    waiting = approvals_waiting(user=request.user)
    projects = list(project_list())
    context = {"projects": projects, "in_flight": in_flight, "waiting": waiting}
    context["environments_html"] = _environments(request, projects)
    html = render_to_string("dashboard/index.html#main", context, request)
    return html, approvals_waiting_count(user=request.user, waiting=waiting)


@role_required(*READ_ROLES)
@vary_on_headers("HX-Request")
def dashboard_cards(request):
    """The cards of the reader's own work, by role: loaded by the dashboard once it is
    shown (hx-trigger=load), so the home page's own queries stay what they were; without
    JavaScript, the dashboard links here and this renders as a page.

    Kept per process (liftoff.kept) under the digest of every row they read, in one query
    (`_cards_rows`), with the reader, their roles, the date (what is overdue) and the time
    zone: most views find nothing changed, and judging twenty releases is their biggest
    part. A time a card's text changes at (an emergency change becoming overdue, a freeze
    window starting) bounds the kept copy."""
    user = request.user
    roles = {
        "is_manager": has_role(user, {Role.RELEASE_MANAGER}),
        "is_approver": has_role(user, {Role.APPROVER}),
        "is_stakeholder": has_role(user, {Role.STAKEHOLDER}),
    }
    today = timezone.localdate()

    def render_cards(csrf_token):
        # Retrospective action items appear on their owners' dashboards, whatever their role.
        context = {"my_actions": action_items_open_for(user=user, limit=CARD_ROWS), **roles}
        if roles["is_manager"]:
            context.update(_manager_cards(request, user))
        if roles["is_approver"]:
            context.update(_approver_cards())
        if roles["is_stakeholder"]:
            context.update(_stakeholder_cards(today))
        return render_to_string("dashboard/cards.html", context, request)

    rows = _cards_rows(user, roles)
    if rows is None:
        cards = mark_safe(render_cards(None))  # noqa: S308 - rendered by our template
    else:
        roles_key = tuple(sorted(user_roles(user)))
        key = ("dashboard-cards", user.pk, roles_key, rows_version(rows), today)
        cards = kept_html(request, key=(*key, get_current_timezone_name()), render=render_cards)
    if request.htmx:
        return HttpResponse(cards)
    return render(request, "dashboard/cards_page.html", {"cards_html": cards})
