"""The custom fields a write of a customer names are held to the API's limit by the checks every
write goes through: more keys than that are refused whole, naming ``custom_fields``, and
nothing is written, rather than each key being looked at and answered for. The web form and
the import name only the fields the administrators defined."""

import pytest
from django.core.exceptions import ValidationError

from guanxi.customers import services
from guanxi.customers.models import Customer
from guanxi.customers.validation import MAX_CUSTOM_FIELDS

pytestmark = pytest.mark.django_db

TOO_MANY = {f"field_{n}": "x" for n in range(MAX_CUSTOM_FIELDS + 1)}


def test_a_new_customer_with_more_custom_fields_than_the_limit_is_refused(company):
    customers = Customer.objects.count()
    with pytest.raises(ValidationError) as refused:
        services.customer_create(
            actor=company.admin, data={"name": "Many Fields", "custom_fields": TOO_MANY}
        )
    assert refused.value.message_dict == {"custom_fields": [f"At most {MAX_CUSTOM_FIELDS} items."]}
    assert Customer.objects.count() == customers


def test_a_change_with_more_custom_fields_than_the_limit_is_refused(company):
    customer = company.rep_customer
    with pytest.raises(ValidationError) as refused:
        services.customer_update(
            actor=company.admin,
            customer_id=customer.pk,
            expected_version=customer.version,
            data={"custom_fields": TOO_MANY},
        )
    assert refused.value.message_dict == {"custom_fields": [f"At most {MAX_CUSTOM_FIELDS} items."]}
    assert Customer.objects.get(pk=customer.pk).version == customer.version
