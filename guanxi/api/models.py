from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class IdempotencyKey(models.Model):
    """The answer to a POST sent with an ``Idempotency-Key`` header, kept for a day so that a
    client retrying after a lost connection gets the first answer instead of a second write.

    The row is written in the same transaction as the change the request made, so the unique
    constraint on (user, key) makes a concurrent duplicate wait and then fail instead of
    writing twice. Only successful answers are kept: a refused request can be fixed and sent
    again with the same key.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("user"),
    )
    key = models.CharField(_("key"), max_length=255)
    # SHA-256 of the method, path and body: the same key with another request is a client bug.
    fingerprint = models.CharField(max_length=64)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    response_status = models.PositiveSmallIntegerField(default=0)
    # Answers that disclose sensitive data (revealed ID numbers) are stored encrypted, like the
    # data itself.
    response_body = models.TextField(blank=True)
    response_encrypted = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique_per_user")
        ]
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key}"
