"""A pair moved to a third customer between the review queue's merge reading it and locking
its two customers: the customer it was to merge was merged into that third one meanwhile. The
merge shares the organisation the survivor may take before it locks the people, as a hand-over
locks organisations before their people; it shared the organisation of the customer the pair
named when it read it, and merging the third customer (a form that did not say which two it
showed) the survivor took that one's organisation only after the people: with a hand-over of
that organisation under way, each held what the other waited for. Now the merge sees that the
pair names another customer once it holds it, lets go and shares that one's organisation
first. Real concurrency needs PostgreSQL."""

import threading

from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import (
    hold_after_first,
    hold_before,
    in_thread,
    wait_until,
    waiting_for_a_lock,
)
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create, customers_reassign
from guanxi.dedup import services as dedup_services
from guanxi.dedup.models import DuplicatePair

pytestmark = CONCURRENT


def test_a_pair_moved_to_a_third_customer_while_merged_from_the_review_queue(company, monkeypatch):
    organisation = customer_create(
        actor=company.rep, data={"name": "华中贸易", "party_type": "organization"}
    )
    survivor = customer_create(actor=company.rep, data={"name": "郑华"})
    merged = customer_create(actor=company.rep, data={"name": "郑华"})
    third = customer_create(
        actor=company.admin,
        data={"name": "郑华", "owner_id": company.rep.pk, "organization_id": organisation.pk},
    )
    pair = DuplicatePair.objects.create(
        left_id=survivor.pk,
        right_id=merged.pk,
        score=0.9,
        score_without_id_number=0.9,
        source="scan",
    )
    shared = hold_after_first(
        monkeypatch, dedup_services, "_organisation_to_take_shared", thread="merge"
    )
    decided = hold_before(monkeypatch, dedup_services, "customers_merge", thread="merge")
    results: dict = {}
    threads: list[threading.Thread] = [
        in_thread(
            lambda: dedup_services.duplicate_pair_merge(
                actor=company.admin, pair_id=pair.pk, survivor_id=survivor.pk
            ),
            results,
            "merge",
        )
    ]
    try:
        assert shared.reached.wait(30), "the merge did not share an organisation"
        # The pair now names the third customer, in the organisation.
        dedup_services.customers_merge(
            actor=company.admin, survivor_id=third.pk, merged_id=merged.pk
        )
        assert set(
            DuplicatePair.objects.filter(pk=pair.pk).values_list("left_id", "right_id")[0]
        ) == {
            survivor.pk,
            third.pk,
        }
        shared.go.set()
        assert decided.reached.wait(30), results.get("merge")
        threads.append(
            in_thread(
                lambda: customers_reassign(
                    actor=company.admin,
                    from_owner_id=company.rep.pk,
                    to_owner_id=company.teammate.pk,
                    customer_ids=[organisation.pk],
                ),
                results,
                "reassign",
            )
        )
        assert wait_until(waiting_for_a_lock), "the hand-over did not wait for the merge"
    finally:
        shared.go.set()
        decided.go.set()
        for thread in threads:
            thread.join(60)

    assert results["merge"][0] == "ok", results["merge"][-1]
    assert results["reassign"] == ("ok", 1), results["reassign"][-1]
    stored = Customer.objects.get(pk=survivor.pk)
    assert (stored.organization_id, stored.organization_owner_id) == (
        organisation.pk,
        company.teammate.pk,
    )
    assert Customer.objects.get(pk=third.pk).deleted_at is not None
