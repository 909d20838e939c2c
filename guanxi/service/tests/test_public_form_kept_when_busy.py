"""The service desk's form sent while the database is busy. The request is not taken (its
transaction rolled back), and the busy page's "Try again" led to the empty form: the customer
typed it all again. The form comes back instead, with what they typed and a sentence saying it
was not sent, answered 503 with Retry-After as the busy page is. The lock is real: another
connection, on a thread of its own, holds the tickets table (SQLite's test database in memory
answers at once that the table is locked)."""

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from guanxi.customers.models import Customer
from guanxi.service.models import Ticket
from guanxi.web.tests.test_busy_database_customer_pages import TicketsHeld, _ticket

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "sqlite",
        reason="SQLite's table locks of its shared in-memory database",
    ),
]

TYPED = {
    "name": "李雷",
    "email": "li.lei@example.com",
    "phone": "",
    "type": "complaint",
    "subject": "退款没到",
    "description": "订单 8812 退款两周没到账，客服电话一直占线。",
}


def test_the_help_form_sent_while_the_database_is_busy_keeps_what_was_typed(company, desk):
    held = _ticket(company)
    url = reverse("service:public_request")
    client = Client()
    client.get(url)

    with TicketsHeld(held):
        response = client.post(url, TYPED)

    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    html = response.content.decode()
    assert "Your request was not sent: the database is busy. Send it again in a moment." in html
    assert 'id="public-request"' in html
    assert 'value="李雷"' in html and 'value="li.lei@example.com"' in html
    assert 'value="退款没到"' in html
    assert "订单 8812 退款两周没到账，客服电话一直占线。</textarea>" in html
    assert not Ticket.objects.filter(subject="退款没到").exists()
    assert not Customer.objects.filter(name="李雷").exists()

    # Sent again once the database is free, it is taken.
    assert client.post(url, TYPED).status_code == 200
    assert Ticket.objects.filter(subject="退款没到").count() == 1
