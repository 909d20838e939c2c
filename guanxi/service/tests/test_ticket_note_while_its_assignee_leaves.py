"""A note on a ticket while its assignee is deactivated. The note tells the assignee (a
notification row naming them), and the database checks that row's key only as the note
commits, after the ticket lock; a deactivation of the assignee locks them first and then waits
for the ticket to hand it over. The change locks the users it tells with its actor, before the
customer and the ticket, so the deactivation waits for the note, or the note for the
deactivation, instead of the two deadlocking. Real concurrency needs PostgreSQL (SQLite has one
writer at a time)."""

from guanxi.accounts import services as accounts_services
from guanxi.accounts.services import POOL
from guanxi.core.testing.factories import UserFactory
from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import hold_before, second_waits_for_first
from guanxi.service import services
from guanxi.service.models import Notification, Ticket

pytestmark = CONCURRENT


def test_a_note_and_the_deactivation_of_the_assignee_it_tells_do_not_deadlock(company, monkeypatch):
    leaving = UserFactory(username="agent_2", role="service_agent", department=company.service)
    ticket = Ticket.objects.create(
        type=Ticket.Type.INQUIRY,
        subject="发票什么时候开",
        customer=company.unowned_customer,
        status=Ticket.Status.OPEN,
        assignee=leaving,
        owner=leaving,
    )
    # Held with the ticket locked, before the note (and its notification) is written.
    hold = hold_before(monkeypatch, services, "add_note", thread="note")
    results = second_waits_for_first(
        lambda: services.ticket_note(actor=company.agent, ticket_id=ticket.pk, body="已开票"),
        lambda: accounts_services.user_deactivate(
            actor=company.admin, user_id=leaving.pk, hand_over_to=POOL
        ),
        hold,
        names=("note", "deactivation"),
    )
    assert results["note"][0] == "ok", results["note"][-1]
    assert results["deactivation"][0] == "ok", results["deactivation"][-1]
    assert Notification.objects.filter(user=leaving, ticket=ticket).exists()
    stored = Ticket.objects.get(pk=ticket.pk)
    assert (stored.assignee_id, stored.owner_id) == (None, None)
