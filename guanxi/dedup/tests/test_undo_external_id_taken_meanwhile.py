"""Undoing a merge that gives the merged customer back its external id, as someone else saves a
customer with that id. The undo found the id free (the other had not committed), wrote it, and
waited for the other on the database's unique rule: once the other committed, the undo ended
in an IntegrityError, a server error. Real concurrency needs PostgreSQL."""

from django.core.exceptions import ValidationError
from django.db import transaction

from guanxi.audit.models import AuditEvent
from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import Hold, second_waits_for_first
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create, customer_update
from guanxi.dedup.models import CustomerMerge
from guanxi.dedup.services import customer_merge_undo, customers_merge
from guanxi.interactions.models import Interaction

pytestmark = CONCURRENT


def test_an_undo_whose_external_id_is_taken_meanwhile_is_refused_with_nothing_undone(company):
    kept = customer_create(actor=company.admin, data={"name": "王芳"})
    other = customer_create(actor=company.admin, data={"name": "王芳", "external_id": "ERP-7"})
    Interaction.objects.create(customer=other, channel="phone", subject="回访")
    merge = customers_merge(actor=company.admin, survivor_id=kept.pk, merged_id=other.pk)
    # The kept customer took the id in the merge and has another one since: the id is free.
    kept = Customer.objects.get(pk=kept.pk)
    assert kept.external_id == "ERP-7"
    kept = customer_update(
        actor=company.admin,
        customer_id=kept.pk,
        expected_version=kept.version,
        data={"external_id": "ERP-8"},
    )
    hold = Hold()

    def take_the_id():
        with transaction.atomic():
            taker = customer_create(
                actor=company.rep_b, data={"name": "Hidden Holder", "external_id": "ERP-7"}
            )
            hold.here()
        return taker.pk

    results = second_waits_for_first(
        take_the_id,
        lambda: customer_merge_undo(actor=company.admin, merge_id=merge.pk),
        hold,
        names=("take", "undo"),
    )

    assert results["take"][0] == "ok", results["take"][-1]
    outcome = results["undo"]
    assert outcome[0] == "error" and isinstance(outcome[1], ValidationError), outcome[-1]
    assert outcome[1].message_dict == {
        "external_id": [
            "Another customer was given the external id “ERP-7” the merged customer had, as "
            "this merge was being undone: nothing was undone. Undo it again to bring the "
            "customer back without that external id."
        ]
    }
    # Nothing half-written: the merge stands as it was.
    assert CustomerMerge.objects.get(pk=merge.pk).undone_at is None
    merged = Customer.objects.get(pk=other.pk)
    assert merged.deleted_at is not None and merged.external_id is None
    survivor = Customer.objects.get(pk=kept.pk)
    assert (survivor.external_id, survivor.version) == ("ERP-8", kept.version)
    assert Interaction.objects.get(subject="回访").customer_id == kept.pk
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.UNMERGE).exists()

    # Undone again, the id is found taken and the customer comes back without it.
    customer_merge_undo(actor=company.admin, merge_id=merge.pk)
    merged.refresh_from_db()
    assert merged.deleted_at is None and merged.external_id is None
    assert Interaction.objects.get(subject="回访").customer_id == other.pk
