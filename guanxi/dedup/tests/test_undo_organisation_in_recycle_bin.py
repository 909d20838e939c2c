"""Undoing a merge of a person whose organisation has gone to the recycle bin since. Deleting
an organisation waits until its people are gone, and restoring one of them waits for the
organisation; the undo brought the person back into an organisation in the recycle bin. It is
refused as the restore is, naming the organisation, with nothing undone."""

import pytest
from django.core.exceptions import ValidationError

from guanxi.audit.models import AuditEvent
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create, customer_delete, customer_restore
from guanxi.dedup.models import CustomerMerge
from guanxi.dedup.services import customer_merge_undo, customers_merge

pytestmark = pytest.mark.django_db


def test_an_undo_waits_for_the_organisation_of_the_customer_it_brings_back(company):
    admin = company.admin
    org, other_org = (
        customer_create(actor=admin, data={"name": name, "party_type": "organization"})
        for name in ("Acme Trading", "西湖茶业")
    )
    kept = customer_create(actor=admin, data={"name": "李雷", "organization_id": other_org.pk})
    merged = customer_create(actor=admin, data={"name": "Li Lei", "organization_id": org.pk})
    merge = customers_merge(actor=admin, survivor_id=kept.pk, merged_id=merged.pk)
    # Its only person merged away, the organisation may go to the recycle bin.
    customer_delete(actor=admin, customer_id=org.pk)
    events = AuditEvent.objects.count()

    with pytest.raises(ValidationError) as refused:
        customer_merge_undo(actor=admin, merge_id=merge.pk)

    [message] = refused.value.message_dict["merge"]
    assert "Acme Trading" in message and f"#{org.pk}" in message
    assert Customer.objects.get(pk=merged.pk).deleted_at is not None
    assert CustomerMerge.objects.get(pk=merge.pk).undone_at is None
    assert AuditEvent.objects.count() == events

    customer_restore(actor=admin, customer_id=org.pk)
    customer_merge_undo(actor=admin, merge_id=merge.pk)
    assert Customer.objects.get(pk=merged.pk).deleted_at is None
