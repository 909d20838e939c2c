"""Every change to a ticket shows what it was and what it became in the customer's history,
including the description the customer gave and which of their orders the ticket is about."""

import datetime as dt
from decimal import Decimal

import pytest

from guanxi.audit.models import AuditEvent
from guanxi.orders.models import Order
from guanxi.service import services

pytestmark = pytest.mark.django_db(transaction=False)


def _order(customer) -> Order:
    return Order.objects.create(
        customer=customer, ordered_on=dt.date(2026, 11, 2), amount=Decimal("120.00")
    )


def _open(company, **extra):
    data = {"type": "complaint", "subject": "退款还没到账", "description": "已经两周了"}
    return services.ticket_create(
        actor=company.agent, customer_id=company.rep_customer.pk, data={**data, **extra}
    )


def _last_update(ticket) -> AuditEvent:
    return AuditEvent.objects.filter(
        object_type="ticket", object_id=ticket.pk, action=AuditEvent.Action.UPDATE
    ).latest("id")


def test_changing_the_description_records_before_and_after(company, desk, clock):
    ticket = _open(company)
    services.ticket_update(
        actor=company.agent,
        ticket_id=ticket.pk,
        expected_version=ticket.version,
        data={"description": "已经三周了"},
    )
    change = _last_update(ticket).changes["description"]
    assert change == {"before": "已经两周了", "after": "已经三周了"}


def test_the_orders_a_ticket_is_about_are_recorded_when_opened_and_when_changed(
    company, desk, clock
):
    first, second = _order(company.rep_customer), _order(company.rep_customer)
    ticket = _open(company, order_ids=[first.pk])
    created = AuditEvent.objects.get(
        object_type="ticket", object_id=ticket.pk, action=AuditEvent.Action.CREATE
    )
    assert created.changes["order_ids"] == {"before": None, "after": [first.pk]}
    services.ticket_update(
        actor=company.agent,
        ticket_id=ticket.pk,
        expected_version=ticket.version,
        data={"order_ids": [second.pk]},
    )
    assert _last_update(ticket).changes["order_ids"] == {
        "before": [first.pk],
        "after": [second.pk],
    }


def test_an_update_that_leaves_the_orders_as_they_were_records_no_order_change(
    company, desk, clock
):
    order = _order(company.rep_customer)
    ticket = _open(company, order_ids=[order.pk])
    services.ticket_update(
        actor=company.agent,
        ticket_id=ticket.pk,
        expected_version=ticket.version,
        data={"order_ids": [order.pk], "priority": "high"},
    )
    changes = _last_update(ticket).changes
    assert "order_ids" not in changes and "description" not in changes
    assert changes["priority"]["after"] == "high"


def test_the_customer_history_names_the_orders_line(company, desk, clock):
    from guanxi.customers.history import describe_history

    ticket = _open(company, order_ids=[_order(company.rep_customer).pk])
    event = AuditEvent.objects.get(object_type="ticket", object_id=ticket.pk)
    [entry] = describe_history([event], viewer=company.agent)
    assert "orders" in [line.label for line in entry.lines]
