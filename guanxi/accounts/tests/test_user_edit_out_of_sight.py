"""A department's manager sees every customer only while an active service agent is in it. Its
last agent given another role or moved to another department on their user page takes that
sight away as leaving does: the open tickets the manager holds on customers they no longer see
go back to the queue, each with an audit row, and so do those the agent holds on customers
their new role or department no longer shows them."""

import pytest
from django.urls import reverse

from guanxi.accounts.roles import Role
from guanxi.accounts.tests.service_department import (
    managers_tickets,
    new_ticket,
    second_agent_and_managers_ticket,
)
from guanxi.audit.models import AuditEvent
from guanxi.core.testing.admin_forms import change_form_data, signed_in_administrators
from guanxi.core.testing.factories import UserFactory
from guanxi.service.models import Ticket

pytestmark = pytest.mark.django_db


def _edit_agent(company, **changes):
    (ann,) = signed_in_administrators("ann")
    url = reverse("admin:accounts_user_change", args=[company.agent.pk])
    response = ann.post(url, change_form_data(ann.get(url), **changes))
    assert response.status_code == 302, response.context["adminform"].form.errors


def _reassign_events(ticket):
    events = AuditEvent.objects.filter(object_type="ticket", object_id=ticket.pk)
    return list(events.filter(action="reassign"))


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda company: {"role": Role.SALES_REP}, id="role"),
        pytest.param(lambda company: {"department": company.west.pk}, id="department"),
    ],
)
def test_the_last_agent_changed_puts_the_tickets_their_manager_no_longer_sees_back(company, change):
    head, unseen, seen, closed = managers_tickets(company)
    _edit_agent(company, **change(company))

    unseen.refresh_from_db()
    assert (unseen.assignee, unseen.owner) == (None, None)
    [event] = _reassign_events(unseen)
    assert event.actor.username == "ann"
    assert event.changes["assignee_id"] == {"before": head.pk, "after": None}
    assert Ticket.objects.get(pk=seen.pk).assignee == head
    assert Ticket.objects.get(pk=closed.pk).assignee == head
    assert not AuditEvent.objects.filter(object_type="ticket", object_id__in=[seen.pk, closed.pk])


def test_with_another_agent_left_their_manager_keeps_their_tickets(company):
    _, head, ticket = second_agent_and_managers_ticket(company)
    _edit_agent(company, department=company.west.pk)
    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.owner) == (head, head)
    assert not _reassign_events(ticket)


def test_an_agent_made_a_sales_rep_no_longer_holds_tickets_on_customers_they_do_not_see(company):
    unseen = new_ticket(company.rep_customer, assignee=company.agent, owner=company.agent)
    own = new_ticket(company.agent_customer, assignee=company.agent, owner=company.agent)
    _edit_agent(company, role=Role.SALES_REP)
    unseen.refresh_from_db()
    assert (unseen.assignee, unseen.owner) == (None, None)
    assert len(_reassign_events(unseen)) == 1
    assert Ticket.objects.get(pk=own.pk).assignee == company.agent


def test_other_changes_on_the_user_page_release_nothing(company):
    head = UserFactory(username="head", role=Role.MANAGER, department=company.service)
    ticket = new_ticket(company.rep_customer, assignee=head, owner=head)
    _edit_agent(company, display_name="Agent One")
    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.owner) == (head, head)
