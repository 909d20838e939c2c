"""A merge filling the kept customer's empty account manager from the other customer, while that
account manager is being deactivated. The deactivation locks the leaver and then their
customers; the merge, holding both customers, named the leaver as the kept customer's owner and
the database locked them only as it checked that key, at the commit: each waited for the other,
and the database broke one off as a deadlock. The merge now locks the users before the
customers, as every writer does, so one waits for the other, and the deactivation then hands
over the kept customer too, with its follow-up. Real concurrency needs PostgreSQL (SQLite has one
writer at a time).

Giving the kept customer's tickets back to the queue, the merge locked them after the other's,
which it had moved: a writer locking both in ascending id order, holding the kept customer's
older ticket, waited for the newer one the merge held, while the merge waited for the older.
The merge now locks the open tickets of both in ascending id order before it moves any."""

from guanxi.accounts.services import user_deactivate
from guanxi.accounts.tests.service_department import new_ticket
from guanxi.analytics.models import ChurnFollowUp
from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import (
    Hold,
    hold_after_first,
    locking_in_id_order,
    second_waits_for_first,
)
from guanxi.customers.models import Customer
from guanxi.dedup import services as dedup_services
from guanxi.service.models import Ticket

pytestmark = CONCURRENT


def test_a_merge_giving_the_kept_customer_a_leavers_account_and_the_deactivation_wait_in_turn(
    company, monkeypatch
):
    kept, merged = company.unowned_customer, company.rep_customer
    follow_up = ChurnFollowUp.objects.create(customer=kept, owner=company.agent, reason="rfm")
    # Held once it has locked both customers, before it writes anything.
    hold = hold_after_first(monkeypatch, dedup_services, "_additions", thread="merge")
    results = second_waits_for_first(
        lambda: dedup_services.customers_merge(
            actor=company.admin, survivor_id=kept.pk, merged_id=merged.pk
        ),
        lambda: user_deactivate(
            actor=company.admin, user_id=company.rep.pk, hand_over_to=company.teammate.pk
        ),
        hold,
        names=("merge", "deactivation"),
    )
    assert results["merge"][0] == "ok", results["merge"][-1]
    assert results["deactivation"][0] == "ok", results["deactivation"][-1]
    # The merge went first: the kept customer took the rep, and went with their customers.
    assert Customer.objects.get(pk=kept.pk).owner_id == company.teammate.pk
    stored = ChurnFollowUp.objects.get(pk=follow_up.pk)
    assert (stored.owner_id, stored.done_at) == (company.teammate.pk, None)


def test_a_merge_releasing_the_kept_customers_ticket_locks_tickets_in_id_order(company):
    kept, merged = company.unowned_customer, company.rep_customer
    # The kept customer's, older, held by the manager of a department without a service agent,
    # who sees the pool and not the rep's customers; the other's, newer, moved by the merge.
    older = new_ticket(kept, assignee=company.manager_west, owner=company.manager_west)
    newer = new_ticket(merged, assignee=company.rep, owner=company.rep)
    hold = Hold()
    results = second_waits_for_first(
        locking_in_id_order(Ticket, [older.pk, newer.pk], hold),
        lambda: dedup_services.customers_merge(
            actor=company.admin, survivor_id=kept.pk, merged_id=merged.pk
        ),
        hold,
        names=("tickets", "merge"),
    )
    assert results["tickets"][0] == "ok", results["tickets"][-1]
    assert results["merge"][0] == "ok", results["merge"][-1]
    stored = Ticket.objects.get(pk=older.pk)
    assert (stored.assignee_id, stored.owner_id) == (None, None)
    assert Ticket.objects.get(pk=newer.pk).customer_id == kept.pk


def test_an_undo_releasing_the_kept_customers_ticket_locks_tickets_in_id_order(company):
    kept, merged = company.unowned_customer, company.rep_customer
    # The kept customer's, older, held by the rep's teammate, who sees it once the merge gives
    # it the rep; the other's, newer, which the undo takes back.
    older = new_ticket(kept, assignee=company.teammate, owner=company.teammate)
    newer = new_ticket(merged, assignee=company.rep, owner=company.rep)
    merge = dedup_services.customers_merge(
        actor=company.admin, survivor_id=kept.pk, merged_id=merged.pk
    )
    assert Ticket.objects.get(pk=older.pk).assignee_id == company.teammate.pk
    hold = Hold()
    results = second_waits_for_first(
        locking_in_id_order(Ticket, [older.pk, newer.pk], hold),
        lambda: dedup_services.customer_merge_undo(actor=company.admin, merge_id=merge.pk),
        hold,
        names=("tickets", "undo"),
    )
    assert results["tickets"][0] == "ok", results["tickets"][-1]
    assert results["undo"][0] == "ok", results["undo"][-1]
    stored = Ticket.objects.get(pk=older.pk)
    assert (stored.assignee_id, stored.owner_id) == (None, None)
    assert Ticket.objects.get(pk=newer.pk).customer_id == merged.pk
