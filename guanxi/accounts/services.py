"""Writes to accounts: API tokens."""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import ApiToken, User


@transaction.atomic
def api_token_create(*, actor: User, user: User, name: str) -> tuple[ApiToken, str]:
    """Make a new token for ``user`` and return it with the raw secret, which is shown once and
    never stored. People make tokens for themselves; administrators may make them for scripts'
    service accounts."""
    if actor.pk != user.pk and not actor.is_admin_role:
        raise PermissionDenied(_("You may only create tokens for yourself."))
    raw = ApiToken.generate_raw()
    token = ApiToken.objects.create(
        user=user,
        name=(name or _("API token")).strip()[:100],
        key_hash=ApiToken.hash_raw(raw),
        hint=raw[:7],
    )
    return token, raw


@transaction.atomic
def api_token_revoke(*, actor: User, token_id: int) -> ApiToken:
    token = ApiToken.objects.select_for_update().get(pk=token_id, user=actor, revoked_at=None)
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    return token


def api_token_authenticate(raw: str) -> User | None:
    """The active user a raw token belongs to, or None. Marks the token used (at most once a
    minute, to keep reads cheap)."""
    if not raw or not raw.startswith(ApiToken.PREFIX) or len(raw) > 100:
        return None
    token = (
        ApiToken.objects.select_related("user", "user__team")
        .filter(key_hash=ApiToken.hash_raw(raw), revoked_at=None, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
