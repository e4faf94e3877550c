"""Who may do what: the four roles, and the one mechanism every view and endpoint uses to
say which of them it accepts.

- Pages: `@role_required(Role.RELEASE_MANAGER)`, `@role_required(*READ_ROLES)` or
  `@public`. Anonymous users are sent to the login page; a signed-in user without the
  role gets 403 (`RoleRequired`: the 403 page names the roles that may).
- API: `permission_classes = [roles_allowed(read=READ_ROLES, write={Role.ADMIN})]`.

Both leave the roles on the view (`required_roles`), so `manage.py authorization_table`
reads the whole table off the URL configuration, and a test fails for any view that says
nothing.
"""

from collections.abc import Callable, Iterable
from enum import StrEnum
from functools import wraps
from urllib.parse import quote

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import resolve_url
from django_htmx.http import HttpResponseClientRedirect
from rest_framework.permissions import SAFE_METHODS, BasePermission

from liftoff.errors import NotAllowed


class Role(StrEnum):
    ADMIN = "admin"
    RELEASE_MANAGER = "release_manager"
    APPROVER = "approver"
    STAKEHOLDER = "stakeholder"


ROLE_LABELS = {
    Role.ADMIN: "Admin",
    Role.RELEASE_MANAGER: "Release manager",
    Role.APPROVER: "Approver",
    Role.STAKEHOLDER: "Stakeholder",
}
# Every signed-in user with any role may read.
READ_ROLES = frozenset(Role)
PUBLIC = "public"


def user_roles(user) -> frozenset[Role]:
    """The roles of a user, cached on the user object for the request."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    cached = getattr(user, "_liftoff_roles", None)
    if cached is not None:
        return cached
    names = [] if user.is_superuser or not user.pk else [g.name for g in user.groups.all()]
    user._liftoff_roles = roles_from_group_names(user, names)
    return user._liftoff_roles


def roles_from_group_names(user, names) -> frozenset[Role]:
    """A superuser has every role; anyone else those of their groups that are roles."""
    if getattr(user, "is_superuser", False):
        return frozenset(Role)
    return frozenset(Role(n) for n in names if n in Role._value2member_map_)


def has_role(user, roles: Iterable[Role]) -> bool:
    """Admins may do everything any role may do."""
    mine = user_roles(user)
    return bool(mine & set(roles)) or Role.ADMIN in mine


def require_role(actor, roles: Iterable[Role], message: str) -> None:
    """NotAllowed with `message` unless `actor` has one of `roles` (services call it first).
    `actor=None` is Liftoff itself (a management command, the demo seed)."""
    if actor is not None and not has_role(actor, roles):
        raise NotAllowed(message)


def roles_needed(roles: Iterable[Role]) -> str:
    """Who may do it, for a refusal: "Release manager or Admin" (admins may do everything)."""
    labels = [ROLE_LABELS[r] for r in Role if r in set(roles) and r != Role.ADMIN]
    labels.append(ROLE_LABELS[Role.ADMIN])
    return labels[0] if len(labels) == 1 else f"{', '.join(labels[:-1])} or {labels[-1]}"


class RoleRequired(PermissionDenied):
    """A page refused for want of a role; the 403 page names the roles that may use it."""

    def __init__(self, roles: Iterable[Role]):
        self.roles = frozenset(roles)
        super().__init__(f"This page is for the role {roles_needed(self.roles)}.")


def role_required(*roles: Role) -> Callable:
    if not roles:
        raise ValueError("Name at least one role; use @public for open views.")

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                if getattr(request, "htmx", False):
                    login = (
                        f"{resolve_url(settings.LOGIN_URL)}?next={quote(request.get_full_path())}"
                    )
                    return HttpResponseClientRedirect(login)
                return redirect_to_login(request.get_full_path())
            if not has_role(request.user, roles):
                raise RoleRequired(roles)
            return view(request, *args, **kwargs)

        wrapped.required_roles = frozenset(roles)
        return wrapped

    return decorator


def public(view):
    """Marks a view anyone may call (login page, /healthz)."""
    view.required_roles = PUBLIC
    return view


class DenyAll(BasePermission):
    """The API default: an endpoint that names no roles answers nobody."""

    required_roles = frozenset()

    def has_permission(self, request, view):
        return False


def roles_allowed(*, read: Iterable[Role], write: Iterable[Role] = (), project_token=False):
    """A DRF permission class: `read` roles for GET/HEAD/OPTIONS, `write` for the rest.

    `project_token=True` also admits a per-project CI token (for the project it belongs
    to; the view checks the project).
    """
    read_set, write_set = frozenset(read), frozenset(write)

    class RolesAllowed(BasePermission):
        required_roles = {"read": read_set, "write": write_set, "project_token": project_token}
        message = "Your role does not allow this."

        def has_permission(self, request, view):
            user = request.user
            if getattr(user, "is_project_token", False):
                return project_token
            if not user or not user.is_authenticated:
                return False
            allowed = read_set if request.method in SAFE_METHODS else write_set
            return bool(allowed) and has_role(user, allowed)

    RolesAllowed.__name__ = f"RolesAllowed(read={sorted(read_set)}, write={sorted(write_set)})"
    return RolesAllowed
