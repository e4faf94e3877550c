"""The navigation every page shows: the sections, the user's roles, the worker banner and
the approvals count. It composes other apps' selectors, like the dashboard."""

from functools import cache

from django.urls import reverse
from django.utils.functional import SimpleLazyObject

from gates.selectors import SIGNER_ROLES, approvals_waiting_count
from liftoff.roles import ROLE_LABELS, Role, user_roles
from liftoff.workers import workers_are_stale

NAV = [
    ("dashboard", "Dashboard"),
    ("releases:index", "Releases"),
    ("history", "History"),
    ("gates:approvals", "Approvals"),
    ("deployments:index", "Deployments"),
    ("incidents:index", "Incidents"),
    ("metrics:index", "Metrics"),
]
# Shown to those who operate (release managers and admins).
NAV_MANAGE = [("runs:run-index", "Runs")]
# The account menu's links.
ACCOUNT = {
    "projects": "releases:project-index",
    "tokens": "account-tokens",
    "password_change": "password_change",
    "logout": "logout",
    "admin": "admin:index",
    "home": "dashboard",
}


@cache
def _urls() -> tuple[tuple, tuple, dict]:
    """Every URL the navigation shows, reversed once per process: they never change
    while it runs, and reversing them on each page was a tenth of a short page's cost."""
    return (
        tuple((reverse(name), label, name) for name, label in NAV),
        tuple((reverse(name), label, name) for name, label in NAV_MANAGE),
        {key: reverse(name) for key, name in ACCOUNT.items()},
    )


def _links(items, path: str) -> list[dict]:
    return [
        {
            "url": url,
            "label": label,
            "name": name,
            # The section the page belongs to: its own URL, or one below it.
            "current": path == url or (url != "/" and path.startswith(url)),
        }
        for url, label, name in items
    ]


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    roles = user_roles(user)
    sections, manage, account = _urls()
    can_manage = bool(roles & {Role.ADMIN, Role.RELEASE_MANAGER})
    return {
        "nav_links": _links(sections + manage if can_manage else sections, request.path),
        "nav_urls": account,
        "my_roles": sorted(roles),
        "my_role_labels": [ROLE_LABELS[r] for r in sorted(roles)],
        # Release managers and admins operate (sync, cancel, retry); others read.
        "can_manage": can_manage,
        "is_admin": Role.ADMIN in roles,
        # Evaluated only when a template shows it (one query).
        "workers_stale": SimpleLazyObject(workers_are_stale),
        # The navigation's "N waiting" beside Approvals: what the approvals page lists
        # (sign-offs and waivable gates), for those a gate may name as its signers. Only
        # a page that shows the nav pays for it (at most four queries).
        "approvals_waiting": SimpleLazyObject(lambda: approvals_waiting_count(user=user))
        if roles & set(SIGNER_ROLES)
        else 0,
    }
