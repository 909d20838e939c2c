"""A pair of the review queue whose other customer changed twice while the pair was being
merged is refused, as a direct merge of a person moved twice is, but said as what happened to
the pair: that customer moved to another organisation, or the pair names another customer
(the one it named was merged into a third, and the pair moved to that one). It was refused
with the direct merge's words, "the customer to merge was just moved to another
organisation", which named neither the pair nor, in the second case, what happened. Real
concurrency needs PostgreSQL."""

import threading

from django.core.exceptions import ValidationError

from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import Hold, in_thread
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create, customer_update
from guanxi.dedup import services as dedup_services
from guanxi.dedup.models import DuplicatePair

pytestmark = CONCURRENT


def _organisation(actor, name: str) -> Customer:
    return customer_create(actor=actor, data={"name": name, "party_type": "organization"})


def _pair(left: Customer, right: Customer) -> DuplicatePair:
    return DuplicatePair.objects.create(
        left_id=left.pk,
        right_id=right.pk,
        score=0.9,
        score_without_id_number=0.9,
        source="scan",
    )


def _merge_changed_twice(company, monkeypatch, pair, survivor, changes) -> tuple:
    """Merge ``pair`` keeping ``survivor``, running ``changes[i]()`` after the merge has shared
    the organisation of the customer to merge for the i-th time; the merge's outcome."""
    holds = [Hold(), Hold()]
    shared = dedup_services._organisation_to_take_shared

    def held_after_each_share(merged_pk):
        organisation_id = shared(merged_pk)
        if threading.current_thread().name == "merge" and holds:
            holds.pop(0).here()
        return organisation_id

    monkeypatch.setattr(dedup_services, "_organisation_to_take_shared", held_after_each_share)
    waiting = list(holds)
    results: dict = {}
    merge = in_thread(
        lambda: dedup_services.duplicate_pair_merge(
            actor=company.admin, pair_id=pair.pk, survivor_id=survivor.pk
        ),
        results,
        "merge",
    )
    try:
        for hold, change in zip(waiting, changes, strict=True):
            assert hold.reached.wait(30), results.get("merge")
            change()
            hold.go.set()
    finally:
        for hold in waiting:
            hold.go.set()
        merge.join(60)
    return results["merge"]


def test_a_pairs_customer_moved_twice_is_refused_as_the_pairs(company, monkeypatch):
    first, second, third = (
        _organisation(company.rep, name) for name in ("华北贸易", "西北贸易", "东北贸易")
    )
    survivor = customer_create(actor=company.rep, data={"name": "吴刚"})
    merged = customer_create(
        actor=company.admin,
        data={"name": "吴刚", "owner_id": company.rep.pk, "organization_id": first.pk},
    )
    pair = _pair(survivor, merged)

    def move_to(organisation):
        return lambda: customer_update(
            actor=company.admin,
            customer_id=merged.pk,
            expected_version=Customer.objects.get(pk=merged.pk).version,
            data={"organization_id": organisation.pk},
        )

    outcome = _merge_changed_twice(
        company, monkeypatch, pair, survivor, [move_to(second), move_to(third)]
    )
    assert outcome[0] == "error", outcome
    assert isinstance(outcome[1], ValidationError), outcome[-1]
    assert outcome[1].message_dict == {
        "merged_id": [
            "The other customer of this pair was just moved to another organisation or out of "
            "one. Nothing was merged; try again."
        ]
    }
    assert Customer.objects.get(pk=merged.pk).deleted_at is None
    assert DuplicatePair.objects.get(pk=pair.pk).status == DuplicatePair.Status.OPEN


