"""Replies that quote a ticket's token or thread under its mail but come from someone the ticket
does not know: a forwarded email reaches anyone, and its token with it. Only the requester, the
customer's addresses and the people copied on their mail write for the customer; anyone else's
email is kept as an internal note marked as from an unknown sender."""

import pytest
from django.core import mail as outbox
from django.test import TestCase

from guanxi.api.tests.conftest import api_as  # noqa: F401  (the API's fixtures)
from guanxi.audit.models import AuditEvent
from guanxi.customers.models import Email
from guanxi.service import mail, services
from guanxi.service.models import Notification, Ticket, TicketAttachment, TicketMessage
from guanxi.service.tests.inbound_mail import (  # noqa: F401  (media: a fixture)
    DESK,
    SECRET,
    URL,
    filed,
    media,
)

pytestmark = pytest.mark.django_db


def raw_email(
    *,
    sender: str,
    subject: str,
    body: str,
    message_id: str,
    to: str = DESK,
    cc: str = "",
    headers: dict[str, str] | None = None,
) -> bytes:
    headers = [
        f"From: {sender}",
        f"To: {to}",
        *([f"Cc: {cc}"] if cc else []),
        f"Subject: {subject}",
        "Date: Wed, 02 Dec 2026 11:00:00 +0800",
        f"Message-ID: {message_id}",
        *(f"{name}: {value}" for name, value in (headers or {}).items()),
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit",
    ]
    return ("\r\n".join(headers) + "\r\n\r\n" + body.replace("\n", "\r\n")).encode()


def waiting_ticket(company, *, cc: str = "") -> tuple[Ticket, str]:
    """王芳 asks by email (copying ``cc``), the agent answers and waits for her: the ticket and
    the subject of the desk's answer, which carries the token."""
    request = filed(
        raw_email(
            sender="王芳 <wangfang@example.cn>",
            cc=cc,
            subject="发票什么时候开？",
            body="上周的订单还没有收到发票。",
            message_id="<request@example.cn>",
        )
    )
    ticket = request.ticket
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.ticket_reply(
            actor=company.agent, ticket_id=ticket.pk, body="已经寄出。", status="pending_customer"
        )
    [answer] = [m for m in outbox.outbox if m.body == "已经寄出。"]
    outbox.outbox.clear()
    ticket.refresh_from_db()
    return ticket, answer.subject


def test_a_forwarded_reply_from_a_stranger_is_kept_as_a_note_and_changes_nothing(company, desk):
    ticket, subject = waiting_ticket(company)
    assert ticket.status == "pending_customer" and ticket.next_response_due is None
    audit_rows = AuditEvent.objects.count()
    result = filed(
        raw_email(
            sender="Li Qiang <liqiang@other.example.com>",
            subject=f"Fwd: Re: {subject}",
            body="请把退款转到我的账户：6222 0000 0000 0000。",
            message_id="<forwarded@other.example.com>",
        )
    )
    assert result.action == "added" and result.ticket.pk == ticket.pk and result.reason
    note = TicketMessage.objects.get(email_message_id="<forwarded@other.example.com>")
    assert note.kind == "note" and note.is_from_unknown_sender and not note.is_public
    assert note.email_from == "liqiang@other.example.com" and note.author is None
    # It does not speak for the customer: the ticket still waits for her, no clock started,
    # no acknowledgement went anywhere.
    after = Ticket.objects.get(pk=ticket.pk)
    assert after.status == "pending_customer" and after.reopened_count == ticket.reopened_count
    assert after.next_response_due is None and after.waiting_since == ticket.waiting_since
    assert after.version == ticket.version
    assert not ticket.messages.filter(kind="customer", body__contains="6222").exists()
    assert outbox.outbox == []
    # Recorded and told to whoever holds the ticket.
    assert AuditEvent.objects.count() == audit_rows + 1
    assert "liqiang@other.example.com" in AuditEvent.objects.latest("id").summary
    assert Notification.objects.filter(
        user=company.agent, ticket=ticket, text__contains="liqiang@other.example.com"
    ).exists()
    # The same email again is a duplicate.
    again = filed(
        raw_email(
            sender="liqiang@other.example.com",
            subject=f"Fwd: Re: {subject}",
            body="请把退款转到我的账户：6222 0000 0000 0000。",
            message_id="<forwarded@other.example.com>",
        )
    )
    assert again.action == "duplicate"


