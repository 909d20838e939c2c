"""Customers writing to the service desk by email: reading real MIME messages (GBK, HTML only,
attachments, quoted replies), finding the ticket a reply belongs to, ignoring machines, filing
nothing twice — through ``file_inbound_email``, the webhook and ``guanxi service_mail fetch``
against a small IMAP server."""

import base64
import logging
import os
import signal
from email.header import Header
from email.message import EmailMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from io import StringIO

import pytest
from django.core import mail as outbox
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import TestCase

from guanxi.customers.models import Customer, Email
from guanxi.service import inbound, inbound_views, mail, services
from guanxi.service.inbound import file_inbound_email, parse_email, strip_quoted
from guanxi.service.management.commands import service_mail
from guanxi.service.models import Ticket, TicketAttachment, TicketMessage
from guanxi.service.tests.imap_server import ImapServer, Mailbox
from guanxi.service.tests.inbound_mail import DESK, SECRET, URL, email_message, written

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.GUANXI_SERVICE_EMAIL = DESK


def email_bytes(**fields) -> bytes:
    return email_message(**fields).as_bytes()


def desk_reply(company, *, customer=None, body="发票已经寄出。") -> tuple[Ticket, object]:
    """A ticket of the rep's customer (zw@example.com) and the email the desk sent when the agent
    answered it."""
    customer = customer or company.rep_customer
    Email.objects.get_or_create(customer=customer, address="zw@example.com")
    ticket = services.ticket_create(
        actor=company.agent,
        customer_id=customer.pk,
        data={"type": "inquiry", "subject": "发票", "description": "要发票"},
    )
    outbox.outbox.clear()
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.ticket_reply(
            actor=company.agent, ticket_id=ticket.pk, body=body, status="pending_customer"
        )
    [sent] = outbox.outbox
    outbox.outbox.clear()
    return ticket, sent


# --- new requests --------------------------------------------------------------------------------


def test_a_new_customers_email_opens_a_ticket_for_a_new_unowned_customer_and_is_acknowledged(
    company, desk
):
    raw = email_bytes(message_id="<first@example.cn>")
    outbox.outbox.clear()
    with TestCase.captureOnCommitCallbacks(execute=True):
        result = file_inbound_email(raw)
    assert result.action == "created" and result.reason == ""
    ticket = result.ticket
    assert ticket.channel == "email" and ticket.type == "inquiry"
    assert ticket.subject == "发票什么时候开？"
    assert ticket.requester_email == "wangfang@example.cn"
    customer = ticket.customer
    assert customer.name == "王芳" and customer.owner is None
    assert list(customer.emails.values_list("address", flat=True)) == ["wangfang@example.cn"]
    [message] = ticket.messages.all()
    assert message.kind == "customer" and message.email_message_id == "<first@example.cn>"
    assert message.body == "您好，上周的订单还没有收到发票。"
    [ack] = outbox.outbox
    assert ack.to == ["wangfang@example.cn"]
    assert mail.ticket_id_from_subject(ack.subject) == ticket.pk


def test_a_known_customers_complaint_goes_to_their_record(company, desk):
    Email.objects.create(customer=company.rep_customer, address="zw@example.com")
    customers = Customer.objects.count()
    result = file_inbound_email(
        email_bytes(sender="Zhang Wei <ZW@Example.com>", subject="Re: 投诉：退款两周还没到账")
    )
    assert result.action == "created"
    assert result.ticket.customer == company.rep_customer
    assert result.ticket.type == "complaint" and result.ticket.subject == "投诉：退款两周还没到账"
    assert Customer.objects.count() == customers
    # An English complaint, named only in the text, is one too.
    result = file_inbound_email(
        email_bytes(sender="zw@example.com", subject="Order 1234", body="I want to complain.")
    )
    assert result.ticket.type == "complaint"


# --- replies -------------------------------------------------------------------------------------


