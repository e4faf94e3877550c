"""Django's ModelBackend, reading a signed-in user's roles with the user.

Every signed-in request reads its user (`get_user`); every page then asks for the user's
roles (liftoff.roles.user_roles), which was a second query on the groups. Here the group
names come in the user's own query (an array of them), so a page pays one query for
both; `user_roles` finds them on the user.

The aggregate works on every backend (`make run` uses SQLite): the names are joined with
a newline, and only role names are aggregated, so no name can smuggle a delimiter in."""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db.models import Q, StringAgg, Value

from liftoff.roles import Role, roles_from_group_names

_ROLE_NAMES = [role.value for role in Role]


class RolesModelBackend(ModelBackend):
    def get_user(self, user_id):
        users = get_user_model()._default_manager.filter(pk=user_id)
        user = users.annotate(
            liftoff_role_names=StringAgg(
                "groups__name",
                Value("\n"),
                filter=Q(groups__name__in=_ROLE_NAMES),
                default=Value(""),
            )
        ).first()
        if user is None or not self.user_can_authenticate(user):
            return None
        names = user.liftoff_role_names.split("\n") if user.liftoff_role_names else []
        user._liftoff_roles = roles_from_group_names(user, names)
        return user
