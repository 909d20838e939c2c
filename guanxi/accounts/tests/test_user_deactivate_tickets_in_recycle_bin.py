"""A leaver's open tickets and churn follow-ups on customers in the recycle bin are counted
with the rest of what they hold and handed over with them: restoring such a customer must not
bring back a ticket held by someone who has left, where nobody works it and the sweep escalates
it to no one, nor one held by a successor who cannot see the customer as it comes back."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from guanxi.accounts.selectors import user_holdings
from guanxi.accounts.services import POOL, user_deactivate
from guanxi.accounts.tests.service_department import new_ticket
from guanxi.analytics.models import ChurnFollowUp
from guanxi.audit.models import AuditEvent
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_restore
from guanxi.customers.visibility import INTERACT
from guanxi.service.models import Ticket

pytestmark = pytest.mark.django_db


def _binned(customer):
    customer.deleted_at = timezone.now()
    customer.save(update_fields=["deleted_at"])
    return customer


def _reps_ticket_in_the_recycle_bin(company) -> Ticket:
    """The rep's open ticket on the west customer, which is in the recycle bin."""
    return new_ticket(_binned(company.west_customer), assignee=company.rep, owner=company.rep)


def test_a_ticket_on_a_customer_in_the_recycle_bin_is_counted(company):
    _reps_ticket_in_the_recycle_bin(company)

    assert user_holdings(company.rep).open_tickets == 1
    with pytest.raises(ValidationError) as refused:
        user_deactivate(actor=company.admin, user_id=company.rep.pk)
    assert "1 open ticket" in str(refused.value)
    assert Ticket.objects.get(assignee=company.rep)


def test_it_goes_to_a_successor_who_may_work_with_the_customer(company):
    ticket = _reps_ticket_in_the_recycle_bin(company)

    handed = user_deactivate(
        actor=company.admin, user_id=company.rep.pk, hand_over_to=company.agent.pk
    )

    assert handed.open_tickets == 1
    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.owner) == (company.agent, company.agent)
    event = AuditEvent.objects.get(object_type="ticket", object_id=ticket.pk, action="reassign")
    assert (event.actor, event.customer_id) == (company.admin, company.west_customer.pk)
    assert event.changes["assignee_id"] == {"before": company.rep.pk, "after": company.agent.pk}

    customer_restore(actor=company.admin, customer_id=company.west_customer.pk)
    ticket.refresh_from_db()
    assert ticket.assignee.is_active and ticket.owner.is_active


def test_it_goes_back_to_the_queue_with_the_pool(company):
    ticket = _reps_ticket_in_the_recycle_bin(company)

    handed = user_deactivate(actor=company.admin, user_id=company.rep.pk, hand_over_to=POOL)

    assert handed.open_tickets == 1
    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.owner) == (None, None)
    assert ticket.status in Ticket.OPEN_STATUSES
    assert (
        AuditEvent.objects.filter(
            object_type="ticket", object_id=ticket.pk, action="reassign", actor=company.admin
        ).count()
        == 1
    )
    assert not Ticket.objects.filter(assignee=company.rep).exists()
    assert not Ticket.objects.filter(owner=company.rep).exists()


def test_a_successor_who_loses_sight_at_the_restore_gives_the_ticket_back_to_the_queue(company):
    # The teammate sees the rep's customers through their team's sharing, so takes the ticket
    # at the hand-over; restored, the customer goes to the unowned pool, which no rep sees.
    ticket = new_ticket(_binned(company.rep_customer), assignee=company.rep, owner=company.rep)
    user_deactivate(actor=company.admin, user_id=company.rep.pk, hand_over_to=company.teammate.pk)
    ticket.refresh_from_db()
    assert ticket.assignee == company.teammate

    customer_restore(actor=company.admin, customer_id=company.rep_customer.pk)

    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.owner) == (None, None)
    assert ticket.status in Ticket.OPEN_STATUSES
    assert not Customer.objects.visible_to(company.teammate, INTERACT).filter(
        pk=company.rep_customer.pk
    )
    event = AuditEvent.objects.filter(
        object_type="ticket", object_id=ticket.pk, action="reassign"
    ).latest("pk")
    assert (event.actor, event.customer_id) == (company.admin, company.rep_customer.pk)
    assert event.changes["assignee_id"] == {"before": company.teammate.pk, "after": None}


def test_a_holder_who_still_sees_the_restored_customer_keeps_the_ticket(company):
    # The department's manager sees the unowned pool: the restore takes nothing from them.
    ticket = new_ticket(_binned(company.rep_customer), assignee=company.rep, owner=company.rep)
    user_deactivate(actor=company.admin, user_id=company.rep.pk, hand_over_to=company.manager.pk)

    customer_restore(actor=company.admin, customer_id=company.rep_customer.pk)

    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.owner) == (company.manager, company.manager)


def test_a_churn_follow_up_on_a_customer_in_the_recycle_bin_is_counted_and_closed(company):
    follow_up = ChurnFollowUp.objects.create(
        customer=_binned(company.rep_customer), owner=company.rep, reason="overdue"
    )

    assert user_holdings(company.rep).open_follow_ups == 1
    handed = user_deactivate(
        actor=company.admin, user_id=company.rep.pk, hand_over_to=company.teammate.pk
    )

    assert handed.open_follow_ups == 1
    follow_up.refresh_from_db()
    # Its customer still names the leaver, and comes back to the unowned pool: nobody to do it.
    assert follow_up.done_at is not None
    event = AuditEvent.objects.get(object_type="churn_follow_up", object_id=follow_up.pk)
    assert (event.actor, event.customer_id) == (company.admin, company.rep_customer.pk)
    assert not user_holdings(company.rep)
