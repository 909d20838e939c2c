"""Emails damaged on their way: multipart sections whose boundary is missing or never occurs,
and emails without a Message-ID that the mail server hands out again encoded differently —
written out as the raw bytes mail clients and gateways send, filed through
``file_inbound_email`` and the webhook."""

import base64
import quopri

import pytest
from django.core import mail as outbox

from guanxi.service.models import TicketAttachment
from guanxi.service.tests.inbound_mail import (  # noqa: F401  (media: a fixture)
    DESK,
    SECRET,
    URL,
    filed,
    media,
    written,
)

pytestmark = pytest.mark.django_db


def crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode()


HEADERS = """\
From: =?utf-8?B?546L6Iqz?= <wangfang@example.cn>
To: service@guanxi.localhost
Subject: =?utf-8?B?5Y+R56Wo?=
Date: Wed, 02 Dec 2026 10:00:00 +0800
Message-ID: <{id}@example.cn>
MIME-Version: 1.0
"""

GBK_TEXT = "您好，上周的订单还没有收到发票，请尽快寄给我。"
UNREADABLE = "The text of this email could not be read: the email is malformed."

# --- multipart without a boundary ------------------------------------------------------------


def test_a_multipart_email_without_a_boundary_keeps_its_text(company, desk):
    # Some mail clients label a plain message multipart/mixed and give no boundary: a reader's
    # mail client shows the text, and so must the ticket.
    raw = (
        crlf(HEADERS.format(id="no-boundary"))
        + b"Content-Type: multipart/mixed; charset=gbk\r\n\r\n"
        + GBK_TEXT.encode("gbk")
        + b"\r\n"
    )
    result = filed(raw)
    assert result.action == "created"
    assert result.ticket.description == GBK_TEXT
    [message] = result.ticket.messages.all()
    assert message.body == GBK_TEXT
    assert len(outbox.outbox) == 1  # acknowledged like any request


def test_parts_of_a_multipart_email_whose_boundary_is_missing_are_read_as_parts(company, desk):
    # A gateway dropped the boundary parameter but left the parts: the plain text is the body,
    # the HTML form of it is not kept twice, and the attachment is kept.
    pdf = base64.b64encode(b"%PDF-1.4 contract").decode()
    raw = crlf(
        HEADERS.format(id="lost-boundary") + "Content-Type: multipart/mixed\n"
        "\n"
        "This is a multi-part message in MIME format.\n"
        "--=_outer_7f3a\n"
        'Content-Type: multipart/alternative; boundary="=_inner_7f3a"\n'
        "\n"
        "--=_inner_7f3a\n"
        "Content-Type: text/plain; charset=utf-8\n"
        "Content-Transfer-Encoding: base64\n"
        "\n"
        f"{base64.b64encode('合同附上，请查收。'.encode()).decode()}\n"
        "--=_inner_7f3a\n"
        "Content-Type: text/html; charset=utf-8\n"
        "\n"
        "<p>HTML form</p>\n"
        "--=_inner_7f3a--\n"
        "--=_outer_7f3a\n"
        "Content-Type: application/pdf; name=contract.pdf\n"
        "Content-Disposition: attachment; filename=contract.pdf\n"
        "Content-Transfer-Encoding: base64\n"
        "\n"
        f"{pdf}\n"
        "--=_outer_7f3a--\n"
    )
    result = filed(raw)
    assert result.ticket.description == "合同附上，请查收。"
    [attachment] = TicketAttachment.objects.filter(ticket=result.ticket)
    assert attachment.filename == "contract.pdf"
    assert attachment.file.read() == b"%PDF-1.4 contract"


def test_an_inner_section_without_a_boundary_is_mended_too(company, desk):
    # The outer boundary is fine; the alternative inside it lost its own, and then the text
    # is all in that section.
    raw = (
        crlf(
            HEADERS.format(id="inner-no-boundary")
            + 'Content-Type: multipart/mixed; boundary="outer"\n'
            "\n"
            "--outer\n"
            "Content-Type: multipart/alternative\n"
            "Content-Transfer-Encoding: quoted-printable\n"
            "\n"
        )
        + quopri.encodestring("发票请寄到公司地址。".encode()).replace(b"\n", b"\r\n")
        + b"\r\n--outer--\r\n"
    )
    result = filed(raw)
    assert result.ticket.description == "发票请寄到公司地址。"


def test_a_boundary_that_never_occurs_is_treated_like_a_missing_one(company, desk):
    raw = crlf(
        HEADERS.format(id="wrong-boundary")
        + 'Content-Type: multipart/mixed; boundary="not-in-the-body"\n'
        "\n"
        "Please send the invoice again.\n"
    )
    assert filed(raw).ticket.description == "Please send the invoice again."


def test_a_line_in_the_text_that_looks_like_a_boundary_does_not_eat_the_text(company, desk):
    # Only a "--…" line followed by a Content- header opens a part; a signature like this one
    # stays part of the text.
    raw = crlf(
        HEADERS.format(id="signature") + "Content-Type: multipart/mixed\n"
        "\n"
        "Please send the invoice again.\n"
        "--Zhang Wei\n"
        "Tel: 138 0013 8000\n"
    )
    assert filed(raw).ticket.description == (
        "Please send the invoice again.\n--Zhang Wei\nTel: 138 0013 8000"
    )


