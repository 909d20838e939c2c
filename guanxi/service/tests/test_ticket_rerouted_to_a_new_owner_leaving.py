"""A gold customer's request routed to their account manager, whose customer is given to
someone else before the request locks it, while that new account manager is being
deactivated. Routing goes again for the new owner, and locks them before the customer, as a
deactivation locks the leaver and then the customers they own: locking the new owner with the
customer already held, the request waited for the deactivation while the deactivation,
handing the customer to the pool, waited for the request, and the database broke one of the
two off as a deadlock. Real concurrency needs PostgreSQL (SQLite has one writer at a time)."""

import datetime as dt

from guanxi.accounts import services as accounts_services
from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import (
    hold_after_first,
    hold_before,
    in_thread,
    wait_until,
    waiting_for_a_lock,
)
from guanxi.customers.models import Customer
from guanxi.service import services
from guanxi.service.models import Ticket

pytestmark = CONCURRENT


def test_a_request_rerouted_to_a_new_account_manager_leaving_does_not_deadlock(
    company, desk, monkeypatch
):
    from guanxi.analytics.models import AnalyticsRun, CustomerValue

    run = AnalyticsRun.objects.create(
        as_of=dt.date(2026, 12, 1), status=AnalyticsRun.Status.SUCCEEDED, is_current=True
    )
    CustomerValue.objects.create(run=run, customer=company.rep_customer, pareto_tier="gold")
    # Held once routed to the account manager as first read (the representative), before
    # the customer is locked.
    routed = hold_after_first(monkeypatch, services, "_routed", thread="opening")
    # Held with the new account manager locked, before their customers go to the pool.
    leaving = hold_before(
        monkeypatch, accounts_services, "user_deactivation_problems", thread="deactivation"
    )
    results: dict = {}
    threads = []
    try:
        threads.append(
            in_thread(
                lambda: services.ticket_create(
                    actor=company.admin,
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
        assert routed.reached.wait(30), "the request was never routed"
        Customer.objects.filter(pk=company.rep_customer.pk).update(owner=company.teammate)
        threads.append(
            in_thread(
                lambda: accounts_services.user_deactivate(
                    actor=company.admin, user_id=company.teammate.pk, hand_over_to="pool"
                ),
                results,
                "deactivation",
            )
        )
        assert leaving.reached.wait(30), "the deactivation never locked the leaver"
        routed.go.set()
        assert wait_until(waiting_for_a_lock), "the request did not wait for the deactivation"
    finally:
        routed.go.set()
        leaving.go.set()
        for thread in threads:
            thread.join(30)
    assert results["deactivation"][0] == "ok", results["deactivation"][-1]
    assert results["opening"][0] == "ok", results["opening"][-1]
    ticket = Ticket.objects.get(pk=results["opening"][1].pk)
    assert ticket.assignee_id in (company.agent.pk, desk.second.pk)
    assert ticket.owner_id == ticket.assignee_id
    assert Customer.objects.get(pk=company.rep_customer.pk).owner_id is None
