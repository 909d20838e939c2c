"""An undo's audit row counts the records it moved back to the merged customer, as the merge's
row counts those it moved to the survivor; a record moved on to another customer since the
merge stays where it is and is not counted."""

import pytest

from guanxi.audit.models import AuditEvent
from guanxi.customers.services import customer_create
from guanxi.dedup.services import customer_merge_undo, customers_merge
from guanxi.interactions.models import Interaction
from guanxi.interactions.services import interaction_log

pytestmark = pytest.mark.django_db


def _changes(customer, action) -> dict:
    return AuditEvent.objects.get(
        customer_id=customer.pk, object_type="customer", action=action
    ).changes


def test_the_undo_row_counts_what_went_back(company):
    rep = company.rep
    survivor = customer_create(actor=rep, data={"name": "张伟"})
    merged = customer_create(actor=rep, data={"name": "张伟"})
    elsewhere = customer_create(actor=rep, data={"name": "李娜"})
    for subject in ("来电", "拜访", "回访"):
        interaction_log(
            actor=rep, customer_id=merged.pk, data={"subject": subject, "channel": "phone"}
        )
    merge = customers_merge(actor=rep, survivor_id=survivor.pk, merged_id=merged.pk)
    assert _changes(survivor, AuditEvent.Action.MERGE)["moved_rows"] == {
        "before": None,
        "after": 3,
    }
    # One of them was filed under another customer since: the undo leaves it there.
    Interaction.objects.filter(subject="回访").update(customer=elsewhere)

    customer_merge_undo(actor=rep, merge_id=merge.pk)

    assert _changes(survivor, AuditEvent.Action.UNMERGE)["moved_back"] == {
        "before": None,
        "after": 2,
    }
    assert Interaction.objects.filter(customer=merged).count() == 2
