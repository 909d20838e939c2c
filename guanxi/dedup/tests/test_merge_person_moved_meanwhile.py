"""A merged person moved to another organisation between the merge's reading of their
organisation and its locking of the two customers. The merge shares the organisation the
survivor may take before it locks the people, as a hand-over locks organisations before their
people; the one it shared was no longer the person's, and the survivor took the new one only
as it was saved, after the people: with a hand-over of the new organisation under way, each held
what the other waited for. Now the merge sees the move once it holds the two, lets them go and
shares the new organisation first. Real concurrency needs PostgreSQL."""

import threading

import pytest
from django.core.exceptions import ValidationError

from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import (
    Hold,
    hold_after_first,
    hold_before,
    in_thread,
    wait_until,
    waiting_for_a_lock,
)
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create, customer_update, customers_reassign
from guanxi.dedup import services as dedup_services
from guanxi.dedup.models import DuplicatePair

pytestmark = CONCURRENT


def _organisation(actor, name: str) -> Customer:
    return customer_create(actor=actor, data={"name": name, "party_type": "organization"})


def _moved_while_merging(company, monkeypatch, merge, *, then_held_before: str):
    """Run ``merge`` (of a person in one organisation into a survivor in none) until it has
    shared that organisation; move the person to another one meanwhile; hold the merge again
    before its step ``then_held_before`` and hand the new organisation over beside it. Both
    finish, and the survivor is in the new organisation with its new owner."""
    old = _organisation(company.rep, "华东贸易")
    new = _organisation(company.rep, "华南贸易")
    survivor = customer_create(actor=company.rep, data={"name": "周敏"})
    merged = customer_create(
        actor=company.admin,
        data={"name": "周敏", "owner_id": company.rep.pk, "organization_id": old.pk},
    )
    shared = hold_after_first(
        monkeypatch, dedup_services, "_organisation_to_take_shared", thread="merge"
    )
    later: Hold = hold_before(monkeypatch, dedup_services, then_held_before, thread="merge")
    results: dict = {}
    threads: list[threading.Thread] = [in_thread(lambda: merge(survivor, merged), results, "merge")]
    try:
        assert shared.reached.wait(30), "the merge did not share the organisation"
        customer_update(
            actor=company.admin,
            customer_id=merged.pk,
            expected_version=Customer.objects.get(pk=merged.pk).version,
            data={"organization_id": new.pk},
        )
        shared.go.set()
        assert later.reached.wait(30), results.get("merge")
        threads.append(
            in_thread(
                lambda: customers_reassign(
                    actor=company.admin,
                    from_owner_id=company.rep.pk,
                    to_owner_id=company.teammate.pk,
                    customer_ids=[new.pk],
                ),
                results,
                "reassign",
            )
        )
        assert wait_until(waiting_for_a_lock), "the hand-over did not wait for the merge"
    finally:
        shared.go.set()
        later.go.set()
        for thread in threads:
            thread.join(60)

    assert results["merge"][0] == "ok", results["merge"][-1]
    assert results["reassign"] == ("ok", 1), results["reassign"][-1]
    stored = Customer.objects.get(pk=survivor.pk)
    assert (stored.organization_id, stored.organization_owner_id) == (
        new.pk,
        company.teammate.pk,
    )


def test_a_person_moved_to_another_organisation_while_being_merged(company, monkeypatch):
    _moved_while_merging(
        company,
        monkeypatch,
        lambda survivor, merged: dedup_services.customers_merge(
            actor=company.admin, survivor_id=survivor.pk, merged_id=merged.pk
        ),
        # Holding both people, before it looks further at them.
        then_held_before="_check_members",
    )


def test_a_person_moved_to_another_organisation_while_merged_from_the_review_queue(
    company, monkeypatch
):
    def merge(survivor, merged):
        pair = DuplicatePair.objects.create(
            left_id=survivor.pk,
            right_id=merged.pk,
            score=0.9,
            score_without_id_number=0.9,
            source="scan",
        )
        return dedup_services.duplicate_pair_merge(
            actor=company.admin, pair_id=pair.pk, survivor_id=survivor.pk
        )

    _moved_while_merging(
        company,
        monkeypatch,
        merge,
        # Holding the pair and both people, decided to merge them.
        then_held_before="customers_merge",
    )