def test_a_reply_to_the_desks_mail_lands_on_the_ticket_by_its_token(company, desk):
    ticket, sent = desk_reply(company)
    assert Ticket.objects.get(pk=ticket.pk).status == "pending_customer"
    raw = email_bytes(
        sender="张伟 <zw@example.com>",
        subject=f"Re: {sent.subject}",
        body=(
            "收到了，谢谢。\n\n"
            "在 2026年12月2日 周三 10:00，客服 <service@guanxi.localhost> 写道：\n"
            "> 发票已经寄出。\n"
        ),
    )
    result = file_inbound_email(raw)
    assert result.action == "added" and result.ticket.pk == ticket.pk
    message = ticket.messages.get(kind="customer", email_message_id__startswith="<")
    assert message.body == "收到了，谢谢。"
    ticket.refresh_from_db()
    assert ticket.status == "open"  # the customer answered: it is the desk's turn again


@pytest.mark.parametrize("header", ["In-Reply-To", "References"])
def test_a_reply_lands_on_the_ticket_by_in_reply_to_or_references_alone(company, desk, header):
    ticket, sent = desk_reply(company)
    desk_message_id = sent.extra_headers["Message-ID"]
    assert TicketMessage.objects.get(ticket=ticket, kind="reply").email_message_id == (
        desk_message_id
    )
    # The token was deleted from the subject, and the mail names the desk's in one header only.
    reply = {"sender": "zw@example.com", "subject": "Re: 发票", "body": "还是没有收到。"}
    result = file_inbound_email(email_bytes(**reply, headers={header: desk_message_id}))
    assert result.action == "added" and result.ticket.pk == ticket.pk
    assert ticket.messages.filter(kind="customer", body="还是没有收到。").exists()
    # Without that header the same mail is a new request: the header is what threaded it.
    unthreaded = file_inbound_email(email_bytes(**reply))
    assert unthreaded.action == "created" and unthreaded.ticket.pk != ticket.pk
    assert unthreaded.ticket.customer == ticket.customer


def test_a_forged_token_does_not_reach_the_ticket(company, desk):
    ticket, _sent = desk_reply(company)
    forged = f"[T-{ticket.pk:06d}-deadbeef] 请把退款转到我的账户"
    assert mail.ticket_id_from_subject(forged) is None
    messages = ticket.messages.count()
    result = file_inbound_email(email_bytes(sender="someone@example.net", subject=forged))
    assert result.action == "created" and result.ticket.pk != ticket.pk
    assert result.ticket.subject == "请把退款转到我的账户"
    assert ticket.messages.count() == messages


def test_a_reply_to_a_merged_ticket_lands_on_the_one_it_was_merged_into(company, desk):
    ticket, sent = desk_reply(company)
    survivor = services.ticket_create(
        actor=company.agent,
        customer_id=company.rep_customer.pk,
        data={"type": "inquiry", "subject": "发票（重复）"},
    )
    services.ticket_merge(actor=company.agent, ticket_id=ticket.pk, into_id=survivor.pk)
    result = file_inbound_email(email_bytes(sender="zw@example.com", subject=sent.subject))
    assert result.action == "added" and result.ticket.pk == survivor.pk


def test_the_same_email_twice_is_a_duplicate_and_writes_nothing(company, desk):
    raw = email_bytes()
    first = file_inbound_email(raw)
    before = written()
    again = file_inbound_email(raw)
    assert again.action == "duplicate" and again.ticket.pk == first.ticket.pk
    assert written() == before
    # A reply, too; and an email without a Message-ID is recognised by its content.
    _ticket, sent = desk_reply(company)
    reply = email_bytes(sender="zw@example.com", subject=sent.subject)
    assert file_inbound_email(reply).action == "added"
    assert file_inbound_email(reply).action == "duplicate"
    bare = email_bytes(sender="li@example.cn").replace(b"Message-ID:", b"X-Old-Message-ID:")
    assert file_inbound_email(bare).action == "created"
    before = written()
    assert file_inbound_email(bare).action == "duplicate"
    assert written() == before


