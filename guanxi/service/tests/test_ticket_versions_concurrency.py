"""A ticket merge arriving while someone else's change to one of the tickets is still being
written: the merge waits for the row lock and compares the versions it was given with the
ticket as committed, so it is refused instead of merging over the change. Real concurrency
needs PostgreSQL (SQLite has one writer at a time)."""

import threading

import pytest
from django.db import connection, transaction

from guanxi.core.testing.threads import in_thread, wait_until, waiting_for_a_lock
from guanxi.service import services
from guanxi.service.models import Ticket

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL"
    ),
]


def _complaint(actor, customer, subject: str) -> Ticket:
    return services.ticket_create(
        actor=actor,
        customer_id=customer.pk,
        data={"type": "complaint", "subject": subject},
    )


def test_a_merge_waiting_for_an_assignment_of_the_kept_ticket_is_refused_once_it_commits(
    company, desk, clock
):
    duplicate = _complaint(company.agent, company.rep_customer, "退款还没到账")
    kept = _complaint(company.agent, company.rep_customer, "又来问退款")
    assigned, release = threading.Event(), threading.Event()

    def assign_and_hold():
        with transaction.atomic():  # the kept ticket is reassigned, not yet committed
            services.ticket_assign(
                actor=company.agent,
                ticket_id=kept.pk,
                assignee_id=desk.second.pk,
                expected_version=kept.version,
            )
            assigned.set()
            release.wait(60)

    def merge_as_read_before():
        return services.ticket_merge(
            actor=company.agent,
            ticket_id=duplicate.pk,
            into_id=kept.pk,
            expected_version=duplicate.version,
            into_version=kept.version,
        )

    results: dict = {}
    holder = in_thread(assign_and_hold, results, "assign")
    assert assigned.wait(30)
    merger = in_thread(merge_as_read_before, results, "merge")
    assert wait_until(waiting_for_a_lock)
    release.set()
    holder.join(60)
    merger.join(60)
    assert results["assign"][0] == "ok", results["assign"]
    outcome = results["merge"]
    assert outcome[0] == "error" and isinstance(outcome[1], services.StaleTicketError), outcome
    assert outcome[1].field == "into_version"
    assert Ticket.objects.get(pk=duplicate.pk).merged_into_id is None
    assert Ticket.objects.get(pk=kept.pk).assignee == desk.second
