from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.module_loading import autodiscover_modules


def _ensure_baseline(sender, using="default", **kwargs):
    """Recreate the role groups and the audit chain head after `flush` (which empties
    tables and then sends post_migrate); the data migrations made them first."""
    from django.contrib.auth.models import Group

    from liftoff.models import AuditChainHead
    from liftoff.roles import Role

    for role in Role:
        Group.objects.using(using).get_or_create(name=role.value)
    AuditChainHead.objects.using(using).get_or_create(pk=1, defaults={"seq": 0, "hash": "0" * 64})


class LiftoffConfig(AppConfig):
    name = "liftoff"
    verbose_name = "Liftoff core: audit trail, API tokens, roles"

    def ready(self):
        # Registers the OpenAPI description of bearer tokens with drf-spectacular.
        from liftoff import api  # noqa: F401

        post_migrate.connect(_ensure_baseline, sender=self)
        # Each app's `audit_wording` module registers how its actions read in the audit
        # trail (liftoff.audit): found here, like Django's admin.py, so that liftoff/
        # imports no app above it and an app adds its words without touching another.
        autodiscover_modules("audit_wording")
