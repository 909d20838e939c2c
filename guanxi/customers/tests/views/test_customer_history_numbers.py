"""The figures of the value analytics that audit rows keep as floats (the value at risk of a
churn follow-up the refresh opened, and any other float field a row holds) are shown on the
customer page and its history page as people read them, in the reader's language: money to two
decimals with the language's grouping, probabilities as a percentage, other figures to at most
two decimals; a value the model left at 7.6e-20 is 0. The rows keep what was stored."""

import re

import pytest
from django.conf import settings

from guanxi.audit.models import AuditEvent

pytestmark = pytest.mark.django_db

ROW = re.compile(
    r'<tr><td>(?P<label>[^<]*)</td><td class="before">(?P<before>.*?)</td>'
    r'<td class="after">(?P<after>.*?)</td></tr>'
)

STORED = {
    "value_at_risk": {"before": None, "after": 7.623496392614653e-20},
    "clv": {"before": 1234567.891234, "after": 2.5e-7},
    "p_alive": {"before": 0.8734512, "after": 1.2e-18},
    "expected_purchases": {"before": 3.0, "after": 1.23456789},
}

LINES = {
    "en": [
        ("lifetime value", "1,234,567.89", "0.00"),
        ("expected purchases", "3", "1.23"),
        ("probability active", "87.3 %", "0.0 %"),
        ("value at risk", "—", "0.00"),
    ],
    "zh-hans": [
        ("终身价值", "1234567.89", "0.00"),
        ("预期购买次数", "3", "1.23"),
        ("活跃概率", "87.3 %", "0.0 %"),
        ("风险价值", "—", "0.00"),
    ],
}


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("path", ["/customers/%d/", "/customers/%d/history/"])
def test_float_figures_in_audit_rows_are_shown_rounded(client, company, language, path):
    customer = company.rep_customer
    event = AuditEvent.objects.create(
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
    page = response.content.decode()
    assert "e-20" not in page and "e-07" not in page
    # In the order of the stored keys, as every row's lines are.
    lines = [(row["label"], row["before"], row["after"]) for row in ROW.finditer(page)]
    assert lines == LINES[language]
    event.refresh_from_db()
    assert event.changes == STORED


CLOSE = {
    "expected_purchases": {"before": 0.123, "after": 0.124},
    "clv": {"before": 10.001, "after": 10.004},
    "p_alive": {"before": 0.8731, "after": 0.8734},
    "recency": {"before": 2.0, "after": 2.0000000001},
}


def test_rounding_never_shows_a_change_as_no_change(client, company):
    """Two figures that round alike are shown with the digits that tell them apart: a line
    "0.12 → 0.12" would say a change happened that changed nothing. A difference the models
    leave below a hair (2.0 and 2.0000000001) is no change and keeps the usual rounding."""
    customer = company.rep_customer
    AuditEvent.objects.create(
        actor=None,
        action=AuditEvent.Action.UPDATE,
        object_type="churn_follow_up",
        object_id=1,
        customer_id=customer.pk,
        summary="Figures of the refresh",
        changes=CLOSE,
    )
    client.force_login(company.rep)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(f"/customers/{customer.pk}/history/").content.decode()
    lines = [(row["label"], row["before"], row["after"]) for row in ROW.finditer(page)]
    assert lines == [
        ("lifetime value", "10.001", "10.004"),
        ("expected purchases", "0.123", "0.124"),
        ("probability active", "87.31 %", "87.34 %"),
        ("recency", "2", "2"),
    ]
