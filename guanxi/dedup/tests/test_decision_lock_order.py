"""Deciding a pair (merging it from the queue, or saying it is two customers) while a merge of
one of its customers runs: every writer locks the customers before their pairs, as a merge
does, so they wait for each other instead of deadlocking. Real concurrency needs PostgreSQL."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from guanxi.core.testing.threads import in_thread, wait_until, waiting_for_a_lock
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create
from guanxi.dedup import services
from guanxi.dedup.models import DuplicatePair

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL"
    ),
]


@pytest.fixture
def twins(company):
    first, second = (
        customer_create(actor=company.admin, data={"name": "张伟", "phones": ["13812345678"]})
        for _ in range(2)
    )
    low, high = sorted((first.pk, second.pk))
    pair = DuplicatePair.objects.create(left_id=low, right_id=high, score=0.9, source="scan")
    return Customer.objects.get(pk=low), Customer.objects.get(pk=high), pair


def _merge_pausing_before_its_pairs(monkeypatch, paused, go):
    """A merge that stops once it holds both customers, before it settles their pairs."""
    settle = services._settle_pairs

    def settle_when_told(*args, **kwargs):
        paused.set()
        go.wait(30)
        return settle(*args, **kwargs)

    monkeypatch.setattr(services, "_settle_pairs", settle_when_told)


@pytest.mark.parametrize("decision", ["reject", "merge"])
def test_deciding_a_pair_while_its_customers_are_merged_waits_instead_of_deadlocking(
    company, twins, monkeypatch, decision
):
    kept, other, pair = twins
    paused, go = threading.Event(), threading.Event()
    _merge_pausing_before_its_pairs(monkeypatch, paused, go)
    results: dict = {}
    merging = in_thread(
        lambda: services.customers_merge(
            actor=company.admin, survivor_id=kept.pk, merged_id=other.pk
        ),
        results,
        "merge",
    )
    assert paused.wait(30)
    if decision == "reject":
        decide = lambda: services.duplicate_pair_reject(actor=company.admin, pair_id=pair.pk)  # noqa: E731
    else:
        # Someone on the pair page keeps the other one, as they saw it before the merge.
        decide = lambda: services.duplicate_pair_merge(  # noqa: E731
            actor=company.admin,
            pair_id=pair.pk,
            survivor_id=other.pk,
            survivor_version=other.version,
            merged_version=kept.version,
        )
    deciding = in_thread(decide, results, "decision")
    assert wait_until(waiting_for_a_lock)
    go.set()
    merging.join(60)
    deciding.join(60)
    assert results["merge"][0] == "ok", results["merge"][-1]
    # The pair was merged meanwhile: the decision is refused as such, not broken off by the
    # database as one side of a deadlock.
    outcome = results["decision"]
    assert outcome[0] == "error"
    assert isinstance(outcome[1], ValidationError), outcome[-1]
    assert outcome[1].message_dict == {"pair": ["This pair has already been decided."]}
    pair.refresh_from_db()
    assert pair.status == DuplicatePair.Status.MERGED
    assert Customer.objects.get(pk=other.pk).deleted_at is not None
