"""One of the desk's people answering the customer from their own mail program ("reply all", so
the desk is copied): the customer has been answered, so the email is that person's reply on the
ticket — seen by the requester, counted as the first or next response, audited — and the desk
sends nothing again. Written to the desk alone it stays their internal note; from a user who
may not work on the ticket, a note saying why."""

import datetime as dt
import hashlib

import pytest
from django.core import mail as outbox
from django.core.exceptions import PermissionDenied
from django.utils import translation

from guanxi.audit.models import AuditEvent
from guanxi.customers.models import Email
from guanxi.service import mail, services, sweep
from guanxi.service.models import Notification, SlaNotification, Ticket, TicketAttachment
from guanxi.service.tests.inbound_mail import DESK
from guanxi.service.tests.test_inbound_unknown_sender import (  # noqa: F401  (its fixture)
    filed,
    media,
    raw_email,
    waiting_ticket,
)

pytestmark = pytest.mark.django_db

REQUESTER = "王芳 <wangfang@example.cn>"
ANSWER = "发票已经开好，今天寄出。"


def new_request() -> tuple[Ticket, str]:
    """王芳's request by email, not answered yet: the ticket and the subject of its
    acknowledgement, which carries the ticket's token."""
    result = filed(
        raw_email(
            sender=REQUESTER,
            subject="发票什么时候开？",
            body="上周的订单还没有收到发票。",
            message_id="<request@example.cn>",
        )
    )
    [acknowledgement] = outbox.outbox
    return Ticket.objects.get(pk=result.ticket.pk), acknowledgement.subject


def from_user(user, subject: str, body: str = ANSWER, *, to: str = DESK, cc: str = "", **extra):
    """``user`` writes into the ticket's thread from their own mail program."""
    return filed(
        raw_email(
            sender=f"{user.label} <{user.email}>",
            to=to,
            cc=cc,
            subject=f"Re: {subject}",
            body=body,
            message_id=f"<{hashlib.sha256(body.encode()).hexdigest()[:20]}@example.com>",
            **extra,
        )
    )


def test_reply_all_with_the_customer_in_cc_is_the_agents_reply_and_first_response(
    company, desk, clock
):
    ticket, subject = new_request()
    due = ticket.first_response_due
    assert due is not None and ticket.first_responded_at is None
    clock.advance(minutes=20)
    audit_rows, notices = AuditEvent.objects.count(), Notification.objects.count()

    result = from_user(company.agent, subject, cc=REQUESTER)

    assert result.action == "added" and result.ticket.pk == ticket.pk
    assert "recorded as their reply, not sent again" in result.reason
    reply = ticket.messages.get(body=ANSWER)
    assert reply.kind == "reply" and reply.is_public and reply.author == company.agent
    assert reply.email_from == company.agent.email and reply.email_copied == ["wangfang@example.cn"]
    after = Ticket.objects.get(pk=ticket.pk)
    assert after.first_responded_at == clock.current and after.first_response_met is True
    assert after.first_response_due is None and after.status == "open"
    assert after.assignee is not None and after.version == ticket.version + 1
    # The customer has it from the agent: no copy of it, no acknowledgement, nothing at all.
    assert outbox.outbox == []
    # Audited as the agent's reply, saying how it came; nobody else holds or watches the
    # ticket, so nobody is told.
    assert AuditEvent.objects.count() == audit_rows + 1
    event = AuditEvent.objects.latest("id")
    assert event.actor == company.agent and event.customer_id == ticket.customer_id
    assert f"replied by email from their own mail program ({company.agent.email})" in (
        event.summary
    )
    assert event.changes["reply"]["after"] == ANSWER
    assert Notification.objects.count() == notices

    # The deadline passes: the ticket was answered, so nothing is late and nobody escalated to.
    clock.current = due + dt.timedelta(minutes=1)
    sweep.sla_sweep()
    assert not SlaNotification.objects.filter(ticket=ticket).exists()

    # The same email read again is recognised.
    assert from_user(company.agent, subject, cc=REQUESTER).action == "duplicate"
    assert ticket.messages.filter(body=ANSWER).count() == 1
    assert AuditEvent.objects.count() == audit_rows + 1


def test_reply_all_answers_the_customers_latest_message_and_her_answer_threads_back(
    company, desk, clock
):
    ticket, subject = waiting_ticket(company)
    clock.advance(minutes=30)
    filed(
        raw_email(
            sender=REQUESTER,
            subject=f"Re: {subject}",
            body="还是没有收到。",
            message_id="<again@example.cn>",
        )
    )
    waiting = Ticket.objects.get(pk=ticket.pk)
    assert waiting.status == "open" and waiting.next_response_due is not None
    clock.advance(minutes=10)

    # Answering her email itself (to her, the desk copied), threaded by In-Reply-To.
    from_user(
        company.agent,
        "发票什么时候开？",
        "抱歉，快递单号是 SF123。",
        to=REQUESTER,
        cc=DESK,
        headers={"In-Reply-To": "<again@example.cn>"},
    )
    after = Ticket.objects.get(pk=ticket.pk)
    assert after.waiting_since is None and after.next_response_due is None
    assert after.status == "open" and outbox.outbox == []
    reply = after.messages.get(body="抱歉，快递单号是 SF123。")
    assert reply.kind == "reply"

    # She answers the agent's email, which the desk knows: her answer lands on the ticket.
    filed(
        raw_email(
            sender=REQUESTER,
            to=company.agent.email,
            cc=DESK,
            subject="Re: Re: 发票什么时候开？",
            body="收到了，谢谢。",
            message_id="<thanks@example.cn>",
            headers={"In-Reply-To": reply.email_message_id},
        )
    )
    assert after.messages.get(body="收到了，谢谢。").kind == "customer"