def test_one_emails_writes_are_one_transaction(company, desk, monkeypatch):
    message = EmailMessage()
    message["From"] = "wangfang@example.cn"
    message["Subject"] = "附件"
    message.set_content("见附件。")
    message.add_attachment(b"data", maintype="application", subtype="pdf", filename="a.pdf")
    raw = message.as_bytes()

    def full_disk(*args):
        raise OSError("No space left on device")

    monkeypatch.setattr(services, "_attach", full_disk)
    before = written()
    with pytest.raises(OSError):
        file_inbound_email(raw)
    assert written() == before  # no customer, ticket or message without its attachment


def test_the_same_email_filed_by_two_workers_at_once_is_a_duplicate(company, desk, monkeypatch):
    raw = email_bytes()
    first = file_inbound_email(raw)
    before = written()
    # The second worker looked before the first had filed it, and inserts after.
    real = inbound._filed_under
    calls = []

    def not_yet(message_id):
        calls.append(message_id)
        return None if len(calls) == 1 else real(message_id)

    monkeypatch.setattr(inbound, "_filed_under", not_yet)
    again = file_inbound_email(raw)
    assert again.action == "duplicate" and again.ticket.pk == first.ticket.pk
    assert written() == before


# --- machines -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sender, headers",
    [
        ("wangfang@example.cn", {"Auto-Submitted": "auto-replied"}),
        ("wangfang@example.cn", {"Auto-Submitted": "auto-generated; type=out-of-office"}),
        ("wangfang@example.cn", {"Precedence": "bulk"}),
        ("wangfang@example.cn", {"Precedence": "list"}),
        ("wangfang@example.cn", {"Precedence": "junk"}),
        ("wangfang@example.cn", {"X-Autoreply": "yes"}),
        ("wangfang@example.cn", {"Return-Path": "<>"}),
        (f"Service <{DESK.upper()}>", {}),
        (None, {}),
        ("undisclosed-recipients:;", {}),
        ("Zhang <zw@localhost-without-domain>", {}),
    ],
)
def test_auto_replies_bulk_mail_our_own_mail_and_no_sender_are_ignored(
    company, desk, sender, headers
):
    before = written()
    outbox.outbox.clear()
    with TestCase.captureOnCommitCallbacks(execute=True):
        result = file_inbound_email(
            email_bytes(sender=sender, subject="Out of office: 发票", headers=headers)
        )
    assert result.action == "ignored" and result.ticket is None and result.reason
    assert written() == before and outbox.outbox == []


def test_an_auto_reply_to_a_ticket_is_ignored_but_auto_submitted_no_is_a_person(company, desk):
    ticket, sent = desk_reply(company)
    messages = ticket.messages.count()
    out_of_office = email_bytes(
        sender="zw@example.com",
        subject=f"自动回复: {sent.subject}",
        body="我正在休假，12月10日回来。",
        headers={"Auto-Submitted": "auto-replied", "In-Reply-To": sent.extra_headers["Message-ID"]},
    )
    assert file_inbound_email(out_of_office).action == "ignored"
    person = email_bytes(
        sender="zw@example.com", subject=sent.subject, headers={"Auto-Submitted": "no"}
    )
    assert file_inbound_email(person).action == "added"
    assert ticket.messages.count() == messages + 1


def test_a_bounce_report_is_ignored(company, desk):
    report = MIMEMultipart("report", report_type="delivery-status")
    report["From"] = "Mail Delivery System <MAILER-DAEMON@example.cn>"
    report["Subject"] = "Undelivered Mail Returned to Sender"
    report.attach(MIMEText("The mail could not be delivered."))
    before = written()
    assert file_inbound_email(report.as_bytes()).action == "ignored"
    assert written() == before


# --- reading -------------------------------------------------------------------------------------


