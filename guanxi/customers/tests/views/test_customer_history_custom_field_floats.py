"""A float a custom field holds in an audit row ("0.30000000000000004", which 0.1 + 0.2 gives) is
shown in the customer's history rounded as the history rounds the other figures of a row: to at
most two decimals, more only where they tell a change apart from no change. Not grouped: a
custom number may be a year or a code, which "2,026" would misread. A float the arithmetic left
a hair from another (7.6e-20 and 0) is the same figure to the reader. The row keeps the value."""

import re

import pytest
from django.conf import settings

from guanxi.audit.models import AuditEvent
from guanxi.customers.models import CustomFieldDefinition

pytestmark = pytest.mark.django_db

ROW = re.compile(
    r'<tr><td>(?P<label>[^<]*)</td><td class="before">(?P<before>.*?)</td>'
    r'<td class="after">(?P<after>.*?)</td></tr>'
)

STORED = {
    "custom_fields": {
        "before": {"budget": 0.1, "ratio": 0.123, "founded": 2026.0, "hair": 7.6e-20, "tier": "b"},
        "after": {
            "budget": 0.30000000000000004,
            "ratio": 0.124,
            "founded": 2026.0,
            "hair": 0.0,
            "tier": "a",
        },
    }
}

LINES = {
    "en": (
        "custom fields",
        "Budget: 0.10; founded: 2026; hair: 0; ratio: 0.123; tier: b",
        "Budget: 0.30; founded: 2026; hair: 0; ratio: 0.124; tier: a",
    ),
    "zh-hans": (
        "自定义字段",
        "预算: 0.10; founded: 2026; hair: 0; ratio: 0.123; tier: b",
        "预算: 0.30; founded: 2026; hair: 0; ratio: 0.124; tier: a",
    ),
}


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("path", ["/customers/%d/", "/customers/%d/history/"])
def test_custom_field_floats_are_rounded(client, company, language, path):
    CustomFieldDefinition.objects.create(
        key="budget", label="Budget", label_zh_hans="预算", field_type="number"
    )
    customer = company.rep_customer
    event = AuditEvent.objects.create(
        actor=company.admin,
        action=AuditEvent.Action.UPDATE,
        object_type="customer",
        object_id=customer.pk,
        customer_id=customer.pk,
        summary="Custom fields",
        changes=STORED,
    )
    client.force_login(company.rep)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = client.get(path % customer.pk)
    assert response.status_code == 200
    page = response.content.decode()
    assert "0.30000000000000004" not in page
    lines = [(row["label"], row["before"], row["after"]) for row in ROW.finditer(page)]
    assert LINES[language] in lines
    event.refresh_from_db()
    assert event.changes == STORED


def test_a_whole_number_changed_to_a_float_that_rounds_alike_is_told_apart(client, company):
    """A custom number typed whole is kept as an int ("2"), so its change to 2.001 has an int
    on one side and a float on the other: the decimals that tell them apart are shown, or the
    row would read "2 → 2", a change rounded away."""
    customer = company.rep_customer
    AuditEvent.objects.create(
        actor=company.admin,
        action=AuditEvent.Action.UPDATE,
        object_type="customer",
        object_id=customer.pk,
        customer_id=customer.pk,
        summary="Custom fields",
        changes={
            "custom_fields": {
                "before": {"ratio": 2, "rate": 0.5, "hair": 0},
                "after": {"ratio": 2.001, "rate": 0.5000001, "hair": 7.6e-20},
            }
        },
    )
    client.force_login(company.rep)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(f"/customers/{customer.pk}/history/").content.decode()
    lines = [(row["label"], row["before"], row["after"]) for row in ROW.finditer(page)]
    assert lines == [
        (
            "custom fields",
            "hair: 0; rate: 0.5000000; ratio: 2",
            "hair: 0; rate: 0.5000001; ratio: 2.001",
        )
    ]
