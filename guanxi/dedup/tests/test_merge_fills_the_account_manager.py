"""A merge that fills the kept customer's empty account manager from the other customer hands
the kept customer over like every other change of account manager does: its open churn
follow-ups go to the new account manager and its open tickets leave whoever no longer sees it,
each change on record. Undone, the kept customer goes back to the pool it came from, and what
it holds then follows it there as a reassignment to the pool does.

The other customer's open churn follow-up and open tickets, moved by a merge to a kept
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


def _released(ticket: Ticket, *, actor, holder) -> None:
    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.owner) == (None, None)
    assert ticket.status in Ticket.OPEN_STATUSES
    event = AuditEvent.objects.filter(
        object_type="ticket", object_id=ticket.pk, action=AuditEvent.Action.REASSIGN
    ).get()
    assert (event.actor, event.customer_id) == (actor, ticket.customer_id)
    assert event.changes["assignee_id"] == {"before": holder.pk, "after": None}
    assert not Customer.objects.visible_to(holder, INTERACT).filter(pk=ticket.customer_id)


def _merge_the_reps_customer_into_the_pool_one(company):
    kept, merged = company.unowned_customer, company.rep_customer
    merge = customers_merge(actor=company.admin, survivor_id=kept.pk, merged_id=merged.pk)
    assert Customer.objects.get(pk=kept.pk).owner_id == company.rep.pk
    return kept, merge


def test_the_kept_customers_follow_up_goes_to_the_account_manager_it_takes(company):
    # Left with the teammate by an earlier move: the kept customer's task, whoever holds it.
    follow_up = ChurnFollowUp.objects.create(
        customer=company.unowned_customer, owner=company.teammate, reason="overdue"
    )

    kept, _merge = _merge_the_reps_customer_into_the_pool_one(company)

    follow_up.refresh_from_db()
    assert (follow_up.customer_id, follow_up.owner, follow_up.done_at) == (
        kept.pk,
        company.rep,
        None,
    )
    event = _follow_up_events(follow_up).get()
    assert event.action == AuditEvent.Action.REASSIGN
    assert (event.actor, event.customer_id) == (company.admin, kept.pk)
    assert event.changes == {"owner_id": {"before": company.teammate.pk, "after": company.rep.pk}}


def test_the_kept_customers_ticket_leaves_a_holder_who_no_longer_sees_it(company):
    # The manager of a department without a service agent sees the pool, and not the rep's
    # customers; the agent sees every customer.
    by_manager = new_ticket(
        company.unowned_customer, assignee=company.manager_west, owner=company.manager_west
    )
    by_agent = new_ticket(company.unowned_customer, assignee=company.agent, owner=company.agent)

    _merge_the_reps_customer_into_the_pool_one(company)

    _released(by_manager, actor=company.admin, holder=company.manager_west)
    by_agent.refresh_from_db()
    assert (by_agent.assignee, by_agent.owner) == (company.agent, company.agent)


def test_a_merge_that_keeps_the_account_manager_changes_no_follow_up_or_ticket(company):
    # The kept customer has its own account manager: nothing is filled, nothing handed over.
    follow_up = ChurnFollowUp.objects.create(
        customer=company.rep_customer, owner=company.teammate, reason="overdue"
    )
    ticket = new_ticket(company.rep_customer, assignee=company.teammate, owner=company.teammate)

    customers_merge(
        actor=company.admin,
        survivor_id=company.rep_customer.pk,
        merged_id=company.rep_b_customer.pk,
    )

    follow_up.refresh_from_db()
    ticket.refresh_from_db()
    assert follow_up.owner == company.teammate
    assert (ticket.assignee, ticket.owner) == (company.teammate, company.teammate)
    assert not _follow_up_events(follow_up).exists()
    assert not AuditEvent.objects.filter(object_type="ticket", object_id=ticket.pk).exists()


def test_an_undo_sending_the_kept_customer_back_to_the_pool(company):
    kept, merge = _merge_the_reps_customer_into_the_pool_one(company)
    # Taken on while the kept customer was the rep's: the follow-up by the rep, the ticket by
    # their teammate, who sees it through their team's sharing.
    follow_up = ChurnFollowUp.objects.create(customer=kept, owner=company.rep, reason="overdue")
    ticket = new_ticket(kept, assignee=company.teammate, owner=company.teammate)

    customer_merge_undo(actor=company.admin, merge_id=merge.pk)

    assert Customer.objects.get(pk=kept.pk).owner_id is None
    follow_up.refresh_from_db()
    assert follow_up.customer_id == kept.pk and follow_up.done_at is not None
    event = _follow_up_events(follow_up).get()
    assert event.action == AuditEvent.Action.UPDATE
    assert (event.actor, event.customer_id) == (company.admin, kept.pk)
    assert event.changes["done_at"]["before"] is None
    _released(ticket, actor=company.admin, holder=company.teammate)


def test_an_undo_that_keeps_an_account_manager_chosen_since_changes_nothing_of_it(company):
    kept, merge = _merge_the_reps_customer_into_the_pool_one(company)
    Customer.objects.filter(pk=kept.pk).update(owner=company.teammate)
    follow_up = ChurnFollowUp.objects.create(
        customer=kept, owner=company.teammate, reason="overdue"
    )
    ticket = new_ticket(kept, assignee=company.rep, owner=company.rep)

    customer_merge_undo(actor=company.admin, merge_id=merge.pk)

    assert Customer.objects.get(pk=kept.pk).owner_id == company.teammate.pk
    follow_up.refresh_from_db()
    ticket.refresh_from_db()
    assert (follow_up.owner, follow_up.done_at) == (company.teammate, None)
    assert (ticket.assignee, ticket.owner) == (company.rep, company.rep)


def test_an_account_manager_who_has_left_is_not_given_the_kept_customer(company):
    # Deactivated between the other customer being read and the merge locking it: the kept
    # customer stays in the pool rather than go to someone nobody signs in as.
    follow_up = ChurnFollowUp.objects.create(
        customer=company.unowned_customer, owner=company.teammate, reason="overdue"
    )
    User.objects.filter(pk=company.rep.pk).update(is_active=False)

    merge = customers_merge(
        actor=company.admin,
        survivor_id=company.unowned_customer.pk,
        merged_id=company.rep_customer.pk,
    )

    assert Customer.objects.get(pk=company.unowned_customer.pk).owner_id is None
    assert "owner_id" not in merge.details["filled"]
    follow_up.refresh_from_db()
    assert follow_up.owner == company.teammate


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

    _released(by_teammate, actor=company.admin, holder=company.teammate)
    assert by_teammate.customer_id == kept.pk
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