def test_a_gbk_email_is_read(company, desk):
    message = MIMEText("您好：\n我的订单号是 20261202，麻烦查一下。\n张喆", "plain", "gbk")
    message["From"] = Header("张喆", "gbk").encode() + " <zhangzhe@example.cn>"
    message["Subject"] = Header("订单查询（镕）", "gbk")
    message["Message-ID"] = "<gbk@example.cn>"
    raw = message.as_bytes()
    assert "张喆".encode("gbk") not in raw  # the text really is encoded, not UTF-8 in disguise
    result = file_inbound_email(raw)
    assert result.ticket.customer.name == "张喆"
    assert result.ticket.subject == "订单查询（镕）"
    assert result.ticket.messages.get().body == "您好：\n我的订单号是 20261202，麻烦查一下。\n张喆"


def test_gb2312_labels_with_gbk_characters_and_raw_8bit_headers_are_read(company, desk):
    # Common in practice: the mailer says GB2312 and sends GBK (喆 and 镕 are not in GB2312),
    # and puts the sender's name into the header unencoded.
    subject = "=?gb2312?B?" + base64.b64encode("关于朱镕的投诉".encode("gbk")).decode() + "?="
    raw = (
        b"From: "
        + "李喆".encode("gbk")
        + b" <lizhe@example.cn>\r\n"
        + f"Subject: {subject}\r\n".encode()
        + b"Message-ID: <gb2312@example.cn>\r\n"
        + b'Content-Type: text/plain; charset="gb2312"\r\n'
        + b"Content-Transfer-Encoding: 8bit\r\n\r\n"
        + "货到了但是坏了。李喆\r\n".encode("gbk")
    )
    parsed = parse_email(raw)
    assert parsed.sender_name == "李喆" and parsed.sender_address == "lizhe@example.cn"
    assert parsed.subject == "关于朱镕的投诉"
    assert parsed.body == "货到了但是坏了。李喆"
    result = file_inbound_email(raw)
    assert result.ticket.type == "complaint" and result.ticket.customer.name == "李喆"


def test_an_html_only_email_is_reduced_to_its_new_text(company, desk):
    message = EmailMessage()
    message["From"] = "wangfang@example.cn"
    message["Subject"] = "发票"
    message.set_content(
        "<html><head><style>p { color: red }</style></head><body>"
        "<div>您好，</div><div>发票抬头请写&nbsp;<b>上海华瑞贸易</b> &amp; Co.<br>谢谢</div>"
        "<script>alert(1)</script>"
        '<div class="gmail_quote"><div>On Wed, Dec 2, 2026 at 10:00 AM 客服 '
        "&lt;service@guanxi.localhost&gt; wrote:<br></div>"
        "<blockquote><div>请提供发票抬头。</div></blockquote></div>"
        "</body></html>",
        subtype="html",
    )
    result = file_inbound_email(message.as_bytes())
    assert result.ticket.messages.get().body == "您好，\n发票抬头请写 上海华瑞贸易 & Co.\n谢谢"
    assert TicketAttachment.objects.count() == 0  # the HTML is the text, not an attachment


def test_attachments_are_kept_and_an_oversized_one_is_left_out_with_a_note(
    company, desk, monkeypatch
):
    monkeypatch.setattr(services, "MAX_ATTACHMENT_BYTES", 1000)
    message = email_message(
        sender="wangfang@example.cn",
        subject="照片和发票",
        body="附件是发票和照片。",
        message_id="<attachments@example.cn>",
    )
    invoice = b"%PDF-1.4 " + b"x" * 500
    message.add_attachment(invoice, maintype="application", subtype="pdf", filename="发票.pdf")
    photo = b"\xff\xd8" + b"y" * 2000
    message.add_attachment(photo, maintype="image", subtype="jpeg", filename="photo.jpg")
    result = file_inbound_email(message.as_bytes())
    assert result.action == "created"
    customer_message = result.ticket.messages.get(kind="customer")
    assert customer_message.body == "附件是发票和照片。"
    [attachment] = customer_message.attachments.all()
    assert attachment.filename == "发票.pdf" and attachment.content_type == "application/pdf"
    assert attachment.size == len(invoice) and attachment.ticket == result.ticket
    with attachment.file.open("rb") as stored:
        assert stored.read() == invoice
    note = result.ticket.messages.get(kind="note")
    assert "photo.jpg" in note.body and note.author is None
    # A reply with an attachment keeps it on the reply.
    reply = EmailMessage()
    reply["From"] = "wangfang@example.cn"
    reply["Subject"] = "补充"
    reply["In-Reply-To"] = "<attachments@example.cn>"
    reply.set_content("再补一张。")
    reply.add_attachment(b"z" * 10, maintype="text", subtype="plain", filename="清单.txt")
    added = file_inbound_email(reply.as_bytes())
    assert added.action == "added" and added.ticket == result.ticket
    assert added.ticket.messages.get(body="再补一张。").attachments.get().filename == "清单.txt"


