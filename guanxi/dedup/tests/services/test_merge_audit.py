"""The merged customer's own history says what a merge and its undo changed on it: its
external id goes to the survivor (the key must stay unique) and comes back with the undo."""

import pytest

from guanxi.audit.models import AuditEvent
from guanxi.customers.services import customer_create
from guanxi.dedup.services import customer_merge_undo, customers_merge

pytestmark = pytest.mark.django_db


def _event(customer, action) -> AuditEvent:
    return AuditEvent.objects.get(customer_id=customer.pk, action=action)


def test_the_external_id_taken_from_the_merged_customer_is_in_its_history(company):
    survivor = customer_create(actor=company.rep, data={"name": "张伟"})
    merged = customer_create(actor=company.rep, data={"name": "张伟", "external_id": "CARD-17"})
    merge = customers_merge(actor=company.rep, survivor_id=survivor.pk, merged_id=merged.pk)
    changes = _event(merged, AuditEvent.Action.MERGE).changes
    assert changes["external_id"] == {"before": "CARD-17", "after": None}
    assert _event(survivor, AuditEvent.Action.MERGE).changes["external_id"] == {
        "before": None,
        "after": "CARD-17",
    }
    customer_merge_undo(actor=company.rep, merge_id=merge.pk)
    changes = _event(merged, AuditEvent.Action.UNMERGE).changes
    assert changes["external_id"] == {"before": None, "after": "CARD-17"}


def test_a_merge_that_leaves_the_external_id_alone_does_not_mention_it(company):
    survivor = customer_create(actor=company.rep, data={"name": "张伟", "external_id": "ERP-1"})
    merged = customer_create(actor=company.rep, data={"name": "张伟", "external_id": "CARD-17"})
    merge = customers_merge(actor=company.rep, survivor_id=survivor.pk, merged_id=merged.pk)
    assert "external_id" not in _event(merged, AuditEvent.Action.MERGE).changes
    customer_merge_undo(actor=company.rep, merge_id=merge.pk)
    assert "external_id" not in _event(merged, AuditEvent.Action.UNMERGE).changes
