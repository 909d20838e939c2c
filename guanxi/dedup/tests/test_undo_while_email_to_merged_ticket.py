"""Undoing a merge of customers while the customer's email reply to a ticket merged into another
is filed: both lock the two tickets, and in the same order (by id), so one waits for the other
instead of the database breaking one off as a deadlock. Real concurrency needs PostgreSQL (SQLite
has one writer at a time)."""

from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import hold_after_first, second_waits_for_first
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create
from guanxi.dedup.models import CustomerMerge
from guanxi.dedup.services import customer_merge_undo, customers_merge
from guanxi.service import services as desk
from guanxi.service.models import Ticket, TicketMessage

pytestmark = CONCURRENT


def test_an_email_to_a_ticket_merged_into_an_older_one_and_an_undo_wait_for_each_other(
    company, monkeypatch
):
    kept = company.rep_customer
    other = customer_create(actor=company.rep, data={"name": "王芳"})
    # The older ticket has the lower id: the duplicate merged into it, the higher.
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
    merge = customers_merge(actor=company.admin, survivor_id=kept.pk, merged_id=other.pk)
    # Held once it has locked the first of the two tickets.
    hold = hold_after_first(monkeypatch, desk, "_locked", thread="email")
    results = second_waits_for_first(
        lambda: desk.customer_message(
            ticket_id=duplicate.pk,
            body="请尽快处理，谢谢。",
            email_message_id="<reply-to-the-duplicate@example.cn>",
            email_from="wangfang@example.cn",
        ),
        lambda: customer_merge_undo(actor=company.admin, merge_id=merge.pk),
        hold,
        names=("email", "undo"),
    )
    assert results["email"][0] == "ok", results["email"][-1]
    assert results["undo"][0] == "ok", results["undo"][-1]
    message = TicketMessage.objects.get(email_message_id="<reply-to-the-duplicate@example.cn>")
    assert message.ticket_id == older.pk
    assert CustomerMerge.objects.get(pk=merge.pk).undone_at is not None
    assert Customer.objects.get(pk=other.pk).deleted_at is None
    assert set(
        Ticket.objects.filter(pk__in=(older.pk, duplicate.pk)).values_list("customer_id", flat=True)
    ) == {other.pk}
