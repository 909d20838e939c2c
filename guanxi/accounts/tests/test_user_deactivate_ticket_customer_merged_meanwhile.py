"""A sales rep deactivated, their ticket on a teammate's customer handed to another member of the
team, while that customer is merged into another of the teammate's, and the one it is merged into
is then given to a rep of another team. The deactivation read the customers of the leaver's
tickets before locking them: the merge, under way, moved the ticket to the customer it kept once
the deactivation had read it, and the deactivation, waiting for the merged customer and then
holding it, judged the successor on the kept one, which it did not hold. The reassignment of that
one went ahead, found the ticket still the leaver's and left it alone, and it stayed with a
successor who could no longer open its customer. The deactivation now reads the customers of the
leaver's tickets again once it holds those it read, and locks them again with any new one, so the
reassignment waits for it and finds the ticket the successor's. Real concurrency needs PostgreSQL
(SQLite has one writer at a time)."""

from guanxi.accounts import services as accounts_services
from guanxi.accounts.roles import Role
from guanxi.accounts.services import user_deactivate
from guanxi.accounts.tests.service_department import new_ticket
from guanxi.core.testing.factories import CustomerFactory, UserFactory
from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import hold_before, in_thread, wait_until, waiting_for_a_lock
from guanxi.customers.models import Customer
from guanxi.customers.services import customers_reassign
from guanxi.dedup import services as dedup_services
from guanxi.service.models import Ticket

pytestmark = CONCURRENT


def test_a_ticket_moved_by_a_merge_as_it_is_handed_over_is_put_back(company, monkeypatch):
    third = UserFactory(
        username="third", role=Role.SALES_REP, department=company.east, team=company.team_a
    )
    merged = company.teammate_customer
    kept = CustomerFactory(name="Teammate Customer Kept", owner=company.teammate)
    ticket = new_ticket(merged, assignee=company.rep, owner=company.rep)
    # The merge held with both customers locked and the ticket moved, before its record.
    merge_hold = hold_before(monkeypatch, dedup_services, "audit_record", thread="merge")
    # The deactivation held once the ticket is the successor's, before its audit row.
    deactivation_hold = hold_before(
        monkeypatch, accounts_services, "audit_record", thread="deactivation"
    )
    results: dict = {}
    threads = [
        in_thread(
            lambda: dedup_services.customers_merge(
                actor=company.admin, survivor_id=kept.pk, merged_id=merged.pk
            ),
            results,
            "merge",
        )
    ]
    try:
        assert merge_hold.reached.wait(30), "the merge did not get as far as where it is held"
        threads.append(
            in_thread(
                lambda: user_deactivate(
                    actor=company.admin, user_id=company.rep.pk, hand_over_to=third.pk
                ),
                results,
                "deactivation",
            )
        )
        assert wait_until(waiting_for_a_lock), "the deactivation did not wait for the merge"
        merge_hold.go.set()
        threads[0].join(60)
        assert results["merge"][0] == "ok", results["merge"][-1]
        assert deactivation_hold.reached.wait(30), results.get("deactivation")
        # To a rep of team B, which shares nothing: team A no longer sees the kept customer.
        threads.append(
            in_thread(
                lambda: customers_reassign(
                    actor=company.admin,
                    from_owner_id=company.teammate.pk,
                    to_owner_id=company.rep_b.pk,
                    customer_ids=[kept.pk],
                ),
                results,
                "reassignment",
            )
        )
        assert wait_until(lambda: waiting_for_a_lock() or "reassignment" in results)
    finally:
        merge_hold.go.set()
        deactivation_hold.go.set()
        for thread in threads:
            thread.join(60)
    assert results["deactivation"][0] == "ok", results["deactivation"][-1]
    assert results["reassignment"] == ("ok", 1), results["reassignment"][-1]
    assert Customer.objects.get(pk=kept.pk).owner_id == company.rep_b.pk
    stored = Ticket.objects.get(pk=ticket.pk)
    assert stored.customer_id == kept.pk
    assert (stored.assignee_id, stored.owner_id) == (None, None)
