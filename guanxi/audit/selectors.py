import datetime as dt
from collections.abc import Mapping

from django.db.models import Q, QuerySet

from .models import AuditEvent


def audit_events_for_customer(
    *, customer_id: int, merged_before: Mapping[int, dt.datetime] | None = None
) -> QuerySet[AuditEvent]:
    """History of one customer, with that of the customers merged into it, each up to the
    moment of its merge (``merged_before``: customer id → moment). Callers must have fetched
    the customer through the visibility rule first; audit rows carry no scope of their own.

    Each customer is one range of the ``(customer_id, occurred_at)`` index, so however many
    were merged this stays one indexed query."""
    scope = Q(customer_id=customer_id)
    for merged_id, moment in (merged_before or {}).items():
        # Only the past it brought along: its own "merged into" row repeats the survivor's
        # merge row, and a customer an administrator brought back from the recycle bin lives
        # on with a history of its own.
        scope |= Q(customer_id=merged_id, occurred_at__lt=moment)
    return AuditEvent.objects.filter(scope).select_related("actor")