@pytest.mark.parametrize(
    "text, new",
    [
        ("好的\n\n> 请提供订单号\n> 谢谢", "好的"),
        ("Thanks!\n\nOn Wed, Dec 2, 2026 Service <\nservice@x.cn> wrote:\n> old", "Thanks!"),
        ("收到\n\n在 2026年12月2日 10:00，客服 写道：\n旧的内容", "收到"),
        ("OK\n\n-----Original Message-----\nFrom: a\nold", "OK"),
        ("好\n\n------------------ 原始邮件 ------------------\n发件人: 客服\n旧", "好"),
        ("行\n\n发件人: 客服 <service@x.cn>\n发送时间: 2026年12月2日\n旧", "行"),
        ("Fine\n________________________________\nFrom: Service\nSent: Wednesday\nold", "Fine"),
        ("Answers inline:\n> Which order?\n1234\n> When?\nMonday", "Answers inline:\n1234\nMonday"),
        # Nothing new above the quote: the whole text is kept rather than nothing.
        ("> only a quote", "> only a quote"),
        ("On Wed, Dec 2, 2026 Service wrote:\n> 旧", "On Wed, Dec 2, 2026 Service wrote:\n> 旧"),
        ("From: my colleague Li\nplease call him", "From: my colleague Li\nplease call him"),
    ],
)  # fmt: skip
def test_the_quoted_conversation_is_cut_but_never_to_nothing(text, new):
    assert strip_quoted(text) == new


def test_unreadable_bytes_are_refused():
    for raw in (b"", b"  \r\n", b"just some words, no headers"):
        with pytest.raises(inbound.UnreadableEmail):
            file_inbound_email(raw)


# --- the webhook -------------------------------------------------------------------------------


def post(client, body, *, secret=SECRET, content_type="message/rfc822"):
    headers = {"X-Guanxi-Webhook-Secret": secret} if secret is not None else {}
    return client.post(URL, data=body, content_type=content_type, headers=headers)


def test_the_webhook_refuses_without_the_right_secret_and_writes_nothing(
    client, company, desk, settings
):
    raw = email_bytes()
    before = written()
    settings.GUANXI_INBOUND_WEBHOOK_SECRET = ""
    assert post(client, raw, secret="").status_code == 403
    assert post(client, raw, secret=None).status_code == 403
    settings.GUANXI_INBOUND_WEBHOOK_SECRET = SECRET
    assert post(client, raw, secret=None).status_code == 403
    assert post(client, raw, secret=SECRET + "x").status_code == 403
    answer = post(client, raw, secret="wrong")
    assert answer.status_code == 403 and answer.json()["error"]
    assert written() == before


