"""The navigation every page shows: the sections, the user's roles, the worker banner and
the approvals count. It composes other apps' selectors, like the dashboard."""

from django.utils.functional import SimpleLazyObject

from gates.selectors import approvals_waiting_count
from liftoff.roles import ROLE_LABELS, Role, user_roles
from liftoff.workers import workers_are_stale

NAV = [
    ("dashboard", "Dashboard"),
    ("releases:index", "Releases"),
    ("gates:approvals", "Approvals"),
    ("deployments:index", "Deployments"),
    ("incidents:index", "Incidents"),
    ("metrics:index", "Metrics"),
]


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    roles = user_roles(user)
    return {
        "nav_items": NAV,
        "my_roles": sorted(roles),
        "my_role_labels": [ROLE_LABELS[r] for r in sorted(roles)],
        # Release managers and admins operate (sync, cancel, retry); others read.
        "can_manage": bool(roles & {Role.ADMIN, Role.RELEASE_MANAGER}),
        "is_admin": Role.ADMIN in roles,
        # Evaluated only when a template shows it (one query).
        "workers_stale": SimpleLazyObject(workers_are_stale),
        # The navigation's "N waiting" beside Approvals: only approvers (and admins) sign,
        # and only a page that shows the nav pays for it (a constant few queries).
        "approvals_waiting": SimpleLazyObject(lambda: approvals_waiting_count(user=user))
        if roles & {Role.APPROVER, Role.ADMIN}
        else 0,
    }
