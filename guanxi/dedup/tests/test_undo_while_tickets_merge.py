"""Undoing a merge of customers while a ticket of the merged one is being merged into a ticket
of the kept one, and merging them while the undo is under way. Real concurrency needs
PostgreSQL (SQLite has one writer at a time)."""

from django.core.exceptions import ValidationError

from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import hold_before, second_waits_for_first
from guanxi.customers.models import Customer
from guanxi.dedup import services as dedup_services
from guanxi.dedup.models import CustomerMerge
from guanxi.dedup.services import customer_merge_undo, customers_merge
from guanxi.dedup.tests.merged_tickets import customers_with_a_ticket_each, ticket_merge_refusal
from guanxi.service import services as desk
from guanxi.service.models import Ticket

pytestmark = CONCURRENT


def test_an_undo_waiting_for_a_ticket_merge_across_the_two_is_refused(company, monkeypatch):
    kept, other, kept_ticket, other_ticket = customers_with_a_ticket_each(company)
    merge = customers_merge(actor=company.admin, survivor_id=kept.pk, merged_id=other.pk)
    # Held with both tickets locked and the conversation moved, before it is recorded.
    hold = hold_before(monkeypatch, desk, "_save", thread="ticket merge")
    results = second_waits_for_first(
        lambda: desk.ticket_merge(
            actor=company.admin, ticket_id=other_ticket.pk, into_id=kept_ticket.pk
        ),
        lambda: customer_merge_undo(actor=company.admin, merge_id=merge.pk),
        hold,
        names=("ticket merge", "undo"),
    )
    assert results["ticket merge"][0] == "ok", results["ticket merge"][-1]
    outcome = results["undo"]
    assert outcome[0] == "error" and isinstance(outcome[1], ValidationError), outcome[-1]
    assert outcome[1].message_dict == {"merge": [ticket_merge_refusal(other_ticket, kept_ticket)]}
    assert CustomerMerge.objects.get(pk=merge.pk).undone_at is None
    assert Customer.objects.get(pk=other.pk).deleted_at is not None
    assert Ticket.objects.get(pk=other_ticket.pk).customer_id == kept.pk


def test_a_ticket_merge_across_the_two_waiting_for_an_undo_is_refused(company, monkeypatch):
    kept, other, kept_ticket, other_ticket = customers_with_a_ticket_each(company)
    merge = customers_merge(actor=company.admin, survivor_id=kept.pk, merged_id=other.pk)
    # Held once it has looked for tickets merged across and found none, before it changes
    # anything: the tickets going back are what it has locked for the ticket merge to wait on.
    hold = hold_before(monkeypatch, dedup_services, "customer_snapshot", thread="undo")
    results = second_waits_for_first(
        lambda: customer_merge_undo(actor=company.admin, merge_id=merge.pk),
        lambda: desk.ticket_merge(
            actor=company.admin, ticket_id=other_ticket.pk, into_id=kept_ticket.pk
        ),
        hold,
        names=("undo", "ticket merge"),
    )
    assert results["undo"][0] == "ok", results["undo"][-1]
    outcome = results["ticket merge"]
    assert outcome[0] == "error" and isinstance(outcome[1], ValidationError), outcome[-1]
    assert outcome[1].message_dict == {
        "into_id": ["Only tickets of the same customer can be merged."]
    }
    assert Ticket.objects.get(pk=other_ticket.pk).customer_id == other.pk
    assert Ticket.objects.get(pk=other_ticket.pk).merged_into_id is None
