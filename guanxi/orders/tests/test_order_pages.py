"""The orders card on the customer page, the order list and the booking form."""

import datetime as dt
from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext

from guanxi.orders.models import Order


def _book(customer, amount, status="completed", day=dt.date(2026, 3, 2)):
    return Order.objects.create(
        customer=customer, ordered_on=day, amount=Decimal(amount), status=status
    )


def test_the_customer_page_shows_recent_orders_and_the_purchase_summary(client, company):
    _book(company.rep_customer, "120.00")
    _book(company.rep_customer, "990.00", status="refunded", day=dt.date(2026, 3, 3))
    client.force_login(company.rep)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/customers/{company.rep_customer.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "120.00 CNY" in html and "990.00 CNY" in html
    assert "1 purchase, 120.00 CNY in all" in html
    assert f"/orders/new/{company.rep_customer.pk}/" in html
    # The card adds two queries to the page: the recent orders and the summary. (The value
    # card below it adds up to three: the current run, the figures and the blacklist entry;
    # the history one, for the customers merged into this one, whose past it shows too.)
    assert len(queries) <= 28


def test_the_order_list_holds_only_visible_orders(client, company):
    _book(company.rep_customer, "11.00")
    _book(company.west_customer, "22.00")
    client.force_login(company.rep)
    html = client.get("/orders/").content.decode()
    assert "Rep Customer" in html and "West Customer" not in html
    filtered = client.get("/orders/", {"status": "refunded"}).content.decode()
    assert "Rep Customer" not in filtered


def test_booking_an_order_from_the_form(client, company):
    client.force_login(company.rep)
    url = f"/orders/new/{company.rep_customer.pk}/"
    assert client.get(url).status_code == 200
    form = {
        "ordered_on": "2026-03-02",
        "amount": "88.00",
        "cost": "50",
        "currency": "CNY",
        "channel": "store",
        "status": "paid",
    }
    response = client.post(url, form)
    assert response.status_code == 302
    order = Order.objects.get()
    assert (order.gross_margin, order.created_by) == (Decimal("38.00"), company.rep)
    # Refused input answers 422, as every other form does, whether the form or the
    # service refuses it.
    bad = client.post(url, {**form, "currency": "12"})
    assert bad.status_code == 422 and Order.objects.count() == 1
    negative = client.post(url, {**form, "amount": "-5"})
    assert negative.status_code == 422 and Order.objects.count() == 1
    client.force_login(company.teammate)
    assert client.get(url).status_code == 403
    client.force_login(company.rep_west)
    assert client.post(url, form).status_code == 404
    assert Order.objects.count() == 1
