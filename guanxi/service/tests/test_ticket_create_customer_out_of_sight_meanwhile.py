"""A ticket opened by staff for a customer that leaves their sight between the first read and
the lock on the customer: who may open it is asked again once the customer is locked, so it
is refused as the first read would refuse it now, and nothing is written."""

import pytest
from django.db import connection, transaction

from guanxi.audit.models import AuditEvent
from guanxi.core.testing.threads import Hold, in_thread, wait_until, waiting_for_a_lock
from guanxi.customers.models import Customer
from guanxi.service import services
from guanxi.service.models import Ticket
from guanxi.service.services import ticket_create

DATA = {"type": "inquiry", "subject": "发票什么时候开"}


@pytest.mark.django_db
def test_a_customer_given_out_of_the_reps_sight_before_the_lock_is_refused(company, monkeypatch):
    customer = company.rep_customer
    routed = services._routed
    moved = []

    def routed_while_the_customer_moves(ticket, **kwargs):
        # After ticket_create read the customer through the rep's view, before it is locked.
        if not moved:
            Customer.objects.filter(pk=customer.pk).update(owner=company.rep_west)
            moved.append(True)
        return routed(ticket, **kwargs)

    monkeypatch.setattr(services, "_routed", routed_while_the_customer_moves)

    with pytest.raises(Customer.DoesNotExist):
        ticket_create(actor=company.rep, customer_id=customer.pk, data=DATA)
    assert not Ticket.objects.filter(customer=customer).exists()
    assert not AuditEvent.objects.filter(object_type="ticket").exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL")
def test_a_customer_given_away_while_the_ticket_waits_for_its_lock_is_refused(company, monkeypatch):
    customer = company.rep_customer
    # The rep's ticket reads the customer, is routed, and then waits for the customer's lock,
    # held by a reassignment not yet committed when the ticket read it.
    reassigning = Hold()
    results: dict = {}

    def move():
        with transaction.atomic():
            list(Customer.objects.select_for_update().filter(pk=customer.pk))
            Customer.objects.filter(pk=customer.pk).update(owner=company.rep_west)
            reassigning.here()

    mover = in_thread(move, results, "move")
    assert reassigning.reached.wait(30)
    opener = in_thread(
        lambda: ticket_create(actor=company.rep, customer_id=customer.pk, data=DATA),
        results,
        "open",
    )
    try:
        assert wait_until(waiting_for_a_lock), "the ticket did not wait for the customer"
    finally:
        reassigning.go.set()
        mover.join(30)
        opener.join(30)
    assert results["move"][0] == "ok", results["move"]
    assert results["open"][0] == "error", results["open"]
    assert isinstance(results["open"][1], Customer.DoesNotExist), results["open"][-1]
    assert not Ticket.objects.filter(customer=customer).exists()
