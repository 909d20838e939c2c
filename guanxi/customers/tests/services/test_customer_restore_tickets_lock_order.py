"""Restoring a customer with open tickets while another writer locks those tickets in ascending
id order (as a team's or a policy's deletion, a deactivation or a merge of tickets does). The
restore gives back to the queue the tickets of holders who lose sight of the customer and has
the service-level sweep look at its open tickets again: both passes lock tickets, and they are
locked together, in ascending id order, before either changes one. Locked pass by pass, the
restore held a newer ticket it gave back while waiting for an older one the other writer held,
which waited for the newer: a deadlock. Real concurrency needs PostgreSQL."""

from django.utils import timezone

from guanxi.accounts.services import user_deactivate
from guanxi.accounts.tests.service_department import new_ticket
from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import Hold, locking_in_id_order, second_waits_for_first
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_restore
from guanxi.service.models import SlaPolicy, Ticket
from guanxi.service.tests.desk import build_desk

pytestmark = CONCURRENT


def test_a_restore_locks_its_tickets_in_id_order_with_other_writers(company):
    build_desk(company)
    customer = company.rep_customer
    Customer.objects.filter(pk=customer.pk).update(deleted_at=timezone.now())
    # The older ticket is the desk's, under a service-level policy; the newer is the rep's,
    # handed to a teammate who sees the customer only through their team's sharing, and who
    # loses sight of it when the restore brings it back to the unowned pool.
    older = new_ticket(customer)
    Ticket.objects.filter(pk=older.pk).update(sla_policy=SlaPolicy.objects.first())
    newer = new_ticket(customer, assignee=company.rep, owner=company.rep)
    user_deactivate(actor=company.admin, user_id=company.rep.pk, hand_over_to=company.teammate.pk)
    assert older.pk < newer.pk
    hold = Hold()

    results = second_waits_for_first(
        locking_in_id_order(Ticket, [older.pk, newer.pk], hold),
        lambda: customer_restore(actor=company.admin, customer_id=customer.pk),
        hold,
        names=("writer", "restore"),
    )

    assert results["writer"][0] == "ok", results["writer"][-1]
    assert results["restore"][0] == "ok", results["restore"][-1]
    newer.refresh_from_db()
    assert (newer.assignee, newer.owner) == (None, None)
    assert Ticket.objects.get(pk=older.pk).sla_check_at is not None