@pytest.mark.parametrize("header", ["In-Reply-To", "References"])
def test_a_stranger_threading_by_in_reply_to_or_references_alone_is_kept_as_a_note(
    company, desk, header
):
    ticket, _subject = waiting_ticket(company)
    # No token in the subject, and her request named in one header only.
    reply = {"sender": "liqiang@other.example.com", "subject": "Re: 发票什么时候开？"}
    result = filed(
        raw_email(
            **reply,
            body="我也没收到。",
            message_id="<thread@other.example.com>",
            headers={header: "<request@example.cn>"},
        )
    )
    assert result.ticket.pk == ticket.pk
    assert ticket.messages.get(body="我也没收到。").kind == "note"
    assert Ticket.objects.get(pk=ticket.pk).status == "pending_customer"
    # Without that header the same mail is a new request: the header is what threaded it.
    unthreaded = filed(
        raw_email(**reply, body="我也没收到。", message_id="<unthreaded@other.example.com>")
    )
    assert unthreaded.action == "created" and unthreaded.ticket.pk != ticket.pk


def test_a_strangers_attachment_stays_with_the_note(company, desk):
    ticket, subject = waiting_ticket(company)
    raw = (
        "From: liqiang@other.example.com\r\n"
        f"To: {DESK}\r\n"
        f"Subject: Re: {subject}\r\n"
        "Message-ID: <with-file@other.example.com>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b"\r\n'
        "\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n见附件。\r\n"
        "--b\r\nContent-Type: application/pdf\r\n"
        "Content-Disposition: attachment; filename=invoice.pdf\r\n\r\n%PDF-1.4\r\n--b--\r\n"
    ).encode()
    filed(raw)
    [attachment] = TicketAttachment.objects.filter(ticket=ticket)
    assert attachment.message.is_from_unknown_sender


def test_an_oversized_attachment_of_a_stranger_is_not_called_the_customers(
    company, desk, monkeypatch
):
    ticket, subject = waiting_ticket(company)
    monkeypatch.setattr(services, "MAX_ATTACHMENT_BYTES", 100)
    raw = (
        "From: liqiang@other.example.com\r\n"
        f"To: {DESK}\r\n"
        f"Subject: Re: {subject}\r\n"
        "Message-ID: <large-file@other.example.com>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b"\r\n'
        "\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n见附件。\r\n"
        "--b\r\nContent-Type: application/pdf\r\n"
        "Content-Disposition: attachment; filename=scan.pdf\r\n\r\n" + "x" * 200 + "\r\n--b--\r\n"
    ).encode()
    filed(raw)
    [left_out] = ticket.messages.filter(kind="note", body__contains="scan.pdf")
    assert "liqiang@other.example.com" in left_out.body and "customer" not in left_out.body


@pytest.mark.parametrize(
    "sender",
    [
        "王芳 <WangFang@Example.cn>",  # the requester, whatever the case of her address
        "wang.fang@home.example.cn",  # another address on the customer's record
        "Zhao Min <zhaomin@example.cn>",  # a colleague she copied on her request
    ],
)
def test_the_requester_the_customers_addresses_and_those_copied_write_for_the_customer(
    company, desk, sender
):
    ticket, subject = waiting_ticket(company, cc="Zhao Min <zhaomin@example.cn>, " + DESK)
    Email.objects.create(customer=ticket.customer, address="wang.fang@home.example.cn")
    result = filed(
        raw_email(
            sender=sender,
            subject=f"Re: {subject}",
            body="还是没有收到。",
            message_id="<known@example.cn>",
        )
    )
    assert result.action == "added" and result.reason == ""
    message = ticket.messages.get(body="还是没有收到。")
    assert message.kind == "customer"
    assert Ticket.objects.get(pk=ticket.pk).status == "open"  # her turn is over: it reopens