def test_the_webhook_files_a_raw_email_and_recognises_it_again(client, company, desk, settings):
    settings.GUANXI_INBOUND_WEBHOOK_SECRET = SECRET
    raw = email_bytes()
    answer = post(client, raw)
    assert answer.status_code == 200
    ticket = Ticket.objects.get()
    assert answer.json() == {"action": "created", "ticket": ticket.number, "reason": ""}
    again = post(client, raw).json()
    assert again["action"] == "duplicate" and again["ticket"] == ticket.number
    ignored = post(client, email_bytes(headers={"Auto-Submitted": "auto-replied"}))
    assert ignored.status_code == 200
    assert ignored.json()["action"] == "ignored" and ignored.json()["ticket"] is None
    assert "Auto-Submitted" in ignored.json()["reason"]
    assert client.get(URL, headers={"X-Guanxi-Webhook-Secret": SECRET}).status_code == 405


def test_the_webhook_takes_the_email_as_a_form_field_or_file(client, company, desk, settings):
    settings.GUANXI_INBOUND_WEBHOOK_SECRET = SECRET
    headers = {"X-Guanxi-Webhook-Secret": SECRET}
    # As a text field, the way several providers post it (the test client sends text as UTF-8).
    as_field = email_bytes(sender="a@example.cn", body="作为表单字段").decode()
    answer = client.post(URL, {"email": as_field, "to": DESK}, headers=headers)
    assert answer.status_code == 200 and answer.json()["action"] == "created"
    as_file = email_bytes(sender="b@example.cn", body="作为文件")
    upload = SimpleUploadedFile("mail.eml", as_file, content_type="message/rfc822")
    answer = client.post(URL, {"email": upload}, headers=headers)
    assert answer.status_code == 200 and answer.json()["action"] == "created"
    assert set(TicketMessage.objects.values_list("body", flat=True)) == {"作为表单字段", "作为文件"}
    answer = client.post(URL, {"mail": as_field}, headers=headers)
    assert answer.status_code == 400 and "email" in answer.json()["error"]


def test_the_webhook_answers_400_for_no_email_and_413_for_too_much(
    client, company, desk, settings, monkeypatch
):
    settings.GUANXI_INBOUND_WEBHOOK_SECRET = SECRET
    before = written()
    empty = post(client, b"")
    assert empty.status_code == 400 and empty.json()["error"] == "The email is empty."
    nonsense = post(client, b"hello, this is not an email")
    assert nonsense.status_code == 400 and "no headers" in nonsense.json()["error"]
    assert post(client, b"{}", content_type="application/json").status_code == 415
    monkeypatch.setattr(inbound_views, "MAX_BODY_BYTES", 2000)
    large = post(client, email_bytes(body="大" * 2000))
    assert large.status_code == 413 and "MB" in large.json()["error"]
    assert written() == before


def test_the_webhook_answers_503_not_500_when_filing_fails(
    client, company, desk, settings, monkeypatch
):
    settings.GUANXI_INBOUND_WEBHOOK_SECRET = SECRET

    def broken(raw):
        raise RuntimeError("database gone")

    monkeypatch.setattr(inbound_views, "file_inbound_email", broken)
    answer = post(client, email_bytes())
    assert answer.status_code == 503 and "try again" in answer.json()["error"]


def test_a_fault_filing_an_email_is_logged_once_with_its_trace(
    client, company, desk, settings, monkeypatch, caplog
):
    """A fault (not a busy database) is logged once, as an error with its trace, by the
    webhook: not a second time by Django for the 503 it answers."""
    settings.GUANXI_INBOUND_WEBHOOK_SECRET = SECRET

    def broken(raw):
        raise RuntimeError("a real fault")

    monkeypatch.setattr(inbound_views, "file_inbound_email", broken)
    with caplog.at_level(logging.INFO):
        answer = post(client, email_bytes())

    assert answer.status_code == 503
    assert answer.json() == {"error": "The email could not be filed now; try again later."}
    assert not answer.has_header("Retry-After")  # not busy: nothing says a second will do
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert [record.getMessage() for record in errors] == ["Filing an inbound email failed"]
    assert errors[0].exc_info[0] is RuntimeError
    assert not [r for r in caplog.records if "Service Unavailable" in r.getMessage()]


# --- the mailbox -------------------------------------------------------------------------------

