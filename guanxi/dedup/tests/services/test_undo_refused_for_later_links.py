"""Undoing a merge of customers once rows of the two were linked to each other since.

The undo gives the merged customer back the rows the merge moved and leaves the kept customer
the rest. A ticket merged since into a ticket on the other side of that line keeps its
conversation there (a ticket merge records no list of the messages it moved, and cannot be
undone), and new emails to it would be filed on the other customer's ticket; an invoice issued
since on the kept customer for an order that goes back would bill one customer for another's
order. Such an undo is refused, saying why, and nothing is changed."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import translation

from guanxi.accounts.services import api_token_create
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create
from guanxi.dedup.models import CustomerMerge
from guanxi.dedup.services import customer_merge_undo, customers_merge
from guanxi.dedup.tests.merged_tickets import customers_with_a_ticket_each, ticket_merge_refusal
from guanxi.orders.models import Invoice, Order
from guanxi.orders.services import invoice_create, order_create
from guanxi.service import services as desk
from guanxi.service.models import Ticket

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 3, 2)


@pytest.fixture
def merged_pair(company):
    """(kept, other, ticket of the kept, ticket of the other, order of the other, merge): the
    other customer merged into the kept one, each with a ticket opened before."""
    kept, other, kept_ticket, other_ticket = customers_with_a_ticket_each(company)
    order = order_create(
        actor=company.admin, customer_id=other.pk, data={"ordered_on": DAY, "amount": Decimal(9)}
    )
    merge = customers_merge(actor=company.admin, survivor_id=kept.pk, merged_id=other.pk)
    return kept, other, kept_ticket, other_ticket, order, merge


def _refused(company, merge) -> list[str]:
    with pytest.raises(ValidationError) as refused:
        customer_merge_undo(actor=company.admin, merge_id=merge.pk)
    return refused.value.message_dict["merge"]


def _nothing_undone(merge, other) -> None:
    assert CustomerMerge.objects.get(pk=merge.pk).undone_at is None
    assert Customer.objects.get(pk=other.pk).deleted_at is not None


def test_a_ticket_going_back_merged_since_into_one_that_stays_refuses_the_undo(
    company, merged_pair
):
    kept, other, kept_ticket, other_ticket, _order, merge = merged_pair
    desk.ticket_merge(actor=company.admin, ticket_id=other_ticket.pk, into_id=kept_ticket.pk)
    assert _refused(company, merge) == [ticket_merge_refusal(other_ticket, kept_ticket)]
    _nothing_undone(merge, other)
    assert Ticket.objects.get(pk=other_ticket.pk).customer_id == kept.pk


def test_a_ticket_staying_merged_since_into_one_that_goes_back_refuses_the_undo(
    company, merged_pair
):
    _kept, other, kept_ticket, other_ticket, _order, merge = merged_pair
    desk.ticket_merge(actor=company.admin, ticket_id=kept_ticket.pk, into_id=other_ticket.pk)
    assert _refused(company, merge) == [ticket_merge_refusal(kept_ticket, other_ticket)]
    _nothing_undone(merge, other)


def test_tickets_merged_on_one_side_of_the_undo_do_not_stop_it(company, merged_pair):
    kept, other, kept_ticket, other_ticket, _order, merge = merged_pair
    newer = desk.ticket_create(
        actor=company.admin, customer_id=kept.pk, data={"type": "complaint", "subject": "又问"}
    )
    desk.ticket_merge(actor=company.admin, ticket_id=newer.pk, into_id=kept_ticket.pk)
    customer_merge_undo(actor=company.admin, merge_id=merge.pk)
    assert Ticket.objects.get(pk=other_ticket.pk).customer_id == other.pk
    assert Ticket.objects.get(pk=newer.pk).customer_id == kept.pk


@pytest.mark.parametrize("when", ["before", "since"])
def test_tickets_merged_on_the_side_that_goes_back_do_not_stop_it(company, when):
    kept = company.rep_customer
    other = customer_create(actor=company.rep, data={"name": "王芳"})
    first, duplicate = (
        desk.ticket_create(
            actor=company.admin, customer_id=other.pk, data={"type": "complaint", "subject": s}
        )
        for s in ("退款还没到账", "又问")
    )
    if when == "before":
        desk.ticket_merge(actor=company.admin, ticket_id=duplicate.pk, into_id=first.pk)
    merge = customers_merge(actor=company.admin, survivor_id=kept.pk, merged_id=other.pk)
    if when == "since":
        desk.ticket_merge(actor=company.admin, ticket_id=duplicate.pk, into_id=first.pk)
    customer_merge_undo(actor=company.admin, merge_id=merge.pk)
    for ticket in (first, duplicate):
        assert Ticket.objects.get(pk=ticket.pk).customer_id == other.pk
    assert Ticket.objects.get(pk=duplicate.pk).merged_into_id == first.pk


def test_an_invoice_of_the_kept_customer_for_an_order_going_back_refuses_the_undo(
    company, merged_pair
):
    kept, other, _kept_ticket, _other_ticket, order, merge = merged_pair
    invoice = invoice_create(
        actor=company.admin,
        customer_id=kept.pk,
        data={
            "number": "INV-7",
            "issued_on": DAY,
            "due_on": DAY,
            "amount": Decimal(9),
            "order_id": order.pk,
        },
    )
    assert _refused(company, merge) == [
        f"Invoice INV-7 was issued since for order #{order.pk}, which would go back to the "
        "merged customer: this merge can no longer be undone."
    ]
    _nothing_undone(merge, other)
    assert Invoice.objects.get(pk=invoice.pk).customer_id == kept.pk
    assert Order.objects.get(pk=order.pk).customer_id == kept.pk


def test_invoices_that_part_no_order_from_its_customer_do_not_stop_the_undo(company):
    """One issued since on the kept customer for an order of its own, which stays; one issued
    before on the merged customer for its order, which goes back with it."""
    kept = company.rep_customer
    other = customer_create(actor=company.rep, data={"name": "王芳"})
    own, theirs = (
        order_create(
            actor=company.admin,
            customer_id=customer.pk,
            data={"ordered_on": DAY, "amount": Decimal(9)},
        )
        for customer in (kept, other)
    )

    def invoice(customer, number, order):
        return invoice_create(
            actor=company.admin,
            customer_id=customer.pk,
            data={
                "number": number,
                "issued_on": DAY,
                "due_on": DAY,
                "amount": Decimal(9),
                "order_id": order.pk,
            },
        )

    before = invoice(other, "INV-1", theirs)
    merge = customers_merge(actor=company.admin, survivor_id=kept.pk, merged_id=other.pk)
    since = invoice(kept, "INV-2", own)
    customer_merge_undo(actor=company.admin, merge_id=merge.pk)
    assert Invoice.objects.get(pk=before.pk).customer_id == other.pk
    assert Order.objects.get(pk=theirs.pk).customer_id == other.pk
    assert Invoice.objects.get(pk=since.pk).customer_id == kept.pk


def test_the_page_and_the_api_say_why_the_undo_is_refused(client, company, merged_pair):
    kept, other, kept_ticket, other_ticket, _order, merge = merged_pair
    desk.ticket_merge(actor=company.admin, ticket_id=other_ticket.pk, into_id=kept_ticket.pk)
    why = ticket_merge_refusal(other_ticket, kept_ticket)
    client.force_login(company.admin)
    response = client.post(f"/duplicates/merges/{merge.pk}/undo/", follow=True)
    assert response.redirect_chain[-1][0] == f"/customers/{kept.pk}/"
    assert why in response.content.decode()

    _token, raw = api_token_create(actor=company.admin, user=company.admin, name="test")
    response = Client().post(
        f"/api/v1/merges/{merge.pk}/undo", headers={"Authorization": f"Bearer {raw}"}
    )
    assert response.status_code == 422
    assert {"field": "merge", "message": why} in json.loads(response.content)["errors"]
    _nothing_undone(merge, other)


@pytest.mark.parametrize(
    ("language", "ticket_words", "invoice_words"),
    [
        ("zh-hans", "此后被合并到工单", "此后为订单"),
        ("zh-hant", "此後被合併到工單", "開具，而該訂單會回到"),
    ],
)
def test_the_refusal_is_translated(company, merged_pair, language, ticket_words, invoice_words):
    kept, _other, kept_ticket, other_ticket, order, merge = merged_pair
    desk.ticket_merge(actor=company.admin, ticket_id=other_ticket.pk, into_id=kept_ticket.pk)
    invoice_create(
        actor=company.admin,
        customer_id=kept.pk,
        data={
            "number": "INV-7",
            "issued_on": DAY,
            "due_on": DAY,
            "amount": Decimal(9),
            "order_id": order.pk,
        },
    )
    with translation.override(language):
        ticket_why, invoice_why = _refused(company, merge)
    assert ticket_words in ticket_why
    assert invoice_words in invoice_why
