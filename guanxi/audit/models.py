from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .summaries import render_summary


class StoredJSONField(models.JSONField):
    """A JSON column whose stored value Python's ``json`` cannot read is given as its text, as
    Django gives text that is no JSON at all, instead of failing every query that loads the
    row: PostgreSQL's jsonb and SQLite both keep an integer of more digits than Python converts
    (4,300) and nesting deeper than Python's recursion limit, which a row written by hand may
    hold. The history and the admin show such a value as stored."""

    def from_db_value(self, value, expression, connection):
        try:
            return super().from_db_value(value, expression, connection)
        except (ValueError, RecursionError):
            return value

    def deconstruct(self):
        # The same column as a JSONField: the migrations keep naming it one, so that no
        # migration rebuilds SQLite's copy of the table (and its trigger refusing updates)
        # for a change of how Python reads it.
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.JSONField", args, kwargs


class AuditEvent(models.Model):
    """One change to (or disclosure of) customer data: who, when, what, and field-level
    before/after values.

    Rows are written by services in the same transaction as the change they describe and are
    never updated or deleted by the application. ``customer_id`` is a plain column, not a foreign
    key, so the history of a deleted customer survives the customer.
    """

    class Action(models.TextChoices):
        CREATE = "create", _("created")
        UPDATE = "update", _("updated")
        DELETE = "delete", _("deleted")
        REASSIGN = "reassign", _("reassigned")
        EXPORT = "export", _("exported")
        REVEAL = "reveal", _("revealed sensitive data")
        MERGE = "merge", _("merged")
        UNMERGE = "unmerge", _("merge undone")
        IMPORT = "import", _("imported")
        LOOKUP_LIMIT = "lookup_limit", _("reached the limit of whole-number searches")

    occurred_at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
        verbose_name=_("who"),
        db_constraint=False,
    )
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    object_type = models.CharField(_("object type"), max_length=40)
    object_id = models.BigIntegerField(_("object id"), null=True)
    customer_id = models.BigIntegerField(_("customer"), null=True)
    # As written, in the writer's language: what the admin searches and exports carry.
    summary = models.CharField(_("summary"), max_length=300, blank=True)
    # A summary that is a sentence also keeps its untranslated message and parameters, so each
    # reader sees it in their own language (see guanxi.audit.summaries); empty for names and
    # numbers, which read the same in any language, and for rows written before.
    summary_message = models.CharField(_("summary message"), max_length=300, blank=True)
    summary_params = StoredJSONField(_("summary parameters"), default=dict, blank=True)
    # {"field": {"before": ..., "after": ...}}; sensitive fields record only that they changed.
    changes = StoredJSONField(_("changes"), default=dict, blank=True)
    remote_addr = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    via = models.CharField(_("via"), max_length=20, blank=True, help_text=_("web, api or cli"))

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["customer_id", "-occurred_at"], name="audit_customer_time"),
            models.Index(fields=["object_type", "object_id"], name="audit_object"),
        ]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")

    def __str__(self) -> str:
        return (
            f"{self.occurred_at:%Y-%m-%d %H:%M} {self.action} {self.object_type}#{self.object_id}"
        )

    def summary_text(self) -> str:
        """The summary in the active language: the stored message translated and formatted
        with its parameters, or ``summary`` as written when there is none or it does not
        format (a row edited by hand)."""
        return render_summary(self.summary_message, self.summary_params, fallback=self.summary)
