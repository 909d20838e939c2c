"""Emails that real mailboxes hold and a tidy test message is not: NUL characters, attachment
names longer than a file system takes, bounces without a report, loops and list mail — built
with the standard library's ``email`` package and filed through ``file_inbound_email`` and the
webhook."""

import pytest
from django.core import mail as outbox
from django.test import TestCase

from guanxi.service import mail, services
from guanxi.service.inbound import file_inbound_email
from guanxi.service.models import Ticket, TicketAttachment
from guanxi.service.tests.inbound_mail import DESK, SECRET, URL, email_message, written

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.GUANXI_SERVICE_EMAIL = DESK


message = email_message


def filed(raw: bytes):
    outbox.outbox.clear()
    with TestCase.captureOnCommitCallbacks(execute=True):
        return file_inbound_email(raw)


def test_nul_characters_are_dropped_rather_than_refused_by_the_database(company, desk):
    # PostgreSQL refuses NUL in text: the email would fail on every round of the fetch.
    raw = (
        b"From: =?utf-8?B?546L6Iqz?= <wangfang@example.cn>\r\n"
        b"To: service@guanxi.localhost\r\n"
        b"Subject: =?utf-8?B?5Y+R56Wo?=\x00\r\n"
        b"Message-ID: <nul\x00@example.cn>\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"\r\n"
        b"\xe4\xbd\xa0\xe5\xa5\xbd\x00\xe4\xb8\x96\xe7\x95\x8c\r\n"
    )
    result = filed(raw)
    assert result.action == "created"
    [customer_message] = result.ticket.messages.all()
    assert customer_message.body == "你好世界"
    assert "\x00" not in customer_message.email_message_id
    assert result.ticket.subject == "发票"
    # The same email again is still recognised.
    assert filed(raw).action == "duplicate"


def test_a_nul_in_an_attachments_name_is_dropped(company, desk):
    email = message()
    email.add_attachment(
        b"%PDF-1.4", maintype="application", subtype="pdf", filename="合同\x00.pdf"
    )
    result = filed(email.as_bytes())
    [attachment] = TicketAttachment.objects.filter(ticket=result.ticket)
    assert attachment.filename == "合同.pdf"


def test_an_attachment_with_a_long_chinese_name_is_kept(company, desk):
    # 100 Chinese characters are 300 bytes in UTF-8, more than a file name may have (255).
    name = "二〇二六年第四季度华东区客户服务合同补充协议及附件清单" * 8 + ".pdf"
    email = message()
    email.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename=name)
    result = filed(email.as_bytes())
    assert result.action == "created"
    [attachment] = TicketAttachment.objects.filter(ticket=result.ticket)
    assert attachment.filename == name
    assert attachment.file.name.endswith(".pdf")
    assert attachment.file.read() == b"%PDF-1.4"


@pytest.mark.parametrize(
    ("sender", "headers"),
    [
        # Bounces written as plain text (qmail, some gateways), without Return-Path: <>.
        ("MAILER-DAEMON@mx.example.cn", {}),
        ("Mail Delivery Subsystem <mailer-daemon@googlemail.com>", {}),
        ("postmaster@example.cn", {}),
        # Autoresponders that say so only in Precedence.
        ("wangfang@example.cn", {"Precedence": "auto_reply"}),
        # Our own mail coming back round a loop.
        ("wangfang@example.cn", {"X-Loop": DESK}),
    ],
)
def test_bounces_and_loops_open_no_ticket_and_get_no_answer(company, desk, sender, headers):
    before = written()
    result = filed(
        message(
            sender=sender, subject="Undelivered Mail Returned to Sender", headers=headers
        ).as_bytes()
    )
    assert result.action == "ignored" and result.ticket is None and result.reason
    assert written() == before and outbox.outbox == []


def test_a_person_whose_address_only_starts_like_a_daemon_is_a_person(company, desk):
    result = filed(message(sender="postmaster.li@example.cn").as_bytes())
    assert result.action == "created"


def test_the_webhook_says_why_an_email_was_ignored(client, company, desk, settings, caplog):
    settings.GUANXI_INBOUND_WEBHOOK_SECRET = SECRET
    raw = message(sender="MAILER-DAEMON@mx.example.cn").as_bytes()
    with caplog.at_level("INFO", logger="guanxi.service.inbound"):
        response = client.post(
            URL, raw, content_type="message/rfc822", headers={"X-Guanxi-Webhook-Secret": SECRET}
        )
    assert response.status_code == 200
    answer = response.json()
    assert answer["action"] == "ignored" and answer["ticket"] is None and answer["reason"]
    assert any(answer["reason"] in record.getMessage() for record in caplog.records)


def test_an_autoresponder_that_does_not_say_so_gets_a_few_acknowledgements_not_a_loop(
    company, desk
):
    # Another system's automatic answer without Auto-Submitted and without our token or
    # In-Reply-To: each opens a ticket, whose acknowledgement it answers again.
    sent = 0
    for round_number in range(10):
        result = filed(
            message(
                sender="helpdesk@vendor.example.cn",
                subject=f"Your request #{round_number} was received",
            ).as_bytes()
        )
        assert result.action == "created"
        sent += len(outbox.outbox)
    assert sent == services.ACKNOWLEDGEMENTS_PER_HOUR
    # Someone else is still answered.
    filed(message(sender="lifang@example.cn").as_bytes())
    assert len(outbox.outbox) == 1


