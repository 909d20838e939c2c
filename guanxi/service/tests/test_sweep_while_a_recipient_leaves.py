"""The sweep telling of a ticket's warning while the agent it would tell is deactivated. The
sweep locks the tickets due and then writes the notices, whose user the database checks FOR
KEY SHARE; a deactivation locks the leaver FOR UPDATE and then the tickets it hands over.
Waiting for the leaver while holding the ticket, the sweep deadlocked with the deactivation
waiting for the ticket while holding the leaver: the sweep leaves the ticket to the next run
instead, which tells whoever holds it then. Real concurrency needs PostgreSQL (SQLite has one
writer at a time)."""

from guanxi.accounts.services import user_deactivate
from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import hold_after_first, second_waits_for_first
from guanxi.service import sweep
from guanxi.service.models import Notification, Ticket
from guanxi.service.tests.desk import complaint, notified

pytestmark = CONCURRENT


def test_a_warning_due_as_its_agent_leaves_goes_to_whoever_holds_the_ticket_next(
    company, desk, clock, monkeypatch
):
    ticket = complaint(company, company.agent_customer)
    Ticket.objects.filter(pk=ticket.pk).update(assignee=company.agent, owner=company.agent)
    clock.advance(minutes=48)  # the first response's warning is due
    # Held once it has locked the tickets due, before it writes the notices.
    hold = hold_after_first(monkeypatch, sweep, "_due_tickets", thread="sweep")
    results = second_waits_for_first(
        lambda: sweep.sla_sweep(email=False),
        lambda: user_deactivate(
            actor=company.admin, user_id=company.agent.pk, hand_over_to=desk.second.pk
        ),
        hold,
        names=("sweep", "deactivation"),
    )
    assert results["sweep"][0] == "ok", results["sweep"][-1]
    assert results["deactivation"][0] == "ok", results["deactivation"][-1]
    assert Ticket.objects.get(pk=ticket.pk).assignee_id == desk.second.pk
    assert not Notification.objects.exists()
    # The next run tells the agent who holds the ticket now, not the one who left.
    clock.advance(minutes=1)
    assert sweep.sla_sweep(email=False).notifications == 1
    assert notified(company.agent) == []
    assert len(notified(desk.second)) == 1
