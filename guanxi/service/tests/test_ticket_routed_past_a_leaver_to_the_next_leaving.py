"""A request routed to an agent deactivated as it locked them, and then to the next agent in
routing's order while that one is deactivated with the person taking the request in as their
successor. The first routing locked the taker with the first agent, and routing again kept
holding them while it locked the next agent (a lower id than the taker): the deactivation,
holding the next agent and waiting for their successor, and the request, holding the successor
and waiting for the next agent, deadlocked. Each routing's locks are now undone with it when the
agent it chose is passed over, so one of the two waits for the other. Real concurrency needs
PostgreSQL (SQLite has one writer at a time)."""

import threading

from guanxi.accounts import services as accounts_services
from guanxi.accounts.models import User
from guanxi.core.testing.factories import UserFactory
from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import Hold, in_thread, wait_until, waiting_for_a_lock
from guanxi.service import services
from guanxi.service.models import AgentProfile, Ticket

pytestmark = CONCURRENT


def _held_after_each_choice(monkeypatch, *, thread: str) -> list[Hold]:
    """Make routing's first two choices on the thread named ``thread`` each stop at a hold once
    made, before the user chosen is locked."""
    holds = [Hold(), Hold()]
    made = []
    original = services.choose_assignee

    def choose_and_hold(*args, **kwargs):
        assignment = original(*args, **kwargs)
        if threading.current_thread().name == thread and len(made) < len(holds):
            made.append(assignment)
            holds[len(made) - 1].here()
        return assignment

    monkeypatch.setattr(services, "choose_assignee", choose_and_hold)
    return holds


def test_a_request_routed_past_a_leaver_to_the_next_leaving_for_the_taker_does_not_deadlock(
    company, desk, monkeypatch
):
    # Routing's first choice (no open tickets), then the desk's second agent (one); the
    # company's agent handles no refunds.
    company.agent.agent_profile.skills.clear()
    first = UserFactory(username="agent3", role="service_agent", department=company.service)
    AgentProfile.objects.create(user=first).skills.add(desk.refund)
    held = services.ticket_create(
        actor=company.admin,
        customer_id=company.unowned_customer.pk,
        data={"type": "inquiry", "subject": "发票", "category_id": desk.refund.pk},
    )
    Ticket.objects.filter(pk=held.pk).update(assignee=desk.second, owner=desk.second)
    # Created last: a higher id than the second agent, locked after them by the deactivation.
    taker = UserFactory(username="admin2", role="admin")
    assert taker.pk > desk.second.pk
    chosen, chosen_next = _held_after_each_choice(monkeypatch, thread="opening")
    results: dict = {}
    threads = []
    try:
        threads.append(
            in_thread(
                lambda: services.ticket_create(
                    actor=taker,
                    customer_id=company.rep_customer.pk,
                    data={
                        "type": "complaint",
                        "subject": "退款未到账",
                        "category_id": desk.refund.pk,
                    },
                ),
                results,
                "opening",
            )
        )
        assert chosen.reached.wait(30), "the request was never routed"
        # Gone as the request is about to lock them: passed over for the second agent.
        accounts_services.user_deactivate(actor=company.admin, user_id=first.pk)
        chosen.go.set()
        assert chosen_next.reached.wait(30), "the request was never routed again"
        threads.append(
            in_thread(
                lambda: accounts_services.user_deactivate(
                    actor=company.admin, user_id=desk.second.pk, hand_over_to=taker.pk
                ),
                results,
                "deactivation",
            )
        )
        # Holding the second agent, it either goes through or waits for their successor.
        assert wait_until(lambda: "deactivation" in results or waiting_for_a_lock())
        chosen_next.go.set()
    finally:
        chosen.go.set()
        chosen_next.go.set()
        for thread in threads:
            thread.join(30)
    assert results["deactivation"][0] == "ok", results["deactivation"][-1]
    assert results["opening"][0] == "ok", results["opening"][-1]
    ticket = Ticket.objects.get(pk=results["opening"][1].pk)
    assert ticket.assignee_id is None
    assert not User.objects.get(pk=desk.second.pk).is_active
    assert Ticket.objects.get(pk=held.pk).assignee_id == taker.pk