@pytest.mark.parametrize(
    "headers",
    [
        {"List-Id": "<service.example.cn>"},
        {"List-Unsubscribe": "<mailto:unsubscribe@example.cn>"},
    ],
)
def test_mail_through_a_list_is_filed_but_not_answered(company, desk, headers):
    # The desk's own address may be a group that adds list headers to every email, so such
    # mail is a request like any other; only the acknowledgement, which would go to the whole
    # list, is held back.
    result = filed(message(headers=headers).as_bytes())
    assert result.action == "created" and result.ticket is not None
    assert outbox.outbox == []
    plain = filed(message(sender="李娜 <lina@example.cn>").as_bytes())
    assert plain.action == "created" and len(outbox.outbox) == 1


def test_an_email_that_fails_after_its_attachments_were_stored_leaves_no_file(
    company, desk, settings, monkeypatch
):
    # A failed email is fetched again and stores its attachments anew; the first copies must
    # not stay behind with nothing pointing to them.
    def note_fails(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(services, "MAX_ATTACHMENT_BYTES", 10)
    monkeypatch.setattr(services, "add_note", note_fails)
    email = message()
    email.add_attachment(b"small", maintype="text", subtype="plain", filename="a.txt")
    email.add_attachment(b"far too large", maintype="text", subtype="plain", filename="b.txt")
    before = written()
    with pytest.raises(RuntimeError):
        filed(email.as_bytes())
    assert written() == before
    assert [p for p in settings.MEDIA_ROOT.rglob("*") if p.is_file()] == []


def test_a_sender_name_in_no_known_charset_is_filed_not_refused_for_ever(company, desk):
    # Raw bytes that are neither UTF-8 nor GB18030 stay lone surrogates in the parsed name,
    # which the customer checks (and PostgreSQL) refuse: the email failed on every attempt.
    raw = (
        b"From: \xff\xfe\x80 <yang@example.cn>\r\n"
        b"To: service@guanxi.localhost\r\n"
        b"Subject: \xff\x80 invoice\r\n"
        b"Message-ID: <\xff@example.cn>\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"\r\n"
        b"Please send the invoice again.\r\n"
    )
    result = filed(raw)
    assert result.action == "created"
    assert result.ticket.customer.name == "\ufffd\ufffd\ufffd"
    assert result.ticket.subject == "\ufffd\ufffd invoice"
    assert filed(raw).action == "duplicate"


def test_the_webhook_logs_why_it_refused_an_email(client, company, desk, settings, caplog):
    settings.GUANXI_INBOUND_WEBHOOK_SECRET = SECRET
    with caplog.at_level("WARNING", logger="guanxi.service.inbound_views"):
        response = client.post(
            URL,
            b"\x00\x01 not an email",
            content_type="message/rfc822",
            headers={"X-Guanxi-Webhook-Secret": SECRET},
        )
    assert response.status_code == 400
    assert any(response.json()["error"] in record.getMessage() for record in caplog.records)


@pytest.mark.django_db(transaction=True)
def test_a_mail_server_that_is_down_does_not_make_a_filed_email_look_failed(
    client, company, desk, settings, caplog, mail_server_down
):
    # The acknowledgement goes out once the ticket is committed. Django's SMTP backend against
    # a port nobody listens on: the request is filed, and the webhook must say so rather than
    # "try again later"; the acknowledgement is marked not sent, for the sweep to try again.
    settings.GUANXI_INBOUND_WEBHOOK_SECRET = SECRET
    with caplog.at_level("ERROR"):
        response = client.post(
            URL,
            message(message_id="<smtp-down@example.cn>").as_bytes(),
            content_type="message/rfc822",
            headers={"X-Guanxi-Webhook-Secret": SECRET},
        )
    assert response.status_code == 200 and response.json()["action"] == "created"
    ticket = Ticket.objects.get(messages__email_message_id="<smtp-down@example.cn>")
    assert response.json()["ticket"] == ticket.number
    assert any("Could not email the customer" in record.getMessage() for record in caplog.records)
    [acknowledgement] = ticket.customer_emails.all()
    assert acknowledgement.not_sent


# Longer than an address may be (254 characters: RFC 5321's 256 for the path, less the angle
# brackets) and than the columns holding one, yet passing Django's check, which allows 320.
TOO_LONG = "a" * 60 + "@" + ".".join(["b" * 60] * 4) + ".com"


@pytest.mark.parametrize("reply", [False, True], ids=["request", "reply to a ticket"])
def test_a_sender_address_too_long_to_store_is_ignored_not_failed_for_ever(company, desk, reply):
    # A reply from it was kept as an unknown sender's note, whose sender PostgreSQL refused as
    # too long for its column: the webhook answered 503 and the mailbox fetch failed on it
    # every round. A request from it was refused as invalid customer data.
    subject = "发票"
    if reply:
        ticket = filed(message(message_id="<first@example.cn>").as_bytes()).ticket
        subject = f"Re: 发票 {mail.ticket_token(ticket.pk)}"
    before = written()
    result = filed(message(sender=TOO_LONG, subject=subject).as_bytes())
    assert (result.action, result.ticket) == ("ignored", None)
    assert TOO_LONG in result.reason
    assert written() == before


def test_an_attachment_named_only_dots_is_kept_under_a_name_of_its_own(company, desk):
    # "." and ".." name no file (Django refuses them as paths): named so, an attachment would
    # make the email fail to be filed on every fetch. Empty, it is left out as empty files are.
    email = message()
    for name, content in [("..", b"%PDF-1.4"), (".", b""), ("..", b"")]:
        email.add_attachment(content, maintype="application", subtype="octet-stream", filename=name)
    result = filed(email.as_bytes())
    assert result.action == "created"
    [attachment] = TicketAttachment.objects.filter(ticket=result.ticket)
    assert attachment.filename == "attachment-2.bin"
    assert attachment.file.read() == b"%PDF-1.4"
