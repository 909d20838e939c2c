"""An order or an invoice booked while its customer is being merged into another. The merge
moves the customer's orders and invoices to the kept customer; one booked meanwhile must not
be left behind on the customer the merge puts in the recycle bin, where nobody sees it. Real
concurrency needs PostgreSQL."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection

from guanxi.core.testing.merging import merge_held
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create
from guanxi.orders.models import Invoice, Order
from guanxi.orders.services import invoice_create, order_create

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL"
    ),
]

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
    kept = customer_create(actor=company.manager, data={"name": "周强"})
    other = customer_create(actor=company.manager, data={"name": "周强"})
    with merge_held(
        monkeypatch, actor=company.manager, survivor_id=kept.pk, merged_id=other.pk
    ) as merge:
        merge.beside(lambda: _book(kind, company.manager, other.pk), kind)
    results = merge.results
    assert results["merge"][0] == "ok", results["merge"][-1]
    # Refused as for any customer gone (a 404), never written to the one in the recycle bin.
    assert results[kind][0] == "error", results[kind]
    assert isinstance(results[kind][1], Customer.DoesNotExist), results[kind][-1]
    assert not model.objects.filter(customer_id=other.pk).exists()
