"""The amounts of an order, an invoice and a payment, which their audit rows keep as the exact
text of the decimal ("1234567.50"), are shown in the customer's history as money is shown: with
the reader's language's digit grouping ("1,234,567.50" in English; Chinese writes none), every
stored decimal kept."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.conf import settings

from guanxi.audit.models import AuditEvent
from guanxi.orders.services import invoice_create, order_create, payment_record

pytestmark = pytest.mark.django_db

ROW = re.compile(
    r'<tr><td>(?P<label>[^<]*)</td><td class="before">(?P<before>.*?)</td>'
    r'<td class="after">(?P<after>.*?)</td></tr>'
)
DAY = dt.date(2026, 3, 2)

AMOUNTS = {
    "en": {
        "order": [("amount", "—", "1,234,567.50"), ("cost", "—", "1,000,000.25")],
        "invoice": [("amount", "—", "1,234,567.50")],
        "payment": [("amount", "—", "34,567.50"), ("outstanding", "1,234,567.50", "1,200,000.00")],
    },
    "zh-hans": {
        "order": [("金额", "—", "1234567.50"), ("成本", "—", "1000000.25")],
        "invoice": [("金额", "—", "1234567.50")],
        "payment": [("金额", "—", "34567.50"), ("未付金额", "1234567.50", "1200000.00")],
    },
}


def _money_lines(page: str, labels: set[str]) -> list[tuple[str, str, str]]:
    return [
        (row["label"], row["before"], row["after"])
        for row in ROW.finditer(page)
        if row["label"] in labels
    ]


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("path", ["/customers/%d/", "/customers/%d/history/"])
def test_order_invoice_and_payment_amounts_are_grouped(client, company, language, path):
    customer = company.rep_customer
    order_create(
        actor=company.rep,
        customer_id=customer.pk,
        data={
            "ordered_on": DAY,
            "amount": Decimal("1234567.50"),
            "cost": Decimal("1000000.25"),
            "currency": "CNY",
            "channel": "web",
        },
    )
    invoice = invoice_create(
        actor=company.rep,
        customer_id=customer.pk,
        data={"number": "INV-7", "issued_on": DAY, "due_on": DAY, "amount": Decimal("1234567.50")},
    )
    payment_record(
        actor=company.rep,
        invoice_id=invoice.pk,
        data={"paid_on": DAY, "amount": Decimal("34567.50")},
    )
    client.force_login(company.rep)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = client.get(path % customer.pk)
    assert response.status_code == 200
    page = response.content.decode()
    expected = AMOUNTS[language]
    labels = {line[0] for lines in expected.values() for line in lines}
    # Newest first: the payment's row, the invoice's, then the order's.
    shown = _money_lines(page, labels)
    assert shown == [*expected["payment"], *expected["invoice"], *expected["order"]]
    # The rows keep the exact text of the amounts.
    order_row = AuditEvent.objects.get(object_type="order")
    assert order_row.changes["amount"] == {"before": None, "after": "1234567.50"}


def test_an_amount_kept_with_an_exponent_is_grouped_too(client, company):
    """A decimal given with an exponent (Decimal("1E+6"), as a client may send "1E6") is kept by
    its row as Python writes it, "1E+6": it is the same amount, shown as the others are."""
    customer = company.rep_customer
    order_create(
        actor=company.rep,
        customer_id=customer.pk,
        data={
            "ordered_on": DAY,
            "amount": Decimal("1E+6"),
            "currency": "CNY",
            "channel": "web",
        },
    )
    assert AuditEvent.objects.get(object_type="order").changes["amount"]["after"] == "1E+6"
    client.force_login(company.rep)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(f"/customers/{customer.pk}/history/").content.decode()
    assert _money_lines(page, {"amount"}) == [("amount", "—", "1,000,000")]
