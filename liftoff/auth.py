"""Django's ModelBackend, reading a signed-in user's roles with the user.

Every signed-in request reads its user (`get_user`); every page then asks for the user's
roles (liftoff.roles.user_roles), which was a second query on the groups. Here the group
names come in the user's own query (an array of them), so a page pays one query for
both; `user_roles` finds them on the user."""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.postgres.aggregates import ArrayAgg
from django.db.models import Q

from liftoff.roles import roles_from_group_names


class RolesModelBackend(ModelBackend):
    def get_user(self, user_id):
        users = get_user_model()._default_manager.filter(pk=user_id)
        user = users.annotate(
            liftoff_group_names=ArrayAgg("groups__name", filter=Q(groups__isnull=False), default=[])
        ).first()
        if user is None or not self.user_can_authenticate(user):
            return None
        user._liftoff_roles = roles_from_group_names(user, user.liftoff_group_names)
        return user