IMAP_USER = "desk@example.com"
IMAP_PASSWORD = 'imap pass "quoted"'  # a space and quotes: imaplib must quote it right


@pytest.fixture
def imap(monkeypatch):
    monkeypatch.setenv("TEST_IMAP_PASSWORD", IMAP_PASSWORD)
    mailbox = Mailbox(user=IMAP_USER, password=IMAP_PASSWORD)
    with ImapServer(mailbox) as server:
        yield server


def fetch(server, *extra) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(
        "service_mail",
        "fetch",
        "--host",
        "127.0.0.1",
        "--port",
        str(server.port),
        "--user",
        IMAP_USER,
        "--password-env",
        "TEST_IMAP_PASSWORD",
        "--plain",
        *extra,
        stdout=out,
        stderr=err,
    )
    return out.getvalue(), err.getvalue()


def test_fetch_files_the_unseen_messages_and_marks_each_seen_only_after_filing(
    imap, company, desk, monkeypatch
):
    mailbox = imap.mailbox
    ticket, sent = desk_reply(company)
    new = mailbox.add(email_bytes(body="新的问题"))
    reply = mailbox.add(email_bytes(sender="zw@example.com", subject=sent.subject, body="回复"))
    auto = mailbox.add(email_bytes(headers={"Auto-Submitted": "auto-replied"}))
    old = mailbox.add(email_bytes(body="早就处理过的"))
    old.flags.add("\\Seen")
    seen_when_filed = []

    def spy(raw):
        seen_when_filed.append(mailbox.by_raw(raw).seen)
        return file_inbound_email(raw)

    monkeypatch.setattr(service_mail, "file_inbound_email", spy)
    out, err = fetch(imap)
    assert seen_when_filed == [False, False, False]
    assert new.seen and reply.seen and auto.seen
    assert err == ""
    lines = out.splitlines()
    assert lines[0].startswith(f"{new.uid}: created T-")
    assert lines[1] == f"{reply.uid}: added {ticket.number}"
    assert lines[2].startswith(f"{auto.uid}: ignored - (")
    assert lines[3] == "INBOX: 3 message(s): 1 created, 1 added, 0 duplicate, 1 ignored, 0 failed."
    assert not TicketMessage.objects.filter(body="早就处理过的").exists()
    # Read without marking, then marked: never a plain FETCH of the body.
    assert f"UID FETCH {new.uid} (BODY.PEEK[])" in mailbox.commands
    assert mailbox.commands.index(f"UID STORE {new.uid} +FLAGS (\\Seen)") > (
        mailbox.commands.index(f"UID FETCH {new.uid} (BODY.PEEK[])")
    )


def test_a_message_that_fails_is_reported_left_unseen_and_the_others_go_on(
    imap, company, desk, monkeypatch
):
    mailbox = imap.mailbox
    first = mailbox.add(email_bytes(body="第一封"))
    garbage = mailbox.add(b"this is no email at all")
    crashing = mailbox.add(email_bytes(body="会出错的"))
    last = mailbox.add(email_bytes(body="最后一封"))

    def flaky(raw):
        if raw == crashing.raw:
            raise RuntimeError("lost the database")
        return file_inbound_email(raw)

    monkeypatch.setattr(service_mail, "file_inbound_email", flaky)
    with pytest.raises(CommandError) as failed:
        fetch(imap)
    assert failed.value.returncode == 1
    assert first.seen and last.seen
    assert not garbage.seen and not crashing.seen
    assert TicketMessage.objects.filter(body__in=["第一封", "最后一封"]).count() == 2
    # The next round (the database back) files what is left and nothing twice.
    monkeypatch.setattr(service_mail, "file_inbound_email", file_inbound_email)
    with pytest.raises(CommandError):
        fetch(imap)  # the garbage still cannot be filed
    assert crashing.seen and not garbage.seen
    assert TicketMessage.objects.filter(kind="customer").count() == 3


