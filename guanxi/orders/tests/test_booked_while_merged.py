"""An order or an invoice booked while its customer is being merged into another. The merge
moves the customer's orders and invoices to the kept customer; one booked meanwhile must not
be left behind on the customer the merge puts in the recycle bin, where nobody sees it. Real
concurrency needs PostgreSQL."""

import datetime as dt
from decimal import Decimal

import pytest

from guanxi.core.testing.merging import CONCURRENT, customers_to_merge, write_while_merging
from guanxi.customers.models import Customer
from guanxi.orders.models import Invoice, Order
from guanxi.orders.services import invoice_create, order_create

pytestmark = CONCURRENT

DAY = dt.date(2026, 3, 2)


def _book(kind: str, actor, customer_id: int):
    if kind == "order":
        return order_create(
            actor=actor, customer_id=customer_id, data={"ordered_on": DAY, "amount": Decimal(9)}
        )
    return invoice_create(
        actor=actor,
        customer_id=customer_id,
        data={"number": "INV-1", "issued_on": DAY, "due_on": DAY, "amount": Decimal(9)},
    )


@pytest.mark.parametrize(("kind", "model"), [("order", Order), ("invoice", Invoice)])
def test_what_is_booked_while_its_customer_is_merged_away_is_not_lost(
    company, monkeypatch, kind, model
):
    kept, other = customers_to_merge(company.manager, {"name": "周强"})
    results = write_while_merging(
        monkeypatch,
        lambda: _book(kind, company.manager, other.pk),
        actor=company.manager,
        kept=kept,
        other=other,
        key=kind,
    )
    # Refused as for any customer gone (a 404), never written to the one in the recycle bin.
    assert results[kind][0] == "error", results[kind]
    assert isinstance(results[kind][1], Customer.DoesNotExist), results[kind][-1]
    assert not model.objects.filter(customer_id=other.pk).exists()
