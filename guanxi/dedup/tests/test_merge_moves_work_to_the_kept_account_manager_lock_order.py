"""A merge giving the other customer's open follow-up to the kept customer's account manager,
while that account manager's admin page is being saved. The page locks them and then their
customers; the merge, holding both customers, named them as the follow-up's holder and the
database locked them only as it checked that key: each waited for the other, and the database
broke one off as a deadlock. The merge locks the kept customer's account manager with the other
users, before the customers, so one waits for the other. Real concurrency needs PostgreSQL
(SQLite has one writer at a time).

Giving tickets it moved back to the queue, the merge locked the kept customer's out of sight of
their holder after the other's, which it had moved: a writer locking both in ascending id order,
holding the kept customer's older ticket, waited for the newer one the merge held, while the
merge waited for the older. The merge locks the open tickets of both in ascending id order
before it moves any."""

from django.db import transaction

from guanxi.accounts import services as accounts_services
from guanxi.accounts.tests.service_department import new_ticket
from guanxi.analytics.models import ChurnFollowUp
from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import (
    Hold,
    hold_after_first,
    locking_in_id_order,
    second_waits_for_first,
)
from guanxi.dedup import services as dedup_services
from guanxi.service.models import Ticket

pytestmark = CONCURRENT


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
