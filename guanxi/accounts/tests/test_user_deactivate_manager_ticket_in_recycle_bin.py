"""A manager's open ticket on a customer in the recycle bin goes back to the queue when an
agent of their department leaves, even while another agent is left: the manager then sees
every customer but those in the recycle bin. The ticket is moved as stored, not read through
the acting administrator's view (which leaves deleted customers out), so the deactivation
does not fail with the ticket not found."""

import pytest
from django.utils import timezone

from guanxi.accounts.services import POOL, user_deactivate
from guanxi.accounts.tests.service_department import new_ticket, second_agent_and_managers_ticket
from guanxi.audit.models import AuditEvent
from guanxi.service.models import Ticket

pytestmark = pytest.mark.django_db


def test_a_managers_ticket_on_a_customer_in_the_recycle_bin_goes_back_to_the_queue(company):
    _other_agent, head, kept = second_agent_and_managers_ticket(company)
    binned = company.west_customer
    binned.deleted_at = timezone.now()
    binned.save(update_fields=["deleted_at"])
    ticket = new_ticket(binned, assignee=head, owner=head)

    user_deactivate(actor=company.admin, user_id=company.agent.pk, hand_over_to=POOL)

    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.owner) == (None, None)
    kept.refresh_from_db()
    assert (kept.assignee, kept.owner) == (head, head)
    released = AuditEvent.objects.filter(object_type="ticket", action="reassign")
    assert list(released.values_list("object_id", "actor_id")) == [(ticket.pk, company.admin.pk)]
    assert Ticket.objects.get(pk=ticket.pk).status in Ticket.OPEN_STATUSES
