"""Releasing the tickets of users who lost sight of their customers says how many tickets it
changed: one held by two of them (first contact of one, given to the other) is one ticket."""

import pytest

from guanxi.audit.models import AuditEvent
from guanxi.service import services
from guanxi.service.models import Ticket

pytestmark = pytest.mark.django_db


def test_a_ticket_held_by_two_of_the_users_counts_once(company):
    # Neither may work with the representative's customer.
    ticket = Ticket.objects.create(
        type=Ticket.Type.INQUIRY,
        subject="发票",
        customer=company.rep_customer,
        owner=company.rep_b,
        assignee=company.rep_west,
        status=Ticket.Status.OPEN,
    )

    released = services.tickets_out_of_sight_release(
        actor=company.admin, user_ids=[company.rep_b.pk, company.rep_west.pk]
    )

    assert released == 1
    ticket.refresh_from_db()
    assert (ticket.owner, ticket.assignee) == (None, None)
    assert AuditEvent.objects.filter(object_type="ticket", object_id=ticket.pk).exists()
