"""Restoring a person while a merge of organisations moves them from their organisation into
the kept one. The merge locks the two organisations and then their people (deleted ones too:
they move with their organisation); the restore locks the person's organisation and then the
person, the same order, so one waits for the other. Locked by ascending id instead, a person
with a lower id than their organisation was locked first, and the restore waited for the
organisation the merge held while the merge waited for the person: a deadlock. Real concurrency
needs PostgreSQL."""

from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import hold_before, second_waits_for_first
from guanxi.customers.models import Customer
from guanxi.customers.services import (
    customer_create,
    customer_delete,
    customer_restore,
    customer_update,
)
from guanxi.dedup import services as merging
from guanxi.dedup.services import customers_merge

pytestmark = CONCURRENT


def test_a_restore_and_a_merge_of_the_persons_organisation_wait_for_each_other(
    company, monkeypatch
):
    admin = company.admin
    # The person is older than their organisation: the lower id.
    person = customer_create(actor=admin, data={"name": "李雷"})
    organisation = customer_create(
        actor=admin, data={"name": "无锡电机", "party_type": "organization"}
    )
    kept = customer_create(
        actor=admin, data={"name": "无锡电机有限公司", "party_type": "organization"}
    )
    person = customer_update(
        actor=admin,
        customer_id=person.pk,
        expected_version=person.version,
        data={"organization_id": organisation.pk},
    )
    customer_delete(actor=admin, customer_id=person.pk)
    assert person.pk < organisation.pk
    # Held once it has locked both organisations, before it moves anything of theirs.
    hold = hold_before(monkeypatch, merging, "_move", thread="merge")

    results = second_waits_for_first(
        lambda: customers_merge(actor=admin, survivor_id=kept.pk, merged_id=organisation.pk),
        lambda: customer_restore(actor=admin, customer_id=person.pk),
        hold,
        names=("merge", "restore"),
    )

    assert results["merge"][0] == "ok", results["merge"][-1]
    assert results["restore"][0] == "ok", results["restore"][-1]
    restored = Customer.objects.get(pk=person.pk)
    # The restore waited for the merge and found the person moved to the kept organisation.
    assert restored.deleted_at is None and restored.organization_id == kept.pk
