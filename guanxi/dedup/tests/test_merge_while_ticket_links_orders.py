"""Merging two customers while a ticket of the merged one is changed to link its orders: the
change locks the ticket and then the orders, and the merge locks the tickets it moves before the
orders, so whichever comes first the other waits for it, instead of each holding what the other
waits for and the database breaking one off as a deadlock. Real concurrency needs PostgreSQL
(SQLite has one writer at a time)."""

import datetime as dt
import threading
from decimal import Decimal

from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import Hold, hold_before, second_waits_for_first
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create
from guanxi.dedup import services as merging
from guanxi.orders.models import Order
from guanxi.service import services as desk
from guanxi.service.models import Ticket

pytestmark = CONCURRENT


def _customer_with_ticket_and_order(company) -> tuple[Customer, Ticket, Order]:
    other = customer_create(actor=company.rep, data={"name": "王芳"})
    ticket = desk.ticket_create(
        actor=company.admin,
        customer_id=other.pk,
        data={"type": "complaint", "subject": "货物破损"},
    )
    order = Order.objects.create(
        customer=other, ordered_on=dt.date(2026, 11, 2), amount=Decimal("120.00")
    )
    return other, ticket, order


def _linking(company, ticket: Ticket, order: Order):
    return lambda: desk.ticket_update(
        actor=company.admin,
        ticket_id=ticket.pk,
        expected_version=ticket.version,
        data={"order_ids": [order.pk]},
    )


def _merging(company, other: Customer):
    return lambda: merging.customers_merge(
        actor=company.admin, survivor_id=company.rep_customer.pk, merged_id=other.pk
    )


def _hold_between_tickets_and_orders(monkeypatch, *, thread: str) -> Hold:
    """Make the merge on ``thread`` stop once it has locked the rows of the first of the two
    relations, tickets and orders, that it moves, before it looks at the second."""
    hold = Hold()
    original = merging._rows_to_move
    seen = set()

    def held_before_the_second(model, *args, **kwargs):
        if threading.current_thread().name == thread and model in (Ticket, Order):
            seen.add(model)
            if len(seen) == 2 and not hold.reached.is_set():
                hold.here()
        return original(model, *args, **kwargs)

    monkeypatch.setattr(merging, "_rows_to_move", held_before_the_second)
    return hold


def _both_moved_and_linked(results, company, ticket: Ticket, order: Order) -> None:
    assert results["merge"][0] == "ok", results["merge"][-1]
    assert results["link"][0] == "ok", results["link"][-1]
    survivor = company.rep_customer.pk
    assert Ticket.objects.get(pk=ticket.pk).customer_id == survivor
    assert Order.objects.get(pk=order.pk).customer_id == survivor
    assert list(Ticket.objects.get(pk=ticket.pk).orders.values_list("pk", flat=True)) == [order.pk]


def test_a_ticket_linking_orders_and_a_merge_coming_after_wait_for_each_other(company, monkeypatch):
    other, ticket, order = _customer_with_ticket_and_order(company)
    # Held with the ticket locked, before it locks the orders.
    hold = hold_before(monkeypatch, desk, "_link_orders", thread="link")
    results = second_waits_for_first(
        _linking(company, ticket, order), _merging(company, other), hold, names=("link", "merge")
    )
    _both_moved_and_linked(results, company, ticket, order)


def test_a_merge_and_a_ticket_linking_orders_coming_after_wait_for_each_other(company, monkeypatch):
    other, ticket, order = _customer_with_ticket_and_order(company)
    hold = _hold_between_tickets_and_orders(monkeypatch, thread="merge")
    results = second_waits_for_first(
        _merging(company, other), _linking(company, ticket, order), hold, names=("merge", "link")
    )
    _both_moved_and_linked(results, company, ticket, order)