def test_a_pair_moved_to_another_customer_twice_is_refused_as_such(company, monkeypatch):
    survivor = customer_create(actor=company.rep, data={"name": "吴刚"})
    merged, second, third = (
        customer_create(actor=company.rep, data={"name": "吴刚"}) for _n in range(3)
    )
    pair = _pair(survivor, merged)

    def merge_into(kept, gone):
        return lambda: dedup_services.customers_merge(
            actor=company.admin, survivor_id=kept.pk, merged_id=gone.pk
        )

    outcome = _merge_changed_twice(
        company,
        monkeypatch,
        pair,
        survivor,
        [merge_into(second, merged), merge_into(third, second)],
    )
    assert outcome[0] == "error", outcome
    assert isinstance(outcome[1], ValidationError), outcome[-1]
    assert outcome[1].message_dict == {
        "merged_id": [
            "This pair was just changed to name another customer: one of its customers was "
            "merged into another, or such a merge was undone. Nothing was merged; look at the "
            "pair again."
        ]
    }
    assert Customer.objects.get(pk=survivor.pk).deleted_at is None
    stored = DuplicatePair.objects.get(pk=pair.pk)
    assert stored.status == DuplicatePair.Status.OPEN
    assert {stored.left_id, stored.right_id} == {survivor.pk, third.pk}


def test_a_pair_moved_back_by_an_undone_merge_is_not_said_to_name_a_merged_customer(
    company, monkeypatch
):
    """The pair moves to the third customer with the merge of its own into them, and back with
    that merge's undoing: changed twice so, it names again the customer it named at first, who
    was merged into nobody. It was refused as naming "that one", the customer merged into."""
    survivor = customer_create(actor=company.rep, data={"name": "吴刚"})
    merged, third = (customer_create(actor=company.rep, data={"name": "吴刚"}) for _n in range(2))
    pair = _pair(survivor, merged)
    done: list = []

    def merge_into_third():
        done.append(
            dedup_services.customers_merge(
                actor=company.admin, survivor_id=third.pk, merged_id=merged.pk
            )
        )

    def undo():
        dedup_services.customer_merge_undo(actor=company.admin, merge_id=done[0].pk)

    outcome = _merge_changed_twice(company, monkeypatch, pair, survivor, [merge_into_third, undo])
    assert outcome[0] == "error", outcome
    assert isinstance(outcome[1], ValidationError), outcome[-1]
    assert outcome[1].message_dict == {
        "merged_id": [
            "This pair was just changed to name another customer: one of its customers was "
            "merged into another, or such a merge was undone. Nothing was merged; look at the "
            "pair again."
        ]
    }
    stored = DuplicatePair.objects.get(pk=pair.pk)
    assert stored.status == DuplicatePair.Status.OPEN
    assert {stored.left_id, stored.right_id} == {survivor.pk, merged.pk}
    assert Customer.objects.get(pk=merged.pk).deleted_at is None


def test_a_pairs_customer_taken_out_of_their_organisation_is_not_said_to_be_moved_to_one(
    company, monkeypatch
):
    """Moved to another organisation and then out of any, the pair's other customer was said to
    have been moved to another organisation, which they are in none of."""
    first, second = (_organisation(company.rep, name) for name in ("华北贸易", "西北贸易"))
    survivor = customer_create(actor=company.rep, data={"name": "吴刚"})
    merged = customer_create(
        actor=company.admin,
        data={"name": "吴刚", "owner_id": company.rep.pk, "organization_id": first.pk},
    )
    pair = _pair(survivor, merged)

    def move_to(organisation):
        return lambda: customer_update(
            actor=company.admin,
            customer_id=merged.pk,
            expected_version=Customer.objects.get(pk=merged.pk).version,
            data={"organization_id": organisation.pk if organisation else None},
        )

    outcome = _merge_changed_twice(
        company, monkeypatch, pair, survivor, [move_to(second), move_to(None)]
    )
    assert outcome[0] == "error", outcome
    assert isinstance(outcome[1], ValidationError), outcome[-1]
    assert outcome[1].message_dict == {
        "merged_id": [
            "The other customer of this pair was just moved to another organisation or out of "
            "one. Nothing was merged; try again."
        ]
    }
    assert Customer.objects.get(pk=merged.pk).organization_id is None
    assert DuplicatePair.objects.get(pk=pair.pk).status == DuplicatePair.Status.OPEN
