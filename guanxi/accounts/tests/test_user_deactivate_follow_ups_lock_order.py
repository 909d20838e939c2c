"""A sales rep deactivated while a colleague's customer, on which the rep holds a ticket and
an open churn follow-up (a leftover: the refresh opened it for the rep as the customer was
being given to the colleague), goes to the pool. Moving a customer locks it, then its open
follow-ups, then the tickets on it it releases; the deactivation locks the leaver, their
customers, the tickets it moves and then the leaver's other open follow-ups. Holding the
ticket and waiting for the follow-up, it deadlocked with the reassignment holding the
follow-up and waiting for the ticket. (Handed over before the tickets instead, it deadlocked
with a restore of such a customer to the pool, which releases its tickets and then closes its
follow-ups, as a merge moves its tickets and then its follow-ups.) The
deactivation now locks the customers of the leaver's follow-ups with their own, first, so
either waits for the other. Real concurrency needs PostgreSQL (SQLite has one writer at a
time)."""

from guanxi.accounts.services import POOL, user_deactivate
from guanxi.accounts.tests.service_department import new_ticket
from guanxi.analytics import services as analytics_services
from guanxi.analytics.models import ChurnFollowUp
from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import hold_after_first, second_waits_for_first
from guanxi.customers.services import customers_reassign
from guanxi.service.models import Ticket

pytestmark = CONCURRENT


def test_deactivating_a_rep_and_moving_a_customer_they_hold_a_follow_up_on_wait_in_turn(
    company, monkeypatch
):
    customer = company.teammate_customer
    follow_up = ChurnFollowUp.objects.create(customer=customer, owner=company.rep, reason="rfm")
    ticket = new_ticket(customer, assignee=company.rep, owner=company.rep)
    # Held once it has locked the customer and its follow-ups, before the tickets on it.
    hold = hold_after_first(
        monkeypatch, analytics_services, "follow_ups_follow_customers", thread="reassign"
    )
    results = second_waits_for_first(
        lambda: customers_reassign(
            actor=company.admin,
            from_owner_id=company.teammate.pk,
            to_owner_id=None,
            customer_ids=[customer.pk],
        ),
        lambda: user_deactivate(actor=company.admin, user_id=company.rep.pk, hand_over_to=POOL),
        hold,
        names=("reassign", "deactivation"),
    )
    assert results["reassign"][0] == "ok", results["reassign"][-1]
    assert results["deactivation"][0] == "ok", results["deactivation"][-1]
    # In the pool nobody holds either: the follow-up closed, the ticket back in the queue.
    assert ChurnFollowUp.objects.get(pk=follow_up.pk).done_at is not None
    stored = Ticket.objects.get(pk=ticket.pk)
    assert (stored.assignee_id, stored.owner_id) == (None, None)
