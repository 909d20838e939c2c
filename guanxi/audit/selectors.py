from django.db.models import QuerySet

from .models import AuditEvent


def audit_events_for_customer(*, customer_id: int) -> QuerySet[AuditEvent]:
    """History of one customer. Callers must have fetched the customer through the visibility
    rule first; audit rows carry no scope of their own."""
    return AuditEvent.objects.filter(customer_id=customer_id).select_related("actor")
