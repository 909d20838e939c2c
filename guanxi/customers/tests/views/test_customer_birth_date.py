"""A birth date typed in the customer form (or sent to the API) is held to the rule the importer
already applied: not in the future, not before 1900 — instead of being saved as typed."""

import pytest
from django.core.exceptions import ValidationError

from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create, customer_update

from .test_customer_pages import _customer_form

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("typed", ["2999-01-01", "1850-06-01"])
def test_an_implausible_birth_date_is_an_error_beside_the_field(client, company, typed):
    client.force_login(company.rep)
    before = Customer.objects.count()
    response = client.post("/customers/new/", _customer_form(name="周杰", birth_date=typed))
    assert response.status_code == 422
    html = response.content.decode()
    assert f"{typed} is not a plausible birth date" in html
    assert f'value="{typed}"' in html  # what was typed stays, to be corrected
    assert Customer.objects.count() == before


def test_the_services_refuse_it_on_creating_and_on_changing(company):
    with pytest.raises(ValidationError) as refused:
        customer_create(actor=company.rep, data={"name": "周杰", "birth_date": "2999-01-01"})
    assert set(refused.value.message_dict) == {"birth_date"}
    customer = customer_create(actor=company.rep, data={"name": "周杰", "birth_date": "1990-05-04"})
    with pytest.raises(ValidationError) as refused:
        customer_update(
            actor=company.rep,
            customer_id=customer.pk,
            expected_version=customer.version,
            data={"birth_date": "1899-12-31"},
        )
    assert set(refused.value.message_dict) == {"birth_date"}
    customer.refresh_from_db()
    assert str(customer.birth_date) == "1990-05-04"