def test_fetching_again_after_a_crash_before_marking_files_nothing_twice(imap, company, desk):
    mailbox = imap.mailbox
    for number in range(3):
        mailbox.add(email_bytes(sender=f"c{number}@example.cn", body=f"第{number}封"))
    fetch(imap)
    before = written()
    for message in mailbox.messages:  # as if the process died before marking them
        message.flags.clear()
    out, _err = fetch(imap)
    assert out.splitlines()[-1].endswith("0 created, 0 added, 3 duplicate, 0 ignored, 0 failed.")
    assert written() == before
    out, _err = fetch(imap)
    assert (
        out.strip() == "INBOX: 0 message(s): 0 created, 0 added, 0 duplicate, 0 ignored, 0 failed."
    )


def test_fetch_takes_at_most_limit_messages_a_round(imap, company, desk):
    for number in range(3):
        imap.mailbox.add(email_bytes(sender=f"c{number}@example.cn"))
    fetch(imap, "--limit", "2")
    assert [m.seen for m in imap.mailbox.messages] == [True, True, False]


def test_fetch_says_what_is_wrong_with_the_login(imap, company, monkeypatch):
    monkeypatch.setenv("TEST_IMAP_PASSWORD", "wrong")
    with pytest.raises(CommandError, match="AUTHENTICATIONFAILED"):
        fetch(imap)
    monkeypatch.delenv("TEST_IMAP_PASSWORD")
    with pytest.raises(CommandError, match="TEST_IMAP_PASSWORD is not set"):
        fetch(imap)
    monkeypatch.setenv("TEST_IMAP_PASSWORD", IMAP_PASSWORD)
    with pytest.raises(CommandError, match="no such folder"):
        fetch(imap, "--folder", "Archive")


def test_fetch_with_an_interval_keeps_going_until_stopped(imap, company, desk, monkeypatch):
    mailbox = imap.mailbox
    mailbox.add(email_bytes(sender="c1@example.cn", body="第一轮"))
    later = email_bytes(sender="c2@example.cn", body="第二轮")
    previous_handler = signal.getsignal(signal.SIGTERM)

    calls = []

    def spy(raw):
        calls.append(raw)
        try:
            return file_inbound_email(raw)
        finally:
            if len(calls) == 1:
                mailbox.add(later)  # arrives after the first round searched
            else:
                os.kill(os.getpid(), signal.SIGTERM)  # as a service manager stops it

    monkeypatch.setattr(service_mail, "file_inbound_email", spy)
    # Between rounds the command drops a stale database connection; here that would be the
    # connection holding the test's transaction.
    monkeypatch.setattr(service_mail, "close_old_connections", lambda: None)
    out, _err = fetch(imap, "--interval", "0.01")
    summaries = [line for line in out.splitlines() if line.startswith("INBOX:")]
    assert summaries == [
        "INBOX: 1 message(s): 1 created, 0 added, 0 duplicate, 0 ignored, 0 failed.",
        "INBOX: 1 message(s): 1 created, 0 added, 0 duplicate, 0 ignored, 0 failed.",
    ]
    assert all(m.seen for m in mailbox.messages)
    assert signal.getsignal(signal.SIGTERM) == previous_handler


def test_messages_that_fail_do_not_use_up_the_limit_of_a_round(imap, company, desk):
    # They stay unseen for the next round; counted against --limit, a few of them at the front
    # of the mailbox would keep every later message out for good.
    mailbox = imap.mailbox
    broken = [mailbox.add(b"this is no email at all") for _ in range(2)]
    first = mailbox.add(email_bytes(sender="a@example.cn", body="第一封"))
    second = mailbox.add(email_bytes(sender="b@example.cn", body="第二封"))
    with pytest.raises(CommandError):
        fetch(imap, "--limit", "1")
    assert first.seen and not second.seen and not any(m.seen for m in broken)
    with pytest.raises(CommandError):
        fetch(imap, "--limit", "1")
    assert second.seen
    assert TicketMessage.objects.filter(body__in=["第一封", "第二封"]).count() == 2
