"""API tokens: made (shown once), checked, revoked. Only their SHA-256 is stored."""

import hashlib
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from liftoff.audit import audit_record
from liftoff.errors import NotAllowed, ValidationFailed
from liftoff.models import ApiToken
from liftoff.roles import Role, has_role

TOKEN_PREFIX = "lft_"  # noqa: S105 - a marker, not a secret


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def token_create(*, actor, name: str, user=None, project=None, expires_at=None):
    """Make a token for `user` (their own) or for `project` (admins only).

    Returns (token row, the secret): the secret is never stored and never shown again.
    """
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(
            "Give the token a name.", errors={"name": ["This field is required."]}
        )
    if (user is None) == (project is None):
        raise ValidationFailed("A token belongs to a user or to a project.")
    if project is not None and not has_role(actor, {Role.ADMIN}):
        raise NotAllowed("Only admins make project tokens.")
    if user is not None and user.pk != actor.pk:
        raise NotAllowed("You can only make tokens for yourself.")
    prefix = secrets.token_hex(4)
    raw = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        name=name[:100],
        prefix=prefix,
        key_hash=_hash(raw),
        user=user,
        project=project,
        created_by=actor,
        expires_at=expires_at,
    )
    audit_record(
        actor=actor,
        action="token.created",
        obj=token,
        after={
            "name": token.name,
            "prefix": prefix,
            "user": user.get_username() if user else None,
            "project": project.slug if project else None,
        },
    )
    return token, raw


@transaction.atomic
def token_revoke(*, actor, token: ApiToken) -> ApiToken:
    if token.user_id != actor.pk and not has_role(actor, {Role.ADMIN}):
        raise NotAllowed("You can only revoke your own tokens.")
    changed = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    if changed:
        audit_record(actor=actor, action="token.revoked", obj=token, after={"prefix": token.prefix})
    token.refresh_from_db()
    return token


def token_authenticate(raw: str) -> ApiToken | None:
    """The live token for this secret, or None (unknown, revoked, expired)."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    token = (
        ApiToken.objects.select_related("user", "project")
        .filter(key_hash=_hash(raw), revoked_at__isnull=True)
        .first()
    )
    now = timezone.now()
    if token is None or (token.expires_at and token.expires_at <= now):
        return None
    if token.user is not None and not token.user.is_active:
        return None
    # Record use at most once a minute: a busy CI must not write on every call.
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token
