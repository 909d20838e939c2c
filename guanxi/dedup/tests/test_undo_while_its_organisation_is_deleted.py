"""Undoing a merge of a person while their organisation is moved to the recycle bin. The
deletion refuses an organisation with people in use, and the person is not in use until the
undo commits: the undo holds the organisation (shared) from before it looks at it until it
commits, so the deletion waits and then finds the person back, instead of the two together
leaving a person in use in an organisation in the recycle bin. Real concurrency needs
PostgreSQL (SQLite has one writer at a time)."""

from django.core.exceptions import ValidationError

from guanxi.core.testing.factories import CustomerFactory
from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import hold_before, second_waits_for_first
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_delete
from guanxi.dedup import services
from guanxi.dedup.services import customers_merge

pytestmark = CONCURRENT


def test_an_organisation_deleted_while_an_undo_brings_back_its_person_waits_and_is_refused(
    company, monkeypatch
):
    admin = company.admin
    org, other_org = (
        CustomerFactory(name=name, party_type=Customer.PartyType.ORGANIZATION)
        for name in ("Acme Trading", "西湖茶业")
    )
    kept = CustomerFactory(name="李雷", organization=other_org)
    merged = CustomerFactory(name="Li Lei", organization=org)
    merge = customers_merge(actor=admin, survivor_id=kept.pk, merged_id=merged.pk)
    # Held once it has found the organisation in use, before it writes anything.
    hold = hold_before(monkeypatch, services, "_links_split", thread="undo")
    results = second_waits_for_first(
        lambda: services.customer_merge_undo(actor=admin, merge_id=merge.pk),
        lambda: customer_delete(actor=admin, customer_id=org.pk),
        hold,
        names=("undo", "deletion"),
    )
    assert results["undo"][0] == "ok", results["undo"][-1]
    assert results["deletion"][0] == "error", results["deletion"]
    assert isinstance(results["deletion"][1], ValidationError), results["deletion"][-1]
    assert "organization" in results["deletion"][1].message_dict
    assert Customer.objects.get(pk=org.pk).deleted_at is None
    assert Customer.objects.get(pk=merged.pk).deleted_at is None
