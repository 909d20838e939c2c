"""Writing audit rows. Callers are services that already hold a transaction."""

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .context import current_origin
from .models import AuditEvent
from .summaries import Summary

SENSITIVE_PLACEHOLDER = "[changed]"


def audit_record(
    *,
    actor,
    action: str,
    object_type: str,
    object_id: int | None,
    customer_id: int | None = None,
    summary: str | Summary = "",
    changes: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Write one audit row. ``summary`` is a name or number as it is, or a :class:`Summary`
    for a sentence, which each reader then reads in their own language."""
    origin = current_origin()
    return AuditEvent.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        object_type=object_type,
        object_id=object_id,
        customer_id=customer_id,
        **summary_fields(summary),
        changes=dict(changes or {}),
        remote_addr=origin.remote_addr,
        via=origin.via,
    )


def summary_fields(summary: str | Summary) -> dict[str, Any]:
    """The columns of an audit row that hold ``summary``, for rows built to be written with
    :func:`audit_record_many`: the text in the active language, and for a :class:`Summary`
    its untranslated message and parameters too."""
    if isinstance(summary, Summary):
        return {
            "summary": summary.render()[:300],
            "summary_message": summary.message,
            "summary_params": summary.stored_params(),
        }
    return {"summary": str(summary)[:300]}


def audit_record_many(events: Iterable[AuditEvent]) -> None:
    """Bulk-insert prepared events (for bulk operations such as reassignment and imports)."""
    from guanxi.core.bulk import insert

    origin = current_origin()
    batch = []
    for event in events:
        event.remote_addr = origin.remote_addr
        event.via = origin.via
        batch.append(event)
    insert(batch)


def audit_value(value: Any) -> Any:
    """A field value as the audit log stores it: dates and times in ISO 8601, decimals as
    their exact text, everything else as it is."""
    if isinstance(value, dt.date):  # datetimes too
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def field_values(instance, *, exclude: Iterable[str] = ("id",)) -> dict[str, Any]:
    """The values of a model instance's own columns as the audit log stores them, for the
    before and after of a settings row (one that belongs to no customer) edited as a whole."""
    exclude = set(exclude)
    return {
        field.attname: audit_value(field.value_from_object(instance))
        for field in instance._meta.concrete_fields
        if field.attname not in exclude
    }


def diff_values(
    before: Mapping[str, Any], after: Mapping[str, Any], *, sensitive: Iterable[str] = ()
) -> dict[str, dict[str, Any]]:
    """Field-level changes between two snapshots; sensitive fields never store their values."""
    sensitive = set(sensitive)
    changes: dict[str, dict[str, Any]] = {}
    for field in sorted(set(before) | set(after)):
        old, new = before.get(field), after.get(field)
        if old == new or (_is_empty(old) and _is_empty(new)):
            continue
        if field in sensitive:
            changes[field] = {
                "before": SENSITIVE_PLACEHOLDER if old else None,
                "after": SENSITIVE_PLACEHOLDER if new else None,
            }
        else:
            changes[field] = {"before": old, "after": new}
    return changes


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


# --- settings edited as a whole ----------------------------------------------------------------
# Categories, calendars, policies, departments, teams, tags, custom fields, agents' profiles and
# the value settings are edited in the admin site, each as one form. They belong to no customer,
# but they decide routing, deadlines, escalations, visibility and tiers, so each change is
# audited like a customer's; and each carries a ``version``, so a form read before someone
# else's save is refused instead of silently putting the old values back.

# Columns that change with every save and say nothing of their own.
_BOOKKEEPING = ("id", "version", "updated_at")


class StaleSettingError(Exception):
    """The setting changed since the caller read it: saving would overwrite that change."""

    def __init__(self, instance: models.Model):
        self.current_version = instance.version
        super().__init__(stale_setting_message(type(instance)))


def stale_setting_message(model: type[models.Model]) -> str:
    return _(
        "This %(setting)s was changed by someone else since you opened it; reload the page "
        "and make your change again."
    ) % {"setting": model._meta.verbose_name}


@transaction.atomic
def setting_save(
    *,
    actor,
    instance: models.Model,
    object_type: str,
    expected_version: int | None,
    audit_object_id: int | None = None,
    summary_of: Callable[[Any], str | Summary] = str,
    related_before: Callable[[Any], Mapping[str, Any]] | None = None,
    related_after: Mapping[str, Any] | None = None,
) -> dict[str, dict[str, Any]]:
    """Add ``instance`` or store it as edited, with an audit row (``object_type`` and the
    instance's id, or ``audit_object_id``) of the fields that changed, and return the changes.

    The stored row is locked first; if its version is no longer ``expected_version`` (the one
    the caller's form was read at) :class:`StaleSettingError` is raised and nothing is written.
    ``summary_of`` names the row in the audit log (its ``str`` unless said otherwise).
    ``related_before`` gives values kept outside the row (an agent's skills) from the stored
    row, ``related_after`` the same values as they are to be; the caller stores those itself.
    Saving with nothing changed writes nothing, not even a new version. ``None`` as the
    expected version is for callers with no form read earlier (seeding, scripts)."""
    model = type(instance)
    # The row alone: a model listed by a related row's field (teams by their department's name)
    # joins that row, and FOR UPDATE would lock it too, out of the order everything locks in
    # (a team's old department before the one ``Team.clean`` locks it into).
    stored = (
        model.objects.select_for_update(of=("self",)).filter(pk=instance.pk).first()
        if instance.pk
        else None
    )
    if stored is not None and expected_version is not None and stored.version != expected_version:
        raise StaleSettingError(stored)
    instance.full_clean()
    before: dict[str, Any] = {}
    if stored is not None:
        before = field_values(stored, exclude=_BOOKKEEPING)
        if related_before is not None:
            before.update(related_before(stored))
    after = {**field_values(instance, exclude=_BOOKKEEPING), **(related_after or {})}
    changes = diff_values(before, after)
    if stored is not None and not changes:
        instance.version = stored.version
        return changes
    instance.version = 1 if stored is None else stored.version + 1
    if any(field.name == "updated_at" for field in model._meta.concrete_fields):
        instance.updated_at = timezone.now()
    instance.save()
    audit_record(
        actor=actor,
        action=AuditEvent.Action.UPDATE if stored is not None else AuditEvent.Action.CREATE,
        object_type=object_type,
        object_id=audit_object_id if audit_object_id is not None else instance.pk,
        summary=summary_of(instance),
        changes=changes,
    )
    return changes


@transaction.atomic
def settings_delete(
    *,
    actor,
    queryset: models.QuerySet,
    object_type: str,
    audit_object_id: Callable[[Any], int] | None = None,
    summary_of: Callable[[Any], str | Summary] = str,
    related_before: Callable[[Any], Mapping[str, Any]] | None = None,
) -> list[models.Model]:
    """Delete the settings rows of ``queryset`` (locked in id order, as everything changing
    several rows locks them), each with an audit row of what it held; returns the rows."""
    deleted = []
    for item in queryset.select_for_update().order_by("pk"):
        before = field_values(item, exclude=_BOOKKEEPING)
        if related_before is not None:
            before.update(related_before(item))
        audit_record(
            actor=actor,
            action=AuditEvent.Action.DELETE,
            object_type=object_type,
            object_id=audit_object_id(item) if audit_object_id is not None else item.pk,
            summary=summary_of(item),
            changes=diff_values(before, {}),
        )
        item.delete()
        deleted.append(item)
    return deleted
