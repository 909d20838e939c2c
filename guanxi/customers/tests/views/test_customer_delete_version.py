"""Deleting a customer from its page is decided on the customer as the page showed it."""

import pytest

from guanxi.customers.models import Customer
from guanxi.customers.services import customer_update

pytestmark = pytest.mark.django_db


def test_a_delete_form_without_the_version_deletes_nothing(client, company):
    customer = company.rep_customer
    client.force_login(company.manager)
    response = client.post(f"/customers/{customer.pk}/delete/", follow=True)
    assert "did not say which version of the customer you saw" in response.content.decode()
    assert Customer.objects.get(pk=customer.pk).deleted_at is None


def test_a_delete_from_a_page_read_before_a_change_deletes_nothing(client, company):
    customer = company.rep_customer
    customer_update(
        actor=company.rep,
        customer_id=customer.pk,
        expected_version=customer.version,
        data={"industry": "零售"},
    )
    client.force_login(company.manager)
    response = client.post(
        f"/customers/{customer.pk}/delete/", {"version": customer.version}, follow=True
    )
    assert "changed since you opened it" in response.content.decode()
    assert Customer.objects.get(pk=customer.pk).deleted_at is None
