"""A merge of tickets is refused when the ticket kept would be linked to more orders than a
ticket may be (the limit of the API's ``order_ids``): it takes in the other's orders, and a
ticket so made was read back in full by the API and then refused on every PATCH that sent
back what it read. The service, the ticket page and the API all refuse it naming the orders,
and neither ticket is changed."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from guanxi.api.tests.conftest import api_as  # noqa: F401  (the API's fixtures)
from guanxi.audit.models import AuditEvent
from guanxi.orders.models import Order
from guanxi.service.models import MAX_TICKET_ORDERS, Ticket
from guanxi.service.services import ticket_create, ticket_merge

pytestmark = pytest.mark.django_db

REFUSAL = (
    f"After the merge the ticket kept would be linked to {MAX_TICKET_ORDERS + 1} orders, and a "
    f"ticket may be linked to at most {MAX_TICKET_ORDERS}: unlink some from either ticket first."
)


def orders_of(company, count: int) -> list[Order]:
    return Order.objects.bulk_create(
        Order(
            customer=company.rep_customer,
            ordered_on=dt.date(2026, 1, 1),
            amount=Decimal("10.00"),
            created_by=company.admin,
        )
        for _ in range(count)
    )


@pytest.fixture
def tickets(company) -> tuple[Ticket, Ticket, list[Order]]:
    """(kept, duplicate, orders): the kept ticket linked to as many orders as a ticket may be,
    the duplicate to one of those and one more."""
    customer = company.rep_customer
    orders = orders_of(company, MAX_TICKET_ORDERS + 1)
    kept, duplicate = (
        ticket_create(
            actor=company.agent,
            customer_id=customer.pk,
            data={"type": "complaint", "subject": subject},
        )
        for subject in ("每月送货都晚", "每月送货都晚（又问）")
    )
    kept.orders.add(*orders[:MAX_TICKET_ORDERS])
    duplicate.orders.add(orders[0], orders[MAX_TICKET_ORDERS])
    return kept, duplicate, orders


def as_they_are(*tickets: Ticket) -> list:
    return [
        (
            t.pk,
            t.version,
            t.status,
            t.merged_into_id,
            t.orders.count(),
            t.messages.count(),
        )
        for t in Ticket.objects.filter(pk__in=[t.pk for t in tickets]).order_by("pk")
    ]


def nothing_merged(before: list, *tickets: Ticket) -> None:
    assert as_they_are(*tickets) == before
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.MERGE).exists()


def test_a_merge_past_the_limit_is_refused_and_changes_neither_ticket(company, tickets):
    kept, duplicate, orders = tickets
    before = as_they_are(kept, duplicate)
    with pytest.raises(ValidationError) as refused:
        ticket_merge(actor=company.agent, ticket_id=duplicate.pk, into_id=kept.pk)
    assert refused.value.message_dict == {"order_ids": [REFUSAL]}
    nothing_merged(before, kept, duplicate)
    # With one order fewer, the kept ticket ends at the limit, which is allowed: the order
    # both are linked to counts once.
    kept.orders.remove(orders[1])
    ticket_merge(actor=company.agent, ticket_id=duplicate.pk, into_id=kept.pk)
    assert kept.orders.count() == MAX_TICKET_ORDERS
    assert Ticket.objects.get(pk=duplicate.pk).merged_into_id == kept.pk


def test_a_ticket_already_past_the_limit_takes_in_one_adding_no_order(company, tickets):
    # Linked before the limit held: a merge adding no order does not make it worse, and is not
    # refused for what the ticket had already; one adding an order is.
    kept, duplicate, orders = tickets
    kept.orders.add(orders[MAX_TICKET_ORDERS])
    (one_more,) = orders_of(company, 1)
    duplicate.orders.add(one_more)
    with pytest.raises(ValidationError) as refused:
        ticket_merge(actor=company.agent, ticket_id=duplicate.pk, into_id=kept.pk)
    assert f"would be linked to {MAX_TICKET_ORDERS + 2} orders" in str(refused.value)
    duplicate.orders.remove(one_more)
    ticket_merge(actor=company.agent, ticket_id=duplicate.pk, into_id=kept.pk)
    assert kept.orders.count() == MAX_TICKET_ORDERS + 1
    assert Ticket.objects.get(pk=duplicate.pk).merged_into_id == kept.pk


def test_the_refusal_is_said_in_chinese(company, tickets):
    kept, duplicate, _orders = tickets
    with translation.override("zh-hans"), pytest.raises(ValidationError) as refused:
        ticket_merge(actor=company.agent, ticket_id=duplicate.pk, into_id=kept.pk)
    assert refused.value.message_dict == {
        "order_ids": [
            f"合并后保留的工单将关联 {MAX_TICKET_ORDERS + 1} 个订单，而每个工单最多可关联 "
            f"{MAX_TICKET_ORDERS} 个：请先从任一工单中取消关联一些订单。"
        ]
    }


def test_the_api_refuses_it_with_422_naming_the_orders(api_as, company, tickets):  # noqa: F811
    kept, duplicate, _orders = tickets
    before = as_they_are(kept, duplicate)
    response = api_as("agent").post(
        f"/tickets/{duplicate.pk}/merge",
        {"into_id": kept.pk, "version": duplicate.version, "into_version": kept.version},
    )
    assert response.status_code == 422, response.json()
    assert response.json()["errors"] == [{"field": "order_ids", "message": REFUSAL}]
    nothing_merged(before, kept, duplicate)


def test_the_ticket_page_refuses_it_saying_why(client, company, tickets):
    kept, duplicate, _orders = tickets
    before = as_they_are(kept, duplicate)
    client.force_login(company.agent)
    response = client.post(
        f"/service/tickets/{duplicate.pk}/",
        {
            "action": "merge",
            "version": duplicate.version,
            "into": kept.number,
            "into_version": kept.version,
        },
    )
    assert response.status_code == 422
    assert REFUSAL in response.content.decode()
    nothing_merged(before, kept, duplicate)
