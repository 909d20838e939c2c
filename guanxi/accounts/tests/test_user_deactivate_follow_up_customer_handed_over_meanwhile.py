"""A sales rep deactivated while one of their open churn follow-ups (a leftover on a pool
customer) comes to a customer with an account manager between the deactivation's look at who
those customers' account managers are and its lock of the customers. A merge of the pool
customer into another once moved it so, leaving its holder as it was; no service does now (a
merge gives a follow-up it moves to the kept customer's account manager, as every change of
account manager gives the customer's), so the test moves the row itself, standing for a path
that might again. The deactivation gives the follow-up to that account manager, the database
locking them (a key) as the transaction commits, after the customers. A page saving that account
manager, holding them and waiting for their customers, which the deactivation held, deadlocked
with it. The deactivation reads those account managers again once the customers are locked and,
should one be new, lets its locks go and takes them again in order. Real concurrency needs
PostgreSQL (SQLite has one writer at a time)."""

from django.db import transaction

from guanxi.accounts import services as accounts_services
from guanxi.accounts.services import POOL, user_deactivate
from guanxi.analytics import services as analytics_services
from guanxi.analytics.models import ChurnFollowUp
from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import hold_before, in_thread, wait_until, waiting_for_a_lock

pytestmark = CONCURRENT


def test_a_follow_up_customer_given_an_account_manager_before_it_is_locked_does_not_deadlock(
    company, monkeypatch
):
    pool_customer, kept = company.unowned_customer, company.rep_b_customer
    follow_up = ChurnFollowUp.objects.create(
        customer=pool_customer, owner=company.rep, reason="rfm"
    )
    # Held once it has looked at the follow-ups' account managers and locked the users, before
    # it locks the customers; and again before it hands the follow-ups over.
    looked = hold_before(
        monkeypatch, accounts_services, "_follow_ups_customers_lock", thread="deactivation"
    )
    handing = hold_before(
        monkeypatch, analytics_services, "follow_ups_hand_over", thread="deactivation"
    )

    def page():
        # A user's admin page changing the new account manager's team: them, then their
        # customers (``GuanxiUserChangeForm.clean``).
        with transaction.atomic():
            accounts_services.user_edit_lock(user_id=company.rep_b.pk)
            accounts_services.user_customers_lock(user_id=company.rep_b.pk)

    results: dict = {}
    threads = [
        in_thread(
            lambda: user_deactivate(actor=company.admin, user_id=company.rep.pk, hand_over_to=POOL),
            results,
            "deactivation",
        )
    ]
    try:
        assert looked.reached.wait(30), "the deactivation did not get as far as the customers"
        ChurnFollowUp.objects.filter(pk=follow_up.pk).update(customer=kept)
        looked.go.set()
        assert handing.reached.wait(30), "the deactivation did not get as far as the follow-ups"
        threads.append(in_thread(page, results, "page"))
        assert wait_until(waiting_for_a_lock), "the page did not wait for the deactivation"
    finally:
        looked.go.set()
        handing.go.set()
        for thread in threads:
            thread.join(60)
    assert results["deactivation"][0] == "ok", results["deactivation"][-1]
    assert results["page"][0] == "ok", results["page"][-1]
    assert ChurnFollowUp.objects.get(pk=follow_up.pk).owner_id == company.rep_b.pk
