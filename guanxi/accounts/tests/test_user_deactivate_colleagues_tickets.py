"""Deactivating an account manager whose customers colleagues hold tickets on: a colleague who
saw a customer only through the leaver (their team's sharing) no longer sees it once it goes to
the unowned pool or to someone outside the team, and their ticket goes back to the queue with
an audit row, in the same transaction, as when customers are reassigned day to day. Those who
still see the customer (an agent, the department's manager) keep theirs."""

import pytest

from guanxi.accounts.services import POOL, user_deactivate
from guanxi.accounts.tests.service_department import new_ticket
from guanxi.audit.models import AuditEvent
from guanxi.customers.models import Customer
from guanxi.service.models import Ticket

pytestmark = pytest.mark.django_db


def _holders(ticket: Ticket) -> tuple:
    ticket.refresh_from_db()
    return ticket.assignee_id, ticket.owner_id


def test_a_colleagues_ticket_on_a_customer_gone_to_the_pool_goes_back_to_the_queue(company):
    # The teammate sees the representative's customer through team A's sharing; the agent
    # sees every customer.
    colleagues = new_ticket(company.rep_customer, assignee=company.teammate, owner=company.teammate)
    agents = new_ticket(company.rep_customer, assignee=company.agent, owner=company.agent)
    # The department's manager sees the unowned pool.
    managers = new_ticket(company.rep_customer, assignee=company.manager, owner=company.manager)

    user_deactivate(actor=company.admin, user_id=company.rep.pk, hand_over_to=POOL)

    assert Customer.objects.get(pk=company.rep_customer.pk).owner_id is None
    assert _holders(colleagues) == (None, None)
    event = AuditEvent.objects.get(object_type="ticket", object_id=colleagues.pk)
    assert (event.action, event.actor_id) == (AuditEvent.Action.REASSIGN, company.admin.pk)
    assert event.changes["assignee_id"] == {"before": company.teammate.pk, "after": None}
    assert _holders(agents) == (company.agent.pk, company.agent.pk)
    assert not AuditEvent.objects.filter(object_type="ticket", object_id=agents.pk).exists()
    assert _holders(managers) == (company.manager.pk, company.manager.pk)


def test_a_colleagues_ticket_on_a_customer_gone_outside_their_team_goes_back_to_the_queue(
    company,
):
    leavers = new_ticket(company.rep_customer, assignee=company.rep, owner=company.rep)
    colleagues = new_ticket(company.rep_customer, assignee=company.teammate, owner=company.rep)
    # The department's manager sees the customers of everyone in it, the successor's too.
    managers = new_ticket(company.rep_customer, assignee=company.manager, owner=company.manager)

    user_deactivate(actor=company.admin, user_id=company.rep.pk, hand_over_to=company.rep_b.pk)

    assert Customer.objects.get(pk=company.rep_customer.pk).owner_id == company.rep_b.pk
    # Released before the hand-over, the leaver's ticket on their own customer would have gone
    # to the queue rather than to the successor who now owns the customer.
    assert _holders(leavers) == (company.rep_b.pk, company.rep_b.pk)
    # First contact passed to the successor; the teammate, who saw the customer only through
    # the team's sharing with the leaver, lets go of it.
    assert _holders(colleagues) == (None, company.rep_b.pk)
    assert _holders(managers) == (company.manager.pk, company.manager.pk)
