"""A ticket changed by someone whose sight of its customer ends between the first read and the
lock on the ticket: the customer given to an owner out of their sight, or moved to the recycle
bin. Every change locks the customer before the ticket and asks who may see it and interact
with it once both are locked, so the change is refused as the first read would refuse it now
and nothing is written, rather than made by someone who may no longer open the ticket."""

import pytest
from django.db import connection, transaction
from django.utils import timezone

from guanxi.audit.models import AuditEvent
from guanxi.core.testing.threads import (
    Hold,
    hold_before,
    in_thread,
    second_waits_for_first,
    wait_until,
    waiting_for_a_lock,
)
from guanxi.customers import services as customer_services
from guanxi.customers.models import Customer
from guanxi.service import services
from guanxi.service.models import Ticket


def _reps_ticket(company) -> Ticket:
    ticket = services.ticket_create(
        actor=company.rep,
        customer_id=company.rep_customer.pk,
        data={"type": "inquiry", "subject": "发票什么时候开"},
    )
    AuditEvent.objects.filter(object_type="ticket").delete()
    return ticket


def _changing(company, ticket):
    return lambda: services.ticket_update(
        actor=company.rep,
        ticket_id=ticket.pk,
        expected_version=ticket.version,
        data={"priority": "urgent"},
    )


def _unchanged(ticket):
    assert Ticket.objects.get(pk=ticket.pk).version == ticket.version
    assert not AuditEvent.objects.filter(object_type="ticket").exists()


def _just_before_the_ticket_is_locked(monkeypatch, move):
    """Run ``move`` (in the change's own transaction) once the change has read the ticket and
    asked about its customer as the first read does, just before the ticket is locked."""
    locked = services._locked
    moved = []

    def moving_first(pk):
        if not moved:
            move()
            moved.append(True)
        return locked(pk)

    monkeypatch.setattr(services, "_locked", moving_first)


@pytest.mark.django_db
def test_a_change_after_the_customer_was_given_out_of_the_reps_sight_is_refused(
    company, monkeypatch
):
    ticket = _reps_ticket(company)
    _just_before_the_ticket_is_locked(
        monkeypatch,
        lambda: Customer.objects.filter(pk=company.rep_customer.pk).update(owner=company.rep_west),
    )
    with pytest.raises(Ticket.DoesNotExist):
        _changing(company, ticket)()
    _unchanged(ticket)


@pytest.mark.django_db
def test_a_change_after_the_customer_went_to_the_recycle_bin_is_refused(company, monkeypatch):
    ticket = _reps_ticket(company)
    _just_before_the_ticket_is_locked(
        monkeypatch,
        lambda: Customer.objects.filter(pk=company.rep_customer.pk).update(
            deleted_at=timezone.now()
        ),
    )
    with pytest.raises(Ticket.DoesNotExist):
        services.ticket_set_status(actor=company.agent, ticket_id=ticket.pk, status="resolved")
    _unchanged(ticket)


concurrent = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL"
)


@pytest.mark.django_db(transaction=True)
@concurrent
def test_a_change_waits_for_a_reassignment_of_the_customer_and_is_then_refused(company):
    ticket = _reps_ticket(company)
    reassigning = Hold()
    results: dict = {}

    def move():
        with transaction.atomic():
            list(Customer.objects.select_for_update().filter(pk=company.rep_customer.pk))
            Customer.objects.filter(pk=company.rep_customer.pk).update(owner=company.rep_west)
            reassigning.here()

    mover = in_thread(move, results, "move")
    assert reassigning.reached.wait(30)
    changer = in_thread(_changing(company, ticket), results, "change")
    try:
        assert wait_until(waiting_for_a_lock), "the change did not wait for the customer"
    finally:
        reassigning.go.set()
        mover.join(30)
        changer.join(30)
    assert results["move"][0] == "ok", results["move"]
    assert results["change"][0] == "error", results["change"]
    assert isinstance(results["change"][1], Ticket.DoesNotExist), results["change"][-1]
    _unchanged(ticket)


@pytest.mark.django_db(transaction=True)
@concurrent
def test_a_change_waits_for_the_customers_deletion_and_is_then_refused(company, monkeypatch):
    ticket = _reps_ticket(company)
    # Resolved, as a customer is binned only once its tickets are done; a note may still go on.
    services.ticket_set_status(actor=company.rep, ticket_id=ticket.pk, status="resolved")
    AuditEvent.objects.filter(object_type="ticket").delete()
    # Held with the customer in the recycle bin, not yet committed.
    hold = hold_before(monkeypatch, customer_services, "audit_record", thread="deletion")
    results = second_waits_for_first(
        lambda: customer_services.customer_delete(
            actor=company.admin, customer_id=company.rep_customer.pk
        ),
        lambda: services.ticket_note(actor=company.agent, ticket_id=ticket.pk, body="已回电"),
        hold,
        names=("deletion", "note"),
    )
    assert results["deletion"][0] == "ok", results["deletion"][-1]
    assert results["note"][0] == "error", results["note"]
    assert isinstance(results["note"][1], Ticket.DoesNotExist), results["note"][-1]
    assert not ticket.messages.exists()
    assert not AuditEvent.objects.filter(object_type="ticket").exists()
