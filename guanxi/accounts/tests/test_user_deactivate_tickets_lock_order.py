"""A department's last service agent deactivated while two tickets are merged: one the agent
holds, which the deactivation hands over, and an older one their manager holds on a customer
the manager then no longer sees, which it puts back in the queue. The deactivation locks every
ticket it will touch in one ascending id order, as a ticket merge locks its two, so one waits
for the other, instead of locking the agent's tickets and then the manager's (the newer ticket
before the older) and the database breaking one of the two off as a deadlock. Real concurrency
needs PostgreSQL (SQLite has one writer at a time)."""

from guanxi.accounts.services import POOL, user_deactivate
from guanxi.accounts.tests.service_department import (
    managers_tickets,
    new_ticket,
    second_agent_and_managers_ticket,
)
from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import (
    Hold,
    hold_after_first,
    in_thread,
    locking_in_id_order,
    second_waits_for_first,
)
from guanxi.service import services
from guanxi.service.models import Ticket

pytestmark = CONCURRENT


def test_deactivating_an_agent_and_merging_their_ticket_into_their_managers_wait_for_each_other(
    company, monkeypatch
):
    # The manager's ticket on the representative's customer, seen only through the agent, is
    # the older of the two.
    head, older, _seen, _closed = managers_tickets(company)
    newer = new_ticket(company.rep_customer, assignee=company.agent, owner=company.agent)
    # Held once it has locked the older ticket.
    hold = hold_after_first(monkeypatch, services, "_locked", thread="merge")
    results = second_waits_for_first(
        lambda: services.ticket_merge(actor=company.admin, ticket_id=newer.pk, into_id=older.pk),
        lambda: user_deactivate(actor=company.admin, user_id=company.agent.pk, hand_over_to=POOL),
        hold,
        names=("merge", "deactivation"),
    )
    assert results["merge"][0] == "ok", results["merge"][-1]
    assert results["deactivation"][0] == "ok", results["deactivation"][-1]
    merged, kept = Ticket.objects.get(pk=newer.pk), Ticket.objects.get(pk=older.pk)
    assert merged.merged_into_id == kept.pk
    # The manager no longer sees the customer: the kept ticket went back to the queue.
    assert (kept.assignee_id, kept.owner_id) == (None, None)
    assert not Ticket.objects.filter(assignee=head, customer=company.rep_customer).exists()


def test_deactivating_one_of_two_agents_does_not_wait_for_their_managers_tickets(company):
    # Another agent is left, so the manager still sees every customer and none of their
    # tickets moves: the deactivation has no reason to wait for one of them being worked on
    # (locking every open ticket of every manager of the department, it did).
    _other_agent, head, managers = second_agent_and_managers_ticket(company)
    agents = new_ticket(company.rep_customer, assignee=company.agent, owner=company.agent)
    hold = Hold()
    results: dict = {}
    editing = in_thread(locking_in_id_order(Ticket, [managers.pk], hold), results, "edit")
    leaving = None
    try:
        assert hold.reached.wait(30), "the manager's ticket was never locked"
        leaving = in_thread(
            lambda: user_deactivate(
                actor=company.admin, user_id=company.agent.pk, hand_over_to=POOL
            ),
            results,
            "deactivation",
        )
        leaving.join(10)
        finished_first = "deactivation" in results
    finally:
        hold.go.set()
        editing.join(30)
        if leaving is not None:
            leaving.join(30)
    assert finished_first, "the deactivation waited for the manager's ticket"
    assert results["deactivation"][0] == "ok", results["deactivation"][-1]
    assert Ticket.objects.get(pk=agents.pk).assignee_id is None
    assert Ticket.objects.get(pk=managers.pk).assignee_id == head.pk


def test_deactivating_a_rep_locks_a_colleagues_older_ticket_on_their_customer_first(company):
    # The teammate's ticket on the representative's customer, which they see only through the
    # team's sharing and let go of once the customer goes to the pool, is the older of the two;
    # the representative's own, handed over, the newer. Locked hand-over first and release
    # after, the newer came before the older, and a writer locking the two in id order,
    # holding the older, deadlocked with the deactivation.
    older = new_ticket(company.rep_customer, assignee=company.teammate, owner=company.teammate)
    newer = new_ticket(company.rep_customer, assignee=company.rep, owner=company.teammate)
    hold = Hold()
    results = second_waits_for_first(
        locking_in_id_order(Ticket, [older.pk, newer.pk], hold),
        lambda: user_deactivate(actor=company.admin, user_id=company.rep.pk, hand_over_to=POOL),
        hold,
        names=("edit", "deactivation"),
    )
    assert results["edit"][0] == "ok", results["edit"][-1]
    assert results["deactivation"][0] == "ok", results["deactivation"][-1]
    assert Ticket.objects.get(pk=older.pk).assignee_id is None
    assert Ticket.objects.get(pk=newer.pk).assignee_id is None
