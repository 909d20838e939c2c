"""The customer's email to a ticket merged into another while that other is being merged into a
third: the email waits for the merge and is filed on the third, where the conversation goes on.
Real concurrency needs PostgreSQL (SQLite has one writer at a time)."""

from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import hold_before, second_waits_for_first
from guanxi.service import services as desk
from guanxi.service.models import Ticket, TicketMessage

pytestmark = CONCURRENT


def test_an_email_waiting_for_a_merge_of_the_ticket_it_goes_to_follows_it(company, monkeypatch):
    first, second, third = (
        desk.ticket_create(
            actor=company.admin,
            customer_id=company.rep_customer.pk,
            data={"type": "complaint", "subject": subject},
        )
        for subject in ("退款还没到账", "退款还没到账（又问）", "退款还没到账（第三次）")
    )
    desk.ticket_merge(actor=company.admin, ticket_id=first.pk, into_id=second.pk)
    # Held with both tickets locked, before it records anything.
    hold = hold_before(monkeypatch, desk, "_save", thread="ticket merge")
    results = second_waits_for_first(
        lambda: desk.ticket_merge(actor=company.admin, ticket_id=second.pk, into_id=third.pk),
        lambda: desk.customer_message(
            ticket_id=first.pk,
            body="请尽快处理，谢谢。",
            email_message_id="<reply-to-the-first@example.cn>",
            email_from="wangfang@example.cn",
        ),
        hold,
        names=("ticket merge", "email"),
    )
    assert results["ticket merge"][0] == "ok", results["ticket merge"][-1]
    assert results["email"][0] == "ok", results["email"][-1]
    message = TicketMessage.objects.get(email_message_id="<reply-to-the-first@example.cn>")
    assert message.ticket_id == third.pk
    assert Ticket.objects.get(pk=second.pk).merged_into_id == third.pk
