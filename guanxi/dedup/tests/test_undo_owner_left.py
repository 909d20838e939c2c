"""Undoing a merge whose merged customer's account manager has left since. A deactivation hands
over only the customers in use, not those in the recycle bin (a merged customer is one): the
undo brought it back to someone nobody signs in as, where no one works it, as restoring a
customer from the recycle bin does not."""

import pytest

from guanxi.accounts.roles import Role
from guanxi.accounts.services import user_deactivate
from guanxi.audit.models import AuditEvent
from guanxi.core.testing.factories import UserFactory
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create
from guanxi.dedup.services import customer_merge_undo, customers_merge

pytestmark = pytest.mark.django_db


def test_an_undo_brings_back_a_customer_whose_account_manager_left_to_the_pool(company):
    leaver = UserFactory(username="rep_east_2", role=Role.SALES_REP, department=company.east)
    kept = customer_create(
        actor=company.admin, data={"name": "西湖茶庄", "owner_id": company.rep.pk}
    )
    merged = customer_create(
        actor=company.admin, data={"name": "西湖茶庄（旧）", "owner_id": leaver.pk}
    )
    merge = customers_merge(actor=company.admin, survivor_id=kept.pk, merged_id=merged.pk)
    # Nothing in use to hand over: the merged customer is in the recycle bin.
    user_deactivate(actor=company.admin, user_id=leaver.pk)

    customer_merge_undo(actor=company.admin, merge_id=merge.pk)

    merged.refresh_from_db()
    assert merged.deleted_at is None
    assert merged.owner_id is None
    assert Customer.objects.get(pk=kept.pk).owner_id == company.rep.pk
    event = AuditEvent.objects.get(
        action=AuditEvent.Action.UNMERGE, object_id=merged.pk, customer_id=merged.pk
    )
    assert event.changes["owner_id"] == {"before": leaver.pk, "after": None}
