"""Programs are told by the name a file is saved under, whatever does not show in it: a
zero-width space or a right-to-left override after ".exe" does not make it a document, and an
email's attachment is named without such characters, as a file uploaded on the ticket page is.
An email whose only attachments are programs is filed all the same, with the note saying so,
and so is one of the desk's own people answering from their mail program with a program."""

import pytest

from guanxi.service import dangerous_files
from guanxi.service.inbound import file_inbound_email
from guanxi.service.models import Ticket, TicketAttachment
from guanxi.service.tests.inbound_mail import (  # noqa: F401  (media: a fixture)
    DESK,
    email_message,
    filed,
    media,
)
from guanxi.service.tests.test_inbound_replies_from_mail_programs import REQUESTER, new_request

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("name", "program"),
    [
        ("invoice.EXE", True),
        ("invoice.exe\u200b", True),  # a zero-width space after it
        ("invoice.exe\u202e", True),  # a right-to-left override after it
        ("invoice\u202efdp.exe", True),  # shown as "invoiceexe.pdf"
        ("invoice.e\u200bxe", True),
        ("setup.exe\u3000", True),  # an ideographic space
        ("invoice.exe\t", True),
        ("a.exe%00.pdf", False),  # opened as a PDF: nothing decodes the %00
        ("install.command", True),  # runs in the Terminal when opened on a Mac
        ("invoice.iso", True),  # a disk image: opened, it shows the program inside unwarned
        ("invoice.IMG", True),
        ("help.chm", True),
        ("share.url", True),
        ("addin.xll", True),
        ("setup.msix", True),
        ("invoices.zip", False),  # archives stay: customers send documents in them
        ("报价单.xlsx\u200b", False),
    ],
)
def test_what_does_not_show_in_a_name_does_not_hide_a_program(name, program):
    assert dangerous_files.is_program(name) is program


def _email(*attachments: tuple[str, bytes]) -> bytes:
    message = email_message(
        sender="wangfang@example.cn",
        subject="发票",
        body="发票见附件。",
        message_id="<only-programs@example.cn>",
    )
    for name, data in attachments:
        message.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return message.as_bytes()


def test_an_email_with_only_programs_is_filed_with_the_note(company, desk):
    result = file_inbound_email(_email(("invoice.exe\u200b", b"MZ\x90\x00"), ("run.js", b"x")))

    ticket = Ticket.objects.get(pk=result.ticket.pk)
    assert result.action == "created" and ticket.description.startswith("发票见附件")
    assert not TicketAttachment.objects.exists()
    [note] = ticket.messages.filter(kind="note")
    assert "programs or scripts" in note.body
    assert "invoice.exe, run.js" in note.body


def test_an_emails_attachment_is_named_without_what_does_not_show(company, desk):
    result = file_inbound_email(_email(("report\u202efdp.zip", b"PK\x03\x04")))

    [attachment] = result.ticket.attachments.all()
    assert attachment.filename == "reportfdp.zip"


def test_a_colleagues_reply_with_a_program_is_filed_without_it(company, desk):
    ticket, subject = new_request()
    raw = (
        f"From: {company.agent.email}\r\n"
        f"To: {REQUESTER}\r\n"
        f"Cc: {DESK}\r\n"
        f"Subject: Re: {subject}\r\n"
        "Message-ID: <reply-with-program@example.com>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b"\r\n'
        "\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n工具见附件。\r\n"
        "--b\r\nContent-Type: application/octet-stream\r\n"
        "Content-Disposition: attachment; filename=tool.exe\r\n\r\nMZ\r\n"
        "--b\r\nContent-Type: application/pdf\r\n"
        "Content-Disposition: attachment; filename=invoice.pdf\r\n\r\n%PDF-1.4\r\n--b--\r\n"
    ).encode()

    result = filed(raw)

    assert "recorded as their reply" in result.reason
    reply = ticket.messages.get(body="工具见附件。")
    assert reply.kind == "reply" and reply.author == company.agent
    assert [a.filename for a in TicketAttachment.objects.filter(ticket=ticket)] == ["invoice.pdf"]
    [note] = ticket.messages.filter(kind="note", body__contains="tool.exe")
    assert company.agent.email in note.body