@pytest.mark.parametrize("taken_out", [False, True])
def test_a_person_moved_twice_while_being_merged_is_not_merged(company, monkeypatch, taken_out):
    # Moved again while the merge shared their second organisation, after it had seen the
    # first move and let the two go: the merge says so rather than chasing them. Moved the
    # second time out of any organisation, they were said to be moved to another one.
    first, second, third = (
        _organisation(company.rep, name) for name in ("华北贸易", "西北贸易", "东北贸易")
    )
    survivor = customer_create(actor=company.rep, data={"name": "吴刚"})
    merged = customer_create(
        actor=company.admin,
        data={"name": "吴刚", "owner_id": company.rep.pk, "organization_id": first.pk},
    )
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
        lambda: dedup_services.customers_merge(
            actor=company.admin, survivor_id=survivor.pk, merged_id=merged.pk
        ),
        results,
        "merge",
    )
    try:
        for hold, organisation in zip(waiting, (second, None if taken_out else third), strict=True):
            assert hold.reached.wait(30), results.get("merge")
            # The person is not held by the merge here (the second time, it let them go).
            customer_update(
                actor=company.admin,
                customer_id=merged.pk,
                expected_version=Customer.objects.get(pk=merged.pk).version,
                data={"organization_id": organisation.pk if organisation else None},
            )
            hold.go.set()
    finally:
        for hold in waiting:
            hold.go.set()
        merge.join(60)

    assert results["merge"][0] == "error", results["merge"]
    error = results["merge"][1]
    assert isinstance(error, ValidationError), results["merge"][-1]
    assert error.message_dict == {
        "merged_id": [
            "The customer to merge was just moved to another organisation or out of one. Try again."
        ]
    }
    assert Customer.objects.get(pk=survivor.pk).organization_id is None
    assert Customer.objects.get(pk=merged.pk).deleted_at is None


def test_a_merge_that_saw_the_move_lets_go_of_the_organisation_left(company, monkeypatch):
    # The organisation left has the higher id: a hand-over of both, locking them in ascending
    # order, holds the new one and waits for the one left. Had the merge kept its share of the
    # one left while sharing the new one, each would wait for the other.
    new = _organisation(company.rep, "华南贸易")
    left = _organisation(company.rep, "华东贸易")
    survivor = customer_create(actor=company.rep, data={"name": "周敏"})
    merged = customer_create(
        actor=company.admin,
        data={"name": "周敏", "owner_id": company.rep.pk, "organization_id": left.pk},
    )
    after_first, before_second = Hold(), Hold()
    shared = dedup_services._organisation_to_take_shared
    calls = []

    def held_around_each_share(merged_pk):
        on_merge = threading.current_thread().name == "merge"
        if on_merge:
            calls.append(merged_pk)
            if len(calls) == 2:
                before_second.here()
        organisation_id = shared(merged_pk)
        if on_merge and len(calls) == 1:
            after_first.here()
        return organisation_id

    monkeypatch.setattr(dedup_services, "_organisation_to_take_shared", held_around_each_share)
    results: dict = {}
    threads = [
        in_thread(
            lambda: dedup_services.customers_merge(
                actor=company.admin, survivor_id=survivor.pk, merged_id=merged.pk
            ),
            results,
            "merge",
        )
    ]
    try:
        assert after_first.reached.wait(30), results.get("merge")
        customer_update(
            actor=company.admin,
            customer_id=merged.pk,
            expected_version=Customer.objects.get(pk=merged.pk).version,
            data={"organization_id": new.pk},
        )
        after_first.go.set()
        assert before_second.reached.wait(30), results.get("merge")
        threads.append(
            in_thread(
                lambda: customers_reassign(
                    actor=company.admin,
                    from_owner_id=company.rep.pk,
                    to_owner_id=company.teammate.pk,
                    customer_ids=[new.pk, left.pk],
                ),
                results,
                "reassign",
            )
        )
        # Done, or waiting for what the merge still holds.
        wait_until(lambda: "reassign" in results or waiting_for_a_lock(), 10)
    finally:
        after_first.go.set()
        before_second.go.set()
        for thread in threads:
            thread.join(60)

    assert results["merge"][0] == "ok", results["merge"][-1]
    assert results["reassign"] == ("ok", 2), results["reassign"][-1]
    stored = Customer.objects.get(pk=survivor.pk)
    assert (stored.organization_id, stored.organization_owner_id) == (
        new.pk,
        company.teammate.pk,
    )