def test_an_email_whose_body_cannot_be_read_says_so_on_the_ticket(company, desk):
    empty = crlf(HEADERS.format(id="empty-multipart") + "Content-Type: multipart/mixed\n\n")
    result = filed(empty)
    assert result.action == "created"
    assert result.ticket.description == UNREADABLE
    # Binary data where the parts should be: said on the ticket, and the bytes are kept for
    # whoever wants to look.
    data = bytes(range(256)) * 4
    binary = (
        crlf(HEADERS.format(id="binary-multipart") + "Content-Type: multipart/mixed\n\n") + data
    )
    result = filed(binary)
    assert result.ticket.description == UNREADABLE
    [attachment] = TicketAttachment.objects.filter(ticket=result.ticket)
    assert attachment.file.read() == data


def test_a_reply_without_a_boundary_adds_its_text_to_the_ticket(company, desk):
    first = filed(crlf(HEADERS.format(id="request") + "Content-Type: text/plain\n\nInvoice?\n"))
    [ack] = outbox.outbox
    raw = crlf(
        HEADERS.replace("Subject: =?utf-8?B?5Y+R56Wo?=", f"Subject: Re: {ack.subject}").format(
            id="reply"
        )
        + "Content-Type: multipart/alternative\n\nIt arrived, thank you.\n"
    )
    result = filed(raw)
    assert result.action == "added" and result.ticket.pk == first.ticket.pk
    assert result.ticket.messages.filter(body="It arrived, thank you.").exists()


def test_a_delivery_report_without_a_boundary_is_still_ignored(company, desk):
    before = written()
    raw = crlf(
        HEADERS.format(id="report")
        + "Content-Type: multipart/report; report-type=delivery-status\n"
        "\n"
        "Delivery to the following recipients failed.\n"
    )
    result = filed(raw)
    assert result.action == "ignored" and result.ticket is None
    assert written() == before and outbox.outbox == []


def test_the_webhook_files_an_email_without_a_boundary(client, company, desk, settings):
    settings.GUANXI_INBOUND_WEBHOOK_SECRET = SECRET
    raw = crlf(
        HEADERS.format(id="webhook")
        + "Content-Type: multipart/mixed\n\nPlease send the invoice again.\n"
    )
    response = client.post(
        URL, raw, content_type="message/rfc822", headers={"X-Guanxi-Webhook-Secret": SECRET}
    )
    assert response.status_code == 200 and response.json()["action"] == "created"


# --- emails without a Message-ID -----------------------------------------------------------------

BARE = """\
From: =?utf-8?B?5p2O5aic?= <lina@example.cn>
To: service@guanxi.localhost
Date: {date}
MIME-Version: 1.0
"""
TEXT = "您好：\n订单 1234 的发票还没有收到。  \n谢谢！\n"


def as_8bit(*, date="Wed, 02 Dec 2026 10:00:00 +0800", text=TEXT, sender=None) -> bytes:
    """The email as the sender's mailer wrote it: raw UTF-8 in the subject and the body,
    lines ending in LF."""
    headers = BARE.format(date=date)
    if sender:
        headers = headers.replace("lina@example.cn", sender)
    return (
        headers.encode("ascii")
        + "Subject: 发票还没到\n".encode()
        + b"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
        + text.encode()
    )


def as_base64() -> bytes:
    """The same email as a server handed it out after storing it again: the subject as an
    encoded word, the body in base64, lines ending in CRLF, the Date in another zone."""
    return crlf(
        BARE.format(date="Wed, 2 Dec 2026 02:00:00 +0000")
        + "Subject: =?UTF-8?B?"
        + base64.b64encode("发票还没到".encode()).decode()
        + "?=\n"
        'Content-Type: text/plain; charset="UTF-8"\n'
        "Content-Transfer-Encoding: base64\n"
        "\n" + base64.encodebytes(TEXT.replace("\n", "\r\n").encode()).decode()
    )


def as_quoted_printable() -> bytes:
    """Quoted-printable, which some servers write with the trailing spaces dropped."""
    body = quopri.encodestring("\n".join(line.rstrip() for line in TEXT.split("\n")).encode())
    return crlf(
        BARE.format(date="Wed, 02 Dec 2026 10:00:00 +0800")
        + "Subject: =?utf-8?Q?"
        + quopri.encodestring("发票还没到".encode(), header=True).decode()
        + "?=\n"
        "Content-Type: text/plain; charset=utf-8\n"
        "Content-Transfer-Encoding: quoted-printable\n"
        "\n"
    ) + body.replace(b"\n", b"\r\n")


@pytest.mark.parametrize("again", [as_base64, as_quoted_printable], ids=["base64", "qp"])
def test_an_email_without_a_message_id_read_again_re_encoded_is_a_duplicate(company, desk, again):
    first = filed(as_8bit())
    assert first.action == "created"
    before = written()
    result = filed(again())
    assert result.action == "duplicate" and result.ticket.pk == first.ticket.pk
    assert written() == before and outbox.outbox == []


def test_emails_without_a_message_id_that_differ_are_each_filed(company, desk):
    first = filed(as_8bit())
    later = filed(as_8bit(date="Wed, 02 Dec 2026 10:05:00 +0800"))
    other_text = filed(as_8bit(text="订单 1235 的发票也没有收到。\n"))
    other_sender = filed(as_8bit(sender="lina.wang@example.cn"))
    results = (first, later, other_text, other_sender)
    assert [r.action for r in results] == ["created"] * 4
    assert len({r.ticket.pk for r in results}) == 4
