"""The payment that settles an invoice marks it paid; the payment's audit row says so, so the
invoice's change of status has its before and after in the customer's history."""

import datetime as dt
from decimal import Decimal

import pytest

from guanxi.audit.models import AuditEvent
from guanxi.orders.services import invoice_create, payment_record

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 3, 2)


def test_the_settling_payment_records_the_invoice_becoming_paid(company):
    invoice = invoice_create(
        actor=company.rep,
        customer_id=company.rep_customer.pk,
        data={"number": "INV-9", "issued_on": DAY, "due_on": DAY, "amount": Decimal("100.00")},
    )
    first = payment_record(
        actor=company.rep, invoice_id=invoice.pk, data={"paid_on": DAY, "amount": Decimal("40")}
    )
    last = payment_record(
        actor=company.rep, invoice_id=invoice.pk, data={"paid_on": DAY, "amount": Decimal("60")}
    )
    rows = {e.object_id: e.changes for e in AuditEvent.objects.filter(object_type="payment")}
    assert "invoice_status" not in rows[first.pk]
    assert rows[last.pk]["invoice_status"] == {"before": "open", "after": "paid"}
