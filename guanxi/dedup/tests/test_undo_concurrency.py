"""Undoing a merge while its kept customer is being merged into another one. Real concurrency
needs PostgreSQL (SQLite has one writer at a time)."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from guanxi.core.testing.threads import in_thread, wait_until, waiting_for_a_lock
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create
from guanxi.dedup import services
from guanxi.dedup.models import CustomerMerge

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL"
    ),
]


def test_an_undo_waiting_while_the_kept_customer_is_merged_again_says_so(company, monkeypatch):
    kept, merged, later_survivor = (
        customer_create(actor=company.admin, data={"name": f"王{n}"}) for n in "甲乙丙"
    )
    first = services.customers_merge(actor=company.admin, survivor_id=kept.pk, merged_id=merged.pk)
    paused, go = threading.Event(), threading.Event()
    settle = services._settle_pairs

    def settle_when_told(*args, **kwargs):
        paused.set()  # the later merge holds both its customers by now
        go.wait(30)
        return settle(*args, **kwargs)

    monkeypatch.setattr(services, "_settle_pairs", settle_when_told)
    results: dict = {}
    merging = in_thread(
        lambda: services.customers_merge(
            actor=company.admin, survivor_id=later_survivor.pk, merged_id=kept.pk
        ),
        results,
        "merge again",
    )
    assert paused.wait(30)
    undoing = in_thread(
        lambda: services.customer_merge_undo(actor=company.admin, merge_id=first.pk),
        results,
        "undo",
    )
    assert wait_until(waiting_for_a_lock)
    go.set()
    merging.join(60)
    undoing.join(60)
    assert results["merge again"][0] == "ok", results["merge again"][-1]
    # Told what to do, as when the undo comes after the later merge, rather than that the
    # customer does not exist (a 404 on the page and in the API).
    outcome = results["undo"]
    assert outcome[0] == "error" and isinstance(outcome[1], ValidationError), outcome[-1]
    assert outcome[1].message_dict == {
        "merge": ["The kept customer was merged again since; undo that merge first."]
    }
    assert CustomerMerge.objects.get(pk=first.pk).undone_at is None
    assert Customer.objects.get(pk=merged.pk).deleted_at is not None
