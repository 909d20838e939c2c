"""Writes of the analytics app that people make: putting customers on the blacklist and taking
them off. (The results themselves are written by the refresh, ``refresh.py``.)"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from guanxi.audit.models import AuditEvent
from guanxi.audit.services import audit_record
from guanxi.customers.selectors import access_customer
from guanxi.customers.visibility import CHANGE

from .models import Blacklist


def blacklist_add(*, actor, customer_id: int, reason: str) -> Blacklist:
    """Put a customer on the blacklist, with the reason; needs the right to change the customer.

    Raises ``Customer.DoesNotExist`` / ``PermissionDenied`` as :func:`access_customer` does, and
    ``ValidationError`` without a reason or when the customer is on the list already.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the customer goes on the blacklist.")})
    with transaction.atomic():
        customer = access_customer(actor, customer_id, CHANGE, for_update=True)
        if Blacklist.objects.filter(customer=customer).exists():
            raise ValidationError(_("This customer is on the blacklist already."))
        entry = Blacklist.objects.create(customer=customer, reason=reason, added_by=actor)
        audit_record(
            actor=actor,
            action=AuditEvent.Action.CREATE,
            object_type="blacklist",
            object_id=entry.pk,
            customer_id=customer.pk,
            summary=f"{customer.name}: {reason}",
            changes={"blacklisted": {"before": False, "after": True}, "reason": reason},
        )
    return entry


def blacklist_remove(*, actor, customer_id: int) -> None:
    """Take a customer off the blacklist; needs the right to change the customer. Raises
    ``ValidationError`` when the customer is not on it."""
    with transaction.atomic():
        customer = access_customer(actor, customer_id, CHANGE, for_update=True)
        entry = Blacklist.objects.filter(customer=customer).first()
        if entry is None:
            raise ValidationError(_("This customer is not on the blacklist."))
        entry_id, reason = entry.pk, entry.reason
        entry.delete()
        audit_record(
            actor=actor,
            action=AuditEvent.Action.DELETE,
            object_type="blacklist",
            object_id=entry_id,
            customer_id=customer.pk,
            summary=customer.name,
            changes={
                "blacklisted": {"before": True, "after": False},
                "reason": {"before": reason, "after": None},
            },
        )
