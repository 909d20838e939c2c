"""The custom fields a write of a customer names are held to the API's limit by the checks every
write goes through: more keys than that are refused whole, naming ``custom_fields``, and
nothing is written, rather than each key being looked at and answered for. The web form names
only the fields typed otherwise than it showed them, so that it still saves a customer where
more fields are defined than the limit; the import names only the columns it maps."""

import pytest
from django.core.exceptions import ValidationError

from guanxi.customers import services
from guanxi.customers.models import Customer, CustomFieldDefinition
from guanxi.customers.validation import MAX_CUSTOM_FIELDS

from .views.phone_edits import NO_ADDRESS
from .views.test_customer_pages import _customer_form

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


@pytest.fixture
def more_definitions_than_the_limit():
    """One active custom field more than a write may name: the form shows them all."""
    return CustomFieldDefinition.objects.bulk_create(
        CustomFieldDefinition(key=f"field_{n}", label=f"Field {n}", field_type="text")
        for n in range(MAX_CUSTOM_FIELDS + 1)
    )


def _form(definitions, values: dict[str, str], **overrides) -> dict:
    """The customer form as posted, every custom field's input with its value in ``values``
    (empty when not there)."""
    return {
        **_customer_form(**overrides),
        **{f"custom_{d.key}": values.get(d.key, "") for d in definitions},
    }


def test_the_form_saves_a_new_customer_when_more_fields_are_defined_than_the_limit(
    client, company, more_definitions_than_the_limit
):
    client.force_login(company.rep)
    answer = client.post(
        "/customers/new/",
        _form(more_definitions_than_the_limit, {"field_7": "七"}, name="许多字段"),
    )
    assert answer.status_code == 302
    assert Customer.objects.get(name="许多字段").custom_fields == {"field_7": "七"}


def test_the_form_saves_a_change_when_more_fields_are_defined_than_the_limit(
    client, company, more_definitions_than_the_limit
):
    customer = company.rep_customer
    stored = {f"field_{n}": f"value {n}" for n in range(MAX_CUSTOM_FIELDS + 1)}
    customer = services.customer_update(
        actor=company.admin,
        customer_id=customer.pk,
        expected_version=customer.version,
        data={"custom_fields": dict(list(stored.items())[:MAX_CUSTOM_FIELDS])},
    )
    customer = services.customer_update(
        actor=company.admin,
        customer_id=customer.pk,
        expected_version=customer.version,
        data={"custom_fields": {"field_200": "value 200"}},
    )
    assert customer.custom_fields == stored
    client.force_login(company.rep)
    answer = client.post(
        f"/customers/{customer.pk}/edit/",
        _form(
            more_definitions_than_the_limit,
            {**stored, "field_3": "changed", "field_9": ""},
            name=customer.name,
            version=str(customer.version),
            owner_id=str(customer.owner_id),
            phone_number=[""],
            phone_label=["mobile"],
            email_address=[""],
            **NO_ADDRESS,
            tags="",
        ),
    )
    assert answer.status_code == 302
    del stored["field_9"]
    assert Customer.objects.get(pk=customer.pk).custom_fields == {**stored, "field_3": "changed"}
