"""Undoing a merge while its kept customer is being merged into another one. Real concurrency
needs PostgreSQL (SQLite has one writer at a time)."""

from django.core.exceptions import ValidationError

from guanxi.core.testing.merging import CONCURRENT, merge_held
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create
from guanxi.dedup import services
from guanxi.dedup.models import CustomerMerge

pytestmark = CONCURRENT


def test_an_undo_waiting_while_the_kept_customer_is_merged_again_says_so(company, monkeypatch):
    kept, merged, later_survivor = (
        customer_create(actor=company.admin, data={"name": f"王{n}"}) for n in "甲乙丙"
    )
    first = services.customers_merge(actor=company.admin, survivor_id=kept.pk, merged_id=merged.pk)
    with merge_held(
        monkeypatch,
        actor=company.admin,
        survivor_id=later_survivor.pk,
        merged_id=kept.pk,
        key="merge again",
    ) as merge:
        merge.beside(
            lambda: services.customer_merge_undo(actor=company.admin, merge_id=first.pk), "undo"
        )
    results = merge.results
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
