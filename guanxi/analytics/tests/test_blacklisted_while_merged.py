"""A customer put on the blacklist while being merged into another. The merge moves the
customer's blacklist entry to the kept customer; an entry added meanwhile must not be left
behind on the customer the merge puts in the recycle bin, where it stops no order. Real
concurrency needs PostgreSQL."""

import threading

import pytest
from django.db import connection

from guanxi.analytics.models import Blacklist
from guanxi.analytics.services import blacklist_add
from guanxi.core.testing.threads import in_thread, wait_until, waiting_for_a_lock
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create
from guanxi.dedup import services as merging

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL"
    ),
]


def test_a_customer_blacklisted_while_merged_away_is_refused(company, monkeypatch):
    kept = customer_create(actor=company.manager, data={"name": "陈静"})
    other = customer_create(actor=company.manager, data={"name": "陈静"})
    paused, go = threading.Event(), threading.Event()
    settle = merging._settle_pairs

    def settle_when_told(*args, **kwargs):
        paused.set()  # the merge has moved the blacklist entries and holds both customers
        go.wait(30)
        return settle(*args, **kwargs)

    monkeypatch.setattr(merging, "_settle_pairs", settle_when_told)
    results: dict = {}
    merge = in_thread(
        lambda: merging.customers_merge(
            actor=company.manager, survivor_id=kept.pk, merged_id=other.pk
        ),
        results,
        "merge",
    )
    assert paused.wait(30)
    adding = in_thread(
        lambda: blacklist_add(actor=company.manager, customer_id=other.pk, reason="拒付"),
        results,
        "add",
    )
    assert wait_until(waiting_for_a_lock)
    go.set()
    merge.join(60)
    adding.join(60)
    assert results["merge"][0] == "ok", results["merge"][-1]
    # Refused as for any customer gone (a 404), never written to the one in the recycle bin.
    assert results["add"][0] == "error", results["add"]
    assert isinstance(results["add"][1], Customer.DoesNotExist), results["add"][-1]
    assert not Blacklist.objects.filter(customer_id=other.pk).exists()
