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
The merge now locks the open tickets of both in ascending id order before it moves any.

A merge giving the other customer's open follow-up to the kept customer's account manager,
while that account manager's admin page is being saved. The page locks them and then their
customers; the merge, holding both customers, named them as the follow-up's holder and the
database locked them only as it checked that key: each waited for the other, and the database
broke one off as a deadlock. The merge locks the kept customer's account manager with the other
users, before the customers, so one waits for the other.

Giving tickets it moved back to the queue, the merge locked the kept customer's out of sight of
their holder after the other's, which it had moved: a writer locking both in ascending id order,
holding the kept customer's older ticket, waited for the newer one the merge held, while the
merge waited for the older. The merge locks the open tickets of both in ascending id order
before it moves any."""

from django.db import transaction

from guanxi.accounts import services as accounts_services
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


def test_a_merge_giving_the_moved_follow_up_to_the_kept_account_manager_and_their_page(
    company, monkeypatch
):
    kept, merged = company.rep_b_customer, company.rep_customer
    follow_up = ChurnFollowUp.objects.create(customer=merged, owner=company.rep, reason="rfm")
    # Held once it has locked both customers, before it writes anything.
    hold = hold_after_first(monkeypatch, dedup_services, "_additions", thread="merge")

    def page():
        # A user's admin page changing the kept customer's account manager's team: them, then
        # their customers (``GuanxiUserChangeForm.clean``).
        with transaction.atomic():
            accounts_services.user_edit_lock(user_id=company.rep_b.pk)
            accounts_services.user_customers_lock(user_id=company.rep_b.pk)

    results = second_waits_for_first(
        lambda: dedup_services.customers_merge(
            actor=company.admin, survivor_id=kept.pk, merged_id=merged.pk
        ),
        page,
        hold,
        names=("merge", "page"),
    )
    assert results["merge"][0] == "ok", results["merge"][-1]
    assert results["page"][0] == "ok", results["page"][-1]
    stored = ChurnFollowUp.objects.get(pk=follow_up.pk)
    assert (stored.customer_id, stored.owner_id) == (kept.pk, company.rep_b.pk)


def test_a_merge_releasing_moved_tickets_locks_tickets_in_id_order(company):
    kept, merged = company.rep_b_customer, company.rep_customer
    # Both held by the rep's teammate, who sees the rep's customers through their team and not
    # rep_b's: the kept customer's, older, and the other's, newer, moved by the merge.
    older = new_ticket(kept, assignee=company.teammate, owner=company.teammate)
    newer = new_ticket(merged, assignee=company.teammate, owner=company.teammate)
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
    for ticket in (older, newer):
        stored = Ticket.objects.get(pk=ticket.pk)
        assert (stored.customer_id, stored.assignee_id, stored.owner_id) == (kept.pk, None, None)
