"""Data migration: the four role groups and their model permissions.

Roles are checked by group name (liftoff.roles); the permissions mirror them for the
Django admin. Later migrations that add models extend the grants.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLES = ["admin", "release_manager", "approver", "stakeholder"]
# (app_label, model, actions) granted per role; "view" is granted to every role.
GRANTS = {
    "admin": [("releases", "project", ["add", "change", "delete"]),
              ("liftoff", "apitoken", ["add", "change", "delete"])],
    "release_manager": [],
    "approver": [],
    "stakeholder": [],
}
VIEWABLE = [("releases", "project"), ("liftoff", "auditevent"), ("liftoff", "apitoken")]


def create_roles(apps, schema_editor):
    # Permissions are normally made after all migrations (post_migrate); make ours now.
    for label in ("releases", "liftoff"):
        app_config = apps.get_app_config(label)
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")

    def perm(app_label, model, action):
        return Permission.objects.get(content_type__app_label=app_label,
                                      codename=f"{action}_{model}")

    for role in ROLES:
        group, _ = Group.objects.get_or_create(name=role)
        perms = [perm(a, m, "view") for a, m in VIEWABLE]
        for app_label, model, actions in GRANTS[role]:
            perms += [perm(app_label, model, action) for action in actions]
        group.permissions.add(*perms)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("liftoff", "0001_initial"),
        ("releases", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(create_roles, remove_roles)]
