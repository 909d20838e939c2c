"""A gold customer's request routed to their account manager, whose customer is given to a
colleague before the request locks it, while that colleague is deactivated with the first
account manager as their successor. The request locked the first account manager as it was
routed, and routed again kept holding them while it locked the new one: the deactivation,
holding the new one (the lower id) and waiting for their successor, and the request, holding
the successor and waiting for the new one, deadlocked. Routed again, the request lets go of
whom it had locked for the first routing (the savepoint it undoes holds them), so one of the
two waits for the other. Real concurrency needs PostgreSQL (SQLite has one writer at a time)."""

import datetime as dt

from guanxi.accounts import services as accounts_services
from guanxi.core.testing.factories import UserFactory
from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import hold_after_first, in_thread, wait_until, waiting_for_a_lock
from guanxi.customers.models import Customer
from guanxi.service import services
from guanxi.service.models import Ticket

pytestmark = CONCURRENT


def test_a_request_rerouted_while_its_first_account_manager_takes_over_does_not_deadlock(
    company, desk, monkeypatch
):
    from guanxi.analytics.models import AnalyticsRun, CustomerValue

    # Created after the teammate: the higher id, locked second by the deactivation.
    first_owner = UserFactory(
        username="rep_9", role="sales_rep", department=company.east, team=company.team_a
    )
    customer = company.rep_customer
    Customer.objects.filter(pk=customer.pk).update(owner=first_owner)
    run = AnalyticsRun.objects.create(
        as_of=dt.date(2026, 12, 1), status=AnalyticsRun.Status.SUCCEEDED, is_current=True
    )
    CustomerValue.objects.create(run=run, customer=customer, pareto_tier="gold")
    # Held once routed to the account manager as first read, before the customer is locked.
    routed = hold_after_first(monkeypatch, services, "_routed", thread="opening")
    results: dict = {}
    threads = []
    try:
        threads.append(
            in_thread(
                lambda: services.ticket_create(
                    actor=company.admin,
                    customer_id=customer.pk,
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
        assert routed.reached.wait(30), "the request was never routed"
        Customer.objects.filter(pk=customer.pk).update(owner=company.teammate)
        threads.append(
            in_thread(
                lambda: accounts_services.user_deactivate(
                    actor=company.admin, user_id=company.teammate.pk, hand_over_to=first_owner.pk
                ),
                results,
                "deactivation",
            )
        )
        # Holding the teammate, it waits for their successor, whom the request holds.
        assert wait_until(waiting_for_a_lock), "the deactivation did not wait for the request"
        routed.go.set()
    finally:
        routed.go.set()
        for thread in threads:
            thread.join(30)
    assert results["deactivation"][0] == "ok", results["deactivation"][-1]
    assert results["opening"][0] == "ok", results["opening"][-1]
    ticket = Ticket.objects.get(pk=results["opening"][1].pk)
    assert Customer.objects.get(pk=customer.pk).owner_id == first_owner.pk
    assert ticket.assignee_id == first_owner.pk
