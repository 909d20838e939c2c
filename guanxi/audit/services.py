"""Writing audit rows. Callers are services that already hold a transaction."""

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from .context import current_origin
from .models import AuditEvent

SENSITIVE_PLACEHOLDER = "[changed]"


def audit_record(
    *,
    actor,
    action: str,
    object_type: str,
    object_id: int | None,
    customer_id: int | None = None,
    summary: str = "",
    changes: Mapping[str, Any] | None = None,
) -> AuditEvent:
    origin = current_origin()
    return AuditEvent.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        object_type=object_type,
        object_id=object_id,
        customer_id=customer_id,
        summary=summary[:300],
        changes=dict(changes or {}),
        remote_addr=origin.remote_addr,
        via=origin.via,
    )


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
