"""The other customer's open churn follow-up and open tickets, moved by a merge to a kept
customer that keeps an account manager of its own (or stays in the pool), follow the kept
customer as every other change of account manager makes them: the follow-up goes to the kept
customer's account manager (closed when it stays in the pool, which has nobody to do it), and a
ticket whose holder cannot see the kept customer goes back to the queue, each change on record.
Undone, the follow-up goes back with the customer to its own account manager."""

import pytest

from guanxi.accounts.models import User
from guanxi.accounts.tests.service_department import new_ticket
from guanxi.analytics.models import ChurnFollowUp
from guanxi.audit.models import AuditEvent
from guanxi.customers.models import Customer
from guanxi.customers.visibility import INTERACT
from guanxi.dedup.services import customer_merge_undo, customers_merge
from guanxi.service.models import Ticket

pytestmark = pytest.mark.django_db


def _follow_up_events(follow_up):
    return AuditEvent.objects.filter(object_type="churn_follow_up", object_id=follow_up.pk)


def _merge_the_reps_customer_into_rep_bs(company):
    kept, merged = company.rep_b_customer, company.rep_customer
    merge = customers_merge(actor=company.admin, survivor_id=kept.pk, merged_id=merged.pk)
    assert Customer.objects.get(pk=kept.pk).owner_id == company.rep_b.pk
    return kept, merge


def test_a_moved_follow_up_goes_to_the_kept_customers_account_manager(company):
    follow_up = ChurnFollowUp.objects.create(
        customer=company.rep_customer, owner=company.rep, reason="overdue"
    )

    kept, _merge = _merge_the_reps_customer_into_rep_bs(company)

    follow_up.refresh_from_db()
    assert (follow_up.customer_id, follow_up.owner, follow_up.done_at) == (
        kept.pk,
        company.rep_b,
        None,
    )
    event = _follow_up_events(follow_up).get()
    assert event.action == AuditEvent.Action.REASSIGN
    assert (event.actor, event.customer_id) == (company.admin, kept.pk)
    assert event.changes == {"owner_id": {"before": company.rep.pk, "after": company.rep_b.pk}}


def test_a_follow_up_moved_to_a_kept_customer_left_in_the_pool_is_closed(company):
    # The other customer's account manager has left: the kept customer stays in the pool.
    follow_up = ChurnFollowUp.objects.create(
        customer=company.rep_customer, owner=company.rep, reason="overdue"
    )
    User.objects.filter(pk=company.rep.pk).update(is_active=False)

    customers_merge(
        actor=company.admin,
        survivor_id=company.unowned_customer.pk,
        merged_id=company.rep_customer.pk,
    )

    assert Customer.objects.get(pk=company.unowned_customer.pk).owner_id is None
    follow_up.refresh_from_db()
    assert follow_up.customer_id == company.unowned_customer.pk
    assert follow_up.done_at is not None
    event = _follow_up_events(follow_up).get()
    assert event.action == AuditEvent.Action.UPDATE
    assert (event.actor, event.customer_id) == (company.admin, company.unowned_customer.pk)
    assert event.changes["done_at"]["before"] is None


def test_a_moved_ticket_leaves_a_holder_who_cannot_see_the_kept_customer(company):
    # The rep's teammate sees the rep's customer through their team, not rep_b's; the agent
    # sees every customer.
    by_teammate = new_ticket(
        company.rep_customer, assignee=company.teammate, owner=company.teammate
    )
    by_agent = new_ticket(company.rep_customer, assignee=company.agent, owner=company.agent)

    kept, _merge = _merge_the_reps_customer_into_rep_bs(company)

    by_teammate.refresh_from_db()
    assert by_teammate.customer_id == kept.pk
    assert (by_teammate.assignee, by_teammate.owner) == (None, None)
    assert by_teammate.status in Ticket.OPEN_STATUSES
    event = AuditEvent.objects.filter(
        object_type="ticket", object_id=by_teammate.pk, action=AuditEvent.Action.REASSIGN
    ).get()
    assert (event.actor, event.customer_id) == (company.admin, kept.pk)
    assert event.changes["assignee_id"] == {"before": company.teammate.pk, "after": None}
    assert not Customer.objects.visible_to(company.teammate, INTERACT).filter(pk=kept.pk)
    by_agent.refresh_from_db()
    assert (by_agent.assignee, by_agent.owner) == (company.agent, company.agent)


def test_undone_the_follow_up_goes_back_to_the_other_customers_account_manager(company):
    follow_up = ChurnFollowUp.objects.create(
        customer=company.rep_customer, owner=company.rep, reason="overdue"
    )
    _kept, merge = _merge_the_reps_customer_into_rep_bs(company)

    customer_merge_undo(actor=company.admin, merge_id=merge.pk)

    follow_up.refresh_from_db()
    assert (follow_up.customer_id, follow_up.owner, follow_up.done_at) == (
        company.rep_customer.pk,
        company.rep,
        None,
    )
    last = _follow_up_events(follow_up).order_by("pk").last()
    assert last.action == AuditEvent.Action.REASSIGN
    assert (last.actor, last.customer_id) == (company.admin, company.rep_customer.pk)
    assert last.changes == {"owner_id": {"before": company.rep_b.pk, "after": company.rep.pk}}