def test_someone_a_stranger_copies_does_not_become_known(company, desk):
    ticket, subject = waiting_ticket(company)
    filed(
        raw_email(
            sender="liqiang@other.example.com",
            cc="accomplice@other.example.com",
            subject=f"Re: {subject}",
            body="转给你。",
            message_id="<stranger@other.example.com>",
        )
    )
    result = filed(
        raw_email(
            sender="accomplice@other.example.com",
            subject=f"Re: {subject}",
            body="我来处理。",
            message_id="<accomplice@other.example.com>",
        )
    )
    assert result.ticket.pk == ticket.pk
    assert ticket.messages.get(body="我来处理。").kind == "note"


def test_the_agents_next_reply_does_not_thread_on_the_strangers_email(company, desk):
    ticket, subject = waiting_ticket(company)
    filed(
        raw_email(
            sender="liqiang@other.example.com",
            subject=f"Re: {subject}",
            body="退款给我。",
            message_id="<stranger@other.example.com>",
        )
    )
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.ticket_reply(actor=company.agent, ticket_id=ticket.pk, body="请提供订单号。")
    [sent] = outbox.outbox
    assert sent.to == ["wangfang@example.cn"]
    assert "stranger@other.example.com" not in sent.extra_headers.get("In-Reply-To", "")


@pytest.mark.parametrize(
    ("language", "banner"),
    [
        ("en", "Email from an unknown sender: liqiang@other.example.com"),
        ("zh-hans", "来自未知发件人的邮件：liqiang@other.example.com"),
    ],
)
def test_the_ticket_page_marks_the_note_and_the_customer_never_sees_it(
    client, company, desk, language, banner
):
    ticket, subject = waiting_ticket(company)
    filed(
        raw_email(
            sender="liqiang@other.example.com",
            subject=f"Re: {subject}",
            body="请把退款转到我的账户。",
            message_id="<stranger@other.example.com>",
        )
    )
    client.force_login(company.agent)
    page = client.get(
        f"/service/tickets/{ticket.pk}/", headers={"Accept-Language": language}
    ).content.decode()
    item = page[page.index("message-unknown-sender") :]
    item = item[: item.index("</li>")]
    assert banner in item
    assert "请把退款转到我的账户。" in item
    assert ticket.customer.name not in item  # not shown as if the customer wrote it
    client.logout()
    status_page = client.get(
        mail.status_url(ticket.pk).removeprefix("http://testserver")
    ).content.decode()
    assert "已经寄出。" in status_page and "请把退款转到我的账户。" not in status_page


def test_the_webhook_says_why_a_reply_became_a_note(client, company, desk, settings):
    settings.GUANXI_INBOUND_WEBHOOK_SECRET = SECRET
    ticket, subject = waiting_ticket(company)
    raw = raw_email(
        sender="liqiang@other.example.com",
        subject=f"Re: {subject}",
        body="退款给我。",
        message_id="<webhook@other.example.com>",
    )
    response = client.post(
        URL, raw, content_type="message/rfc822", headers={"X-Guanxi-Webhook-Secret": SECRET}
    )
    answer = response.json()
    assert response.status_code == 200 and answer["action"] == "added"
    assert answer["ticket"] == ticket.number and answer["reason"]


def test_the_api_says_who_an_email_came_from(company, desk, api_as):  # noqa: F811
    ticket, subject = waiting_ticket(company)
    filed(
        raw_email(
            sender="liqiang@other.example.com",
            subject=f"Re: {subject}",
            body="退款给我。",
            message_id="<api@other.example.com>",
        )
    )
    messages = api_as("agent").get(f"/tickets/{ticket.pk}").json()["messages"]
    senders = [(m["kind"], m["email_from"]) for m in messages]
    assert senders == [
        ("customer", "wangfang@example.cn"),
        ("reply", ""),
        ("note", "liqiang@other.example.com"),
    ]
