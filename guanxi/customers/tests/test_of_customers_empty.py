"""Asking for the related rows of no customers sends no query, on either database, and still
gives each caller what it reads: an empty list of rows of the shape it asked for."""

import pytest

from guanxi.customers.exports import _first_addresses
from guanxi.customers.models import Customer, Email, Phone
from guanxi.customers.selectors import of_customers, tag_names_by_customer

pytestmark = pytest.mark.django_db


def test_no_customers_sends_no_query(django_assert_num_queries):
    # An empty array on PostgreSQL (customer_id = ANY('{}')) still cost a round trip for
    # nothing; SQLite's empty IN list never reached the database.
    with django_assert_num_queries(0):
        assert list(of_customers(Phone.objects.values_list("customer_id", "display"), [])) == []
        assert list(of_customers(Email.objects.all(), [])) == []
        assert list(of_customers(Customer.tags.through.objects.values("customer_id"), [])) == []
        assert tag_names_by_customer([]) == {}
        assert _first_addresses([]) == {}