@pytest.mark.parametrize(
    ("to", "cc"),
    [
        ("王芳 <WangFang@Example.cn>", DESK),  # the requester, whatever the case of her address
        (DESK, "wang.fang@home.example.cn"),  # another address on the customer's record
        (DESK, "Zhao Min <zhaomin@example.cn>"),  # a colleague she copied on her request
    ],
)
def test_whoever_writes_for_the_customer_among_the_recipients_makes_it_a_reply(
    company, desk, to, cc
):
    ticket, subject = waiting_ticket(company, cc="Zhao Min <zhaomin@example.cn>, " + DESK)
    Email.objects.create(customer=ticket.customer, address="wang.fang@home.example.cn")
    from_user(company.agent, subject, to=to, cc=cc)
    assert ticket.messages.get(body=ANSWER).kind == "reply"
    assert outbox.outbox == []


@pytest.mark.parametrize(
    "cc",
    [
        "",  # to the desk alone
        "agent2@example.com",  # and to a colleague
        "liqiang@other.example.com",  # and to someone who does not write for the customer
    ],
)
def test_mail_that_did_not_go_to_the_customer_stays_the_agents_note(company, desk, clock, cc):
    ticket, subject = new_request()
    result = from_user(company.agent, subject, cc=cc)
    assert "kept as their internal note" in result.reason
    note = ticket.messages.get(body=ANSWER)
    assert note.kind == "note" and not note.is_public and note.author == company.agent
    after = Ticket.objects.get(pk=ticket.pk)
    assert after.first_responded_at is None and after.version == ticket.version
    assert outbox.outbox == []


@pytest.mark.parametrize("who", ["rep", "analyst"])  # the customer is not the rep's; analysts read
@pytest.mark.parametrize(
    ("language", "why", "reason"),
    [
        (
            "en",
            "Not recorded as a reply: {name} ({address}) may not work on this ticket. The email "
            "went to the customer too, so the customer has it, but it does not count as an "
            "answer.",
            "sent to the customer by {name} of the desk, who may not work on this ticket: kept "
            "as a note",
        ),
        (
            "zh-hans",
            "未记为回复：{name}（{address}）无权处理此工单。这封邮件也发给了客户，客户已收到，"
            "但不计为答复。",
            "由服务台的 {name} 发给客户，但其无权处理此工单：已存为内部备注",
        ),
    ],
)
def test_a_user_who_may_not_work_on_the_ticket_leaves_a_note_saying_why(
    company, desk, who, language, why, reason
):
    user = getattr(company, who)
    ticket, subject = new_request()
    with pytest.raises((PermissionDenied, Ticket.DoesNotExist)):  # as on the ticket page
        services.ticket_reply(actor=user, ticket_id=ticket.pk, body="-")
    with translation.override(language):
        result = from_user(user, subject, cc=REQUESTER)
    said = {"name": user.label, "address": user.email}
    assert result.reason == reason.format(**said)
    note = ticket.messages.get(body__endswith=ANSWER)
    assert note.kind == "note" and note.is_from_unknown_sender and note.author is None
    assert note.body == f"{why.format(**said)}\n\n{ANSWER}"
    after = Ticket.objects.get(pk=ticket.pk)
    assert after.first_responded_at is None and after.version == ticket.version
    assert outbox.outbox == []


@pytest.mark.parametrize(
    ("language", "how"),
    [
        ("en", "by email from their own mail program (agent@example.com)"),
        ("zh-hans", "通过自己的邮件程序（agent@example.com）发送"),
    ],
)
def test_the_ticket_says_how_the_reply_came_and_the_customer_sees_it(
    client, company, desk, language, how
):
    ticket, subject = new_request()
    from_user(company.agent, subject, cc=REQUESTER)
    client.force_login(company.agent)
    page = client.get(
        f"/service/tickets/{ticket.pk}/", headers={"Accept-Language": language}
    ).content.decode()
    item = page[page.index("message-by-email") :]
    item = item[: item.index("</li>")]
    assert how in item and ANSWER in item
    client.logout()
    status_page = client.get(
        mail.status_url(ticket.pk).removeprefix("http://testserver")
    ).content.decode()
    assert ANSWER in status_page


def test_the_replys_attachments_are_kept_with_it_and_audited(company, desk, monkeypatch):
    ticket, subject = new_request()
    monkeypatch.setattr(services, "MAX_ATTACHMENT_BYTES", 100)
    raw = (
        f"From: {company.agent.email}\r\n"
        f"To: {REQUESTER}\r\n"
        f"Cc: {DESK}\r\n"
        f"Subject: Re: {subject}\r\n"
        "Message-ID: <with-files@example.com>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b"\r\n'
        "\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n发票见附件。\r\n"
        "--b\r\nContent-Type: application/pdf\r\n"
        "Content-Disposition: attachment; filename=invoice.pdf\r\n\r\n%PDF-1.4\r\n"
        "--b\r\nContent-Type: application/pdf\r\n"
        "Content-Disposition: attachment; filename=scan.pdf\r\n\r\n" + "x" * 200 + "\r\n--b--\r\n"
    ).encode("utf-8")
    filed(raw)
    reply = ticket.messages.get(body="发票见附件。")
    [attachment] = TicketAttachment.objects.filter(ticket=ticket)
    assert attachment.message == reply and attachment.uploaded_by == company.agent
    assert attachment.filename == "invoice.pdf"
    event = AuditEvent.objects.filter(changes__has_key="reply").latest("id")
    assert event.changes["attachments"]["after"] == [{"name": "invoice.pdf", "size": 8}]
    # The one too large to keep is named in a note, as for any email.
    [left_out] = ticket.messages.filter(kind="note", body__contains="scan.pdf")
    assert company.agent.email in left_out.body
    assert outbox.outbox == []
