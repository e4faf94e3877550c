from django.apps import AppConfig
from django.db.models.signals import post_migrate


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
