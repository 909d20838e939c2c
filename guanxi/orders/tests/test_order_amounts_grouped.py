"""Order amounts on the customer page's orders card and in the order list are grouped as the
customer's history groups them ("1,234,567.50" in English; Chinese writes no separator), so the
card and the history of the same page read an amount alike."""

import datetime as dt
from decimal import Decimal

import pytest
from django.conf import settings

from guanxi.orders.models import Order

pytestmark = pytest.mark.django_db

SHOWN = {
    "en": ("1,234,567.50 CNY", "1 purchase, 1,234,567.50 CNY in all"),
    "zh-hans": ("1234567.50 CNY", "1234567.50"),
}


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_order_amounts_are_grouped(client, company, language):
    Order.objects.create(
        customer=company.rep_customer,
        ordered_on=dt.date(2026, 3, 2),
        amount=Decimal("1234567.50"),
        status="completed",
    )
    client.force_login(company.rep)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    amount, summary = SHOWN[language]
    card = client.get(f"/customers/{company.rep_customer.pk}/").content.decode()
    assert amount in card and summary in card
    listed = client.get("/orders/").content.decode()
    assert amount in listed
