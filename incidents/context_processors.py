"""The critical-incident banner on every page for every signed-in user."""

from django.utils.functional import SimpleLazyObject

from incidents.selectors import critical_banner_rows, may_change

# More than this many at once is one banner with the first few and the list's link.
BANNER_MAX = 3


def critical_banner(request):
    """Unresolved critical incidents on production, read lazily: only a page that renders
    the layout pays its one query (the `incident_unresolved` partial index); fragments,
    the API and redirects pay nothing. Release managers and admins get its actions in
    place (the emergency rollback, a hotfix release); everyone else reads it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "critical_incidents": SimpleLazyObject(lambda: critical_banner_rows(limit=BANNER_MAX)),
        # The roles came with the user (liftoff.auth): no query.
        "critical_may_act": SimpleLazyObject(lambda: may_change(user)),
    }
