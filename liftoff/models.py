from django.conf import settings
from django.db import models


class AuditEvent(models.Model):
    """One link of the append-only, hash-chained audit trail.

    Written only by `liftoff.audit.audit_record`. On PostgreSQL a trigger refuses UPDATE,
    DELETE and TRUNCATE; everywhere, `manage.py verify_audit` recomputes the chain.
    """

    seq = models.BigIntegerField(unique=True)
    created_at = models.DateTimeField()
    # DO_NOTHING without a constraint: deleting a user must not rewrite history (the
    # trigger would refuse the UPDATE); actor_label keeps who it was.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
    )
    # The actor's name at the time: the chain must not depend on a user row that may go.
    actor_label = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=100)
    object_type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=64, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["seq"]
        indexes = [
            # An object's history (a release page's audit trail).
            models.Index(fields=["object_type", "object_id", "seq"], name="audit_object_idx"),
        ]

    def __str__(self):
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_id}"


class AuditChainHead(models.Model):
    """The single row holding the chain's last sequence number and hash.

    Writers lock it (SELECT ... FOR UPDATE) before appending, so two concurrent writers
    never read the same head and fork the chain; on SQLite the IMMEDIATE transaction
    already serialises writers. It also lets verify_audit notice a deleted tail.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="audit_head_single")]

    def __str__(self):
        return f"audit head #{self.seq}"


class ApiToken(models.Model):
    """A bearer token for scripts and CI: per user, or per project (for CI).

    Only a SHA-256 of the secret is stored (tokens carry 256 random bits, so a slow hash
    adds nothing); the full token is shown once, when it is made.
    """

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="api_tokens",
    )
    project = models.ForeignKey(
        "releases.Project",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="api_tokens",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(user__isnull=False, project__isnull=True)
                | models.Q(user__isnull=True, project__isnull=False),
                name="api_token_user_xor_project",
            )
        ]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class WorkerHeartbeat(models.Model):
    """Last time each Celery worker answered; the dashboard warns when none has lately."""

    hostname = models.CharField(max_length=255, unique=True)
    seen_at = models.DateTimeField()

    def __str__(self):
        return self.hostname
