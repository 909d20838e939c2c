"""A ticket names only the orders its reader may see.

A ticket is linked to orders of its own customer, but undoing a merge of customers gives the
merged customer its orders back while a ticket opened on the kept customer meanwhile stays
there, linked to them. Whoever may see the kept customer and not the other one must not read
the other customer's orders on the ticket, on its page or through the API."""

import datetime as dt
import json

import pytest
from django.test import Client

from guanxi.accounts.services import api_token_create
from guanxi.dedup.services import customer_merge_undo, customers_merge
from guanxi.orders.models import Order
from guanxi.service import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket_about_the_other_customers_order(company):
    """A ticket on the rep's customer about an order of West's customer, as an undone merge of
    the two leaves it (the rep may not see West's customer)."""
    kept, other = company.rep_customer, company.west_customer
    own = Order.objects.create(
        customer=kept, ordered_on=dt.date(2026, 3, 1), amount="11.00", currency="CNY"
    )
    theirs = Order.objects.create(
        customer=other, ordered_on=dt.date(2026, 3, 2), amount="98765.43", currency="CNY"
    )
    merge = customers_merge(actor=company.admin, survivor_id=kept.pk, merged_id=other.pk)
    ticket = services.ticket_create(
        actor=company.admin,
        customer_id=kept.pk,
        data={"type": "inquiry", "subject": "Delivery", "order_ids": [own.pk, theirs.pk]},
    )
    customer_merge_undo(actor=company.admin, merge_id=merge.pk)
    theirs.refresh_from_db()
    assert theirs.customer_id == other.pk
    return ticket, own, theirs


def test_the_ticket_page_names_only_orders_of_customers_in_sight(
    client, company, ticket_about_the_other_customers_order
):
    ticket, own, theirs = ticket_about_the_other_customers_order
    client.force_login(company.rep)
    page = client.get(f"/service/tickets/{ticket.pk}/").content.decode()
    assert str(own) in page
    assert "98765.43" not in page and f"#{theirs.pk} " not in page
    # Whoever sees both customers sees both orders.
    client.force_login(company.admin)
    page = client.get(f"/service/tickets/{ticket.pk}/").content.decode()
    assert str(own) in page and str(theirs) in page


def test_the_api_gives_only_orders_of_customers_in_sight(
    company, ticket_about_the_other_customers_order
):
    ticket, own, theirs = ticket_about_the_other_customers_order

    def order_ids(user) -> list[int]:
        _token, raw = api_token_create(actor=user, user=user, name="test")
        response = Client().get(
            f"/api/v1/tickets/{ticket.pk}", headers={"Authorization": f"Bearer {raw}"}
        )
        assert response.status_code == 200
        return json.loads(response.content)["order_ids"]

    assert order_ids(company.rep) == [own.pk]
    assert order_ids(company.admin) == sorted([own.pk, theirs.pk])
