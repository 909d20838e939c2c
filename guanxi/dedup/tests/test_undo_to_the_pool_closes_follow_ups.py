"""An undo bringing a customer back to the unowned pool (its account manager left while it was
merged away) brings back the churn follow-up the merge moved to the kept customer, held by
whoever took it there. The pool has nobody to do it: it is closed, on record, as a restore to
the pool and a reassignment to the pool close theirs."""

import pytest

from guanxi.accounts.roles import Role
from guanxi.accounts.services import user_deactivate
from guanxi.analytics.models import ChurnFollowUp
from guanxi.audit.models import AuditEvent
from guanxi.core.testing.factories import UserFactory
from guanxi.customers.services import customer_create
from guanxi.dedup.services import customer_merge_undo, customers_merge

pytestmark = pytest.mark.django_db


def test_an_undo_to_the_pool_closes_the_follow_up_it_brings_back(company):
    leaver = UserFactory(username="rep_east_2", role=Role.SALES_REP, department=company.east)
    kept = company.rep_customer
    merged = customer_create(actor=company.admin, data={"name": "旧客户", "owner_id": leaver.pk})
    follow_up = ChurnFollowUp.objects.create(customer=merged, owner=leaver, reason="overdue")
    merge = customers_merge(actor=company.admin, survivor_id=kept.pk, merged_id=merged.pk)
    follow_up.refresh_from_db()
    assert follow_up.customer_id == kept.pk
    # Handed over with the leaver: to the kept customer's account manager.
    user_deactivate(actor=company.admin, user_id=leaver.pk, hand_over_to=company.rep.pk)
    follow_up.refresh_from_db()
    assert (follow_up.owner, follow_up.done_at) == (company.rep, None)

    customer_merge_undo(actor=company.admin, merge_id=merge.pk)

    follow_up.refresh_from_db()
    assert follow_up.customer_id == merged.pk
    assert follow_up.done_at is not None
    event = AuditEvent.objects.filter(object_type="churn_follow_up", object_id=follow_up.pk).latest(
        "pk"
    )
    assert (event.actor, event.customer_id) == (company.admin, merged.pk)
