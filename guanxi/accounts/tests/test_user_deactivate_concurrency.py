"""Two deactivations at once, one handing over to the other's leaver. Real concurrency needs
PostgreSQL (SQLite has one writer at a time, which serialises them by itself)."""

import threading

import pytest
from django.db import connection, transaction

from guanxi.accounts.models import User
from guanxi.accounts.services import POOL, user_deactivate
from guanxi.core.testing.threads import in_thread, wait_until, waiting_for_a_lock
from guanxi.customers.models import Customer

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL"
    ),
]


def test_handing_over_to_someone_being_deactivated_meanwhile_is_refused(company):
    leaver, successor = company.rep, company.teammate
    deactivated, release = threading.Event(), threading.Event()

    def successor_leaves_and_holds():
        with transaction.atomic():  # the successor is inactive but not yet committed
            user_deactivate(actor=company.admin, user_id=successor.pk, hand_over_to=POOL)
            deactivated.set()
            release.wait(60)

    results: dict = {}
    holder = in_thread(successor_leaves_and_holds, results, "successor")
    assert deactivated.wait(30)
    handing = in_thread(
        lambda: user_deactivate(actor=company.admin, user_id=leaver.pk, hand_over_to=successor.pk),
        results,
        "leaver",
    )
    waited = wait_until(waiting_for_a_lock, seconds=5)
    release.set()
    holder.join(60)
    handing.join(60)
    assert results["successor"][0] == "ok", results["successor"]
    assert waited  # the hand-over waits for the successor's deactivation to end
    outcome = results["leaver"]
    assert outcome[0] == "error" and "hand_over_to" in outcome[1].message_dict, outcome
    assert User.objects.get(pk=leaver.pk).is_active
    assert Customer.objects.get(pk=company.rep_customer.pk).owner_id == leaver.pk
