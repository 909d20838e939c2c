"""Merging two customers, or undoing the merge, while the customer's email reply to a ticket
merged into another is filed: each locks the two tickets, and in the same order (by id), so
one waits for the other instead of the database breaking one off as a deadlock. Real
concurrency needs PostgreSQL (SQLite has one writer at a time)."""

from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import hold_after_first, second_waits_for_first
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create
from guanxi.dedup.models import CustomerMerge
from guanxi.dedup.services import customer_merge_undo, customers_merge
from guanxi.service import services as desk
from guanxi.service.models import Ticket, TicketMessage

pytestmark = CONCURRENT

MESSAGE_ID = "<reply-to-the-duplicate@example.cn>"


def _duplicate_merged_into_older(company) -> tuple[Customer, Ticket, Ticket]:
    """A customer of two tickets, the second (the higher id) merged into the first."""
    other = customer_create(actor=company.rep, data={"name": "王芳"})
    older, duplicate = (
        desk.ticket_create(
            actor=company.admin,
            customer_id=other.pk,
            data={"type": "complaint", "subject": subject},
        )
        for subject in ("退款还没到账", "退款还没到账（又问）")
    )
    assert older.pk < duplicate.pk
    desk.ticket_merge(actor=company.admin, ticket_id=duplicate.pk, into_id=older.pk)
    return other, older, duplicate


def _email_to(ticket: Ticket):
    return lambda: desk.customer_message(
        ticket_id=ticket.pk,
        body="请尽快处理，谢谢。",
        email_message_id=MESSAGE_ID,
        email_from="wangfang@example.cn",
    )


def _customers_of(*tickets: Ticket) -> set[int]:
    return set(
        Ticket.objects.filter(pk__in=[t.pk for t in tickets]).values_list("customer_id", flat=True)
    )


def test_an_email_to_a_ticket_merged_into_an_older_one_and_an_undo_wait_for_each_other(
    company, monkeypatch
):
    other, older, duplicate = _duplicate_merged_into_older(company)
    merge = customers_merge(
        actor=company.admin, survivor_id=company.rep_customer.pk, merged_id=other.pk
    )
    # Held once it has locked the first of the two tickets.
    hold = hold_after_first(monkeypatch, desk, "_locked", thread="email")
    results = second_waits_for_first(
        _email_to(duplicate),
        lambda: customer_merge_undo(actor=company.admin, merge_id=merge.pk),
        hold,
        names=("email", "undo"),
    )
    assert results["email"][0] == "ok", results["email"][-1]
    assert results["undo"][0] == "ok", results["undo"][-1]
    assert TicketMessage.objects.get(email_message_id=MESSAGE_ID).ticket_id == older.pk
    assert CustomerMerge.objects.get(pk=merge.pk).undone_at is not None
    assert Customer.objects.get(pk=other.pk).deleted_at is None
    assert _customers_of(older, duplicate) == {other.pk}


def test_an_email_to_a_ticket_merged_into_an_older_one_and_a_merge_wait_for_each_other(
    company, monkeypatch
):
    other, older, duplicate = _duplicate_merged_into_older(company)
    # The older ticket given to someone after the merge: its row, stored anew, comes after the
    # duplicate's in the table, as it does in the index of a customer's tickets (newest first),
    # so that a merge moving the rows as it reads them comes to the duplicate first either way.
    desk.ticket_assign(actor=company.admin, ticket_id=older.pk, assignee_id=company.agent.pk)
    hold = hold_after_first(monkeypatch, desk, "_locked", thread="email")
    results = second_waits_for_first(
        _email_to(duplicate),
        lambda: customers_merge(
            actor=company.admin, survivor_id=company.rep_customer.pk, merged_id=other.pk
        ),
        hold,
        names=("email", "merge"),
    )
    assert results["email"][0] == "ok", results["email"][-1]
    assert results["merge"][0] == "ok", results["merge"][-1]
    assert TicketMessage.objects.get(email_message_id=MESSAGE_ID).ticket_id == older.pk
    assert Customer.objects.get(pk=other.pk).deleted_at is not None
    assert _customers_of(older, duplicate) == {company.rep_customer.pk}
