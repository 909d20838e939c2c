"""Undoing a merge while another writer locks some of the orders or contacts going back, one by
one in ascending id order, as the services locking several of them do. The undo locks them in
the same order before it moves them, so one waits for the other, instead of the undo locking
them as the database comes to them (by the customer's index or as they are stored, the higher
id first here) and the database breaking one of the two off as a deadlock. Real concurrency
needs PostgreSQL (SQLite has one writer at a time)."""

import datetime as dt
from decimal import Decimal

import pytest

from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import Hold, locking_in_id_order, second_waits_for_first
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create
from guanxi.dedup.models import CustomerMerge
from guanxi.dedup.services import customer_merge_undo, customers_merge
from guanxi.interactions.models import Interaction
from guanxi.orders.models import Order

pytestmark = CONCURRENT


def _two_orders(customer: Customer) -> list[Order]:
    # The higher id the earlier order: first in the customer's index (customer, date).
    return [
        Order.objects.create(customer=customer, ordered_on=day, amount=Decimal("120.00"))
        for day in (dt.date(2026, 11, 5), dt.date(2026, 11, 1))
    ]


def _two_contacts(customer: Customer) -> list[Interaction]:
    # The higher id the later contact: first in the customer's timeline (newest first).
    return [
        Interaction.objects.create(
            customer=customer, channel="phone", subject="回访", occurred_at=at
        )
        for at in (
            dt.datetime(2026, 11, 1, 9, tzinfo=dt.UTC),
            dt.datetime(2026, 11, 5, 9, tzinfo=dt.UTC),
        )
    ]


@pytest.mark.parametrize(
    "model, make, change",
    [
        (Order, _two_orders, {"status": Order.Status.PAID}),
        (Interaction, _two_contacts, {"subject": "回访（已回电）"}),
    ],
)
def test_an_undo_and_a_writer_locking_in_id_order_wait_for_each_other(company, model, make, change):
    other = customer_create(actor=company.rep, data={"name": "王芳"})
    rows = make(other)
    merge = customers_merge(
        actor=company.admin, survivor_id=company.rep_customer.pk, merged_id=other.pk
    )
    # The lower id changed after the merge: its row, stored anew (an order's with a new
    # status, which is indexed, so in its customer's index too), comes after the other's.
    model.objects.filter(pk=rows[0].pk).update(**change)
    ids = [row.pk for row in rows]
    hold = Hold()
    results = second_waits_for_first(
        locking_in_id_order(model, ids, hold),
        lambda: customer_merge_undo(actor=company.admin, merge_id=merge.pk),
        hold,
        names=("writer", "undo"),
    )
    assert results["writer"][0] == "ok", results["writer"][-1]
    assert results["undo"][0] == "ok", results["undo"][-1]
    assert CustomerMerge.objects.get(pk=merge.pk).undone_at is not None
    assert set(model.objects.filter(pk__in=ids).values_list("customer_id", flat=True)) == {other.pk}
