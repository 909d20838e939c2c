"""The money figures of the value analytics in a customer's history (the value at risk of a churn
follow-up, a lifetime value) are in the currency the figures count, and are shown to that
currency's own decimals: none for yen, whose amounts have no minor unit, two for yuan."""

import re

import pytest
from django.conf import settings

from guanxi.analytics.models import ValueSettings
from guanxi.audit.models import AuditEvent

pytestmark = pytest.mark.django_db

ROW = re.compile(
    r'<tr><td>(?P<label>[^<]*)</td><td class="before">(?P<before>.*?)</td>'
    r'<td class="after">(?P<after>.*?)</td></tr>'
)

STORED = {
    "clv": {"before": 1234567.891234, "after": 2.5e-7},
    "value_at_risk": {"before": None, "after": 98765.4},
    "expected_purchases": {"before": 3.0, "after": 1.23456789},
}

LINES = {
    ("JPY", "en"): [
        ("lifetime value", "1,234,568", "0"),
        ("expected purchases", "3", "1.23"),
        ("value at risk", "—", "98,765"),
    ],
    ("JPY", "zh-hans"): [
        ("终身价值", "1234568", "0"),
        ("预期购买次数", "3", "1.23"),
        ("风险价值", "—", "98765"),
    ],
    ("CNY", "en"): [
        ("lifetime value", "1,234,567.89", "0.00"),
        ("expected purchases", "3", "1.23"),
        ("value at risk", "—", "98,765.40"),
    ],
}


@pytest.mark.parametrize(("currency", "language"), list(LINES))
@pytest.mark.parametrize("path", ["/customers/%d/", "/customers/%d/history/"])
def test_analytics_money_has_the_currency_decimals(client, company, currency, language, path):
    settings_row = ValueSettings.load()
    settings_row.currency = currency
    settings_row.save()
    customer = company.rep_customer
    AuditEvent.objects.create(
        actor=None,
        action=AuditEvent.Action.CREATE,
        object_type="churn_follow_up",
        object_id=1,
        customer_id=customer.pk,
        summary="Figures of the refresh",
        changes=STORED,
    )
    client.force_login(company.rep)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = client.get(path % customer.pk)
    assert response.status_code == 200
    lines = [
        (row["label"], row["before"], row["after"])
        for row in ROW.finditer(response.content.decode())
    ]
    assert lines == LINES[currency, language]


def test_a_change_in_yen_keeps_the_decimals_that_tell_it(client, company):
    """Two yen figures that round alike still show the decimals that tell them apart."""
    settings_row = ValueSettings.load()
    settings_row.currency = "JPY"
    settings_row.save()
    customer = company.rep_customer
    AuditEvent.objects.create(
        actor=None,
        action=AuditEvent.Action.UPDATE,
        object_type="churn_follow_up",
        object_id=1,
        customer_id=customer.pk,
        summary="Figures of the refresh",
        changes={"clv": {"before": 10.1, "after": 10.4}},
    )
    client.force_login(company.rep)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(f"/customers/{customer.pk}/history/").content.decode()
    lines = [(row["label"], row["before"], row["after"]) for row in ROW.finditer(page)]
    assert lines == [("lifetime value", "10.1", "10.4")]
