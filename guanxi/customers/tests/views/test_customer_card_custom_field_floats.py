"""A custom number on the customer's card, on its page and in the recycle bin, is shown as the
history shows it: a float to at most two decimals ("0.30", not the "0.30000000000000004" that
0.1 + 0.2 leaves), a whole number as typed and ungrouped ("2026": it may be a year or a code)."""

import pytest
from django.conf import settings

from guanxi.customers.models import Customer, CustomFieldDefinition
from guanxi.customers.services import customer_delete

pytestmark = pytest.mark.django_db

VALUES = {"budget": 0.30000000000000004, "founded": 2026, "tier": "a"}

TEXT = "<dt>Tier</dt><dd>a</dd>"
FACTS = {
    "en": ["<dt>Budget</dt><dd>0.30</dd>", "<dt>Founded</dt><dd>2026</dd>", TEXT],
    "zh-hans": ["<dt>预算</dt><dd>0.30</dd>", "<dt>成立</dt><dd>2026</dd>", TEXT],
}


@pytest.fixture
def fields():
    CustomFieldDefinition.objects.create(
        key="budget", label="Budget", label_zh_hans="预算", field_type="number"
    )
    CustomFieldDefinition.objects.create(
        key="founded", label="Founded", label_zh_hans="成立", field_type="number"
    )
    CustomFieldDefinition.objects.create(key="tier", label="Tier", field_type="text")


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("in_the_bin", [False, True])
def test_custom_numbers_on_the_card_are_rounded(client, company, fields, language, in_the_bin):
    customer = company.rep_customer
    Customer.objects.filter(pk=customer.pk).update(custom_fields=VALUES)
    if in_the_bin:
        customer_delete(actor=company.admin, customer_id=customer.pk)
        client.force_login(company.admin)
        path = f"/customers/recycle-bin/{customer.pk}/"
    else:
        client.force_login(company.rep)
        path = f"/customers/{customer.pk}/"
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = client.get(path)
    assert response.status_code == 200
    page = response.content.decode()
    assert "0.30000000000000004" not in page
    for fact in FACTS[language]:
        assert fact in page
    customer.refresh_from_db()
    assert customer.custom_fields == VALUES
