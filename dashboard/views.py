"""The home page: composes other apps' selectors, owns nothing."""

from django.shortcuts import render

from checklists.selectors import releases_checklist_progress
from deployments.selectors import board
from gates.selectors import approvals_waiting, approvals_waiting_count
from liftoff.roles import READ_ROLES, role_required
from releases.selectors import project_list, releases_in_flight


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
    # Each environment's health and what runs there (a fixed number of queries).
    context["environments"] = [row for _, rows in board(projects=projects) for row in rows]
    # The navigation's count from the list already read (the context processor's lazy
    # count is then never evaluated): "All N" below and the badge are one number.
    context["approvals_waiting"] = approvals_waiting_count(user=request.user, waiting=waiting)
    return render(request, "dashboard/index.html", context)
