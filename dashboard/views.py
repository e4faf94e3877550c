"""The home page: composes other apps' selectors, owns nothing."""

from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.timezone import get_current_timezone_name

from checklists.selectors import releases_checklist_progress
from deployments.selectors import board, board_page_rows
from gates.selectors import approvals_waiting, approvals_waiting_count
from liftoff.kept import kept_html, rows_version
from liftoff.roles import READ_ROLES, role_required
from releases.selectors import project_list, releases_in_flight


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


@role_required(*READ_ROLES)
def dashboard(request):
    in_flight = list(releases_in_flight())
    # (done, total) of each release's checklists, in one query.
    progress = releases_checklist_progress(release_ids=[r.pk for r in in_flight])
    for release in in_flight:
        release.checklist_progress = progress.get(release.pk)
    waiting = approvals_waiting(user=request.user)
    projects = list(project_list())
    context = {"projects": projects, "in_flight": in_flight, "waiting": waiting}
    context["environments_html"] = _environments(request, projects)
    # The navigation's count from the list already read (the context processor's lazy
    # count is then never evaluated): "All N" below and the badge are one number.
    context["approvals_waiting"] = approvals_waiting_count(user=request.user, waiting=waiting)
    return render(request, "dashboard/index.html", context)
