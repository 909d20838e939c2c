"""An order or an invoice booked while its customer is being merged into another. The merge
moves the customer's orders and invoices to the kept customer; one booked meanwhile must not
be left behind on the customer the merge puts in the recycle bin, where nobody sees it. Real
concurrency needs PostgreSQL."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection

from guanxi.core.testing.threads import in_thread, wait_until, waiting_for_a_lock
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create
from guanxi.dedup import services as merging
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
    paused, go = threading.Event(), threading.Event()
    settle = merging._settle_pairs

    def settle_when_told(*args, **kwargs):
        paused.set()  # the merge has moved the orders and holds both customers
        go.wait(30)
        return settle(*args, **kwargs)

    monkeypatch.setattr(merging, "_settle_pairs", settle_when_told)
    results: dict = {}
    merge = in_thread(
        lambda: merging.customers_merge(
            actor=company.manager, survivor_id=kept.pk, merged_id=other.pk
        ),
        results,
        "merge",
    )
    assert paused.wait(30)
    booking = in_thread(lambda: _book(kind, company.manager, other.pk), results, kind)
    assert wait_until(waiting_for_a_lock)
    go.set()
    merge.join(60)
    booking.join(60)
    assert results["merge"][0] == "ok", results["merge"][-1]
    # Refused as for any customer gone (a 404), never written to the one in the recycle bin.
    assert results[kind][0] == "error", results[kind]
    assert isinstance(results[kind][1], Customer.DoesNotExist), results[kind][-1]
    assert not model.objects.filter(customer_id=other.pk).exists()
