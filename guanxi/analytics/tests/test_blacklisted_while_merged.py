"""A customer put on the blacklist while being merged into another. The merge moves the
customer's blacklist entry to the kept customer; an entry added meanwhile must not be left
behind on the customer the merge puts in the recycle bin, where it stops no order. Real
concurrency needs PostgreSQL."""

import pytest
from django.db import connection

from guanxi.analytics.models import Blacklist
from guanxi.analytics.services import blacklist_add
from guanxi.core.testing.merging import merge_held
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL"
    ),
]


def test_a_customer_blacklisted_while_merged_away_is_refused(company, monkeypatch):
    kept = customer_create(actor=company.manager, data={"name": "陈静"})
    other = customer_create(actor=company.manager, data={"name": "陈静"})
    with merge_held(
        monkeypatch, actor=company.manager, survivor_id=kept.pk, merged_id=other.pk
    ) as merge:
        merge.beside(
            lambda: blacklist_add(actor=company.manager, customer_id=other.pk, reason="拒付"),
            "add",
        )
    results = merge.results
    assert results["merge"][0] == "ok", results["merge"][-1]
    # Refused as for any customer gone (a 404), never written to the one in the recycle bin.
    assert results["add"][0] == "error", results["add"]
    assert isinstance(results["add"][1], Customer.DoesNotExist), results["add"][-1]
    assert not Blacklist.objects.filter(customer_id=other.pk).exists()
