"""Programs and scripts are not kept as ticket attachments: an agent cannot attach one, and one
arriving by email is left out with a note saying so. An empty file is refused from an agent and
left out of an email, having nothing in it to keep."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from guanxi.service import dangerous_files, services
from guanxi.service.inbound import file_inbound_email
from guanxi.service.models import Ticket, TicketAttachment
from guanxi.service.tests.inbound_mail import email_message, media  # noqa: F401  (a fixture)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("name", "program"),
    [
        ("setup.exe", True),
        ("INVOICE.EXE", True),
        ("invoice.pdf.exe", True),
        ("invoice.exe.", True),  # Windows drops the trailing dot and runs it
        ("invoice.exe ", True),
        ("run.ps1", True),
        ("macro.vbs", True),
        ("invoice.pdf", False),
        ("exe", False),
        ("notes.txt", False),
        ("报价单.xlsx", False),
        ("", False),
    ],
)
def test_which_names_are_programs(name, program):
    assert dangerous_files.is_program(name) is program


def _ticket(company) -> Ticket:
    return services.ticket_create(
        actor=company.agent,
        customer_id=company.rep_customer.pk,
        data={"type": "inquiry", "subject": "发票", "priority": "normal"},
    )


@pytest.mark.parametrize(
    ("upload", "refusal"),
    [
        (
            SimpleUploadedFile("tool.exe", b"MZ\x90\x00", "application/octet-stream"),
            "tool.exe is a program or script, which the desk does not keep; send what it holds "
            "another way.",
        ),
        (SimpleUploadedFile("empty.pdf", b"", "application/pdf"), "empty.pdf is empty."),
    ],
    ids=["program", "empty"],
)
def test_an_agent_cannot_attach_a_program_or_an_empty_file(
    company,
    desk,
    media,  # noqa: F811
    upload,
    refusal,
):
    ticket = _ticket(company)
    fine = SimpleUploadedFile("invoice.pdf", b"%PDF-1.4 x", "application/pdf")
    with pytest.raises(ValidationError) as refused:
        services.ticket_note(
            actor=company.agent, ticket_id=ticket.pk, body="见附件", files=[fine, upload]
        )
    assert refused.value.message_dict == {"files": [refusal]}
    assert not TicketAttachment.objects.exists()
    assert not [path for path in media.rglob("*") if path.is_file()]


def test_an_email_keeps_its_documents_and_leaves_out_programs_and_empty_files(company, desk):
    message = email_message(
        sender="wangfang@example.cn",
        subject="发票",
        body="发票见附件。",
        message_id="<programs@example.cn>",
    )
    invoice = b"%PDF-1.4 " + b"x" * 100
    message.add_attachment(invoice, maintype="application", subtype="pdf", filename="发票.pdf")
    message.add_attachment(
        b"MZ\x90\x00", maintype="application", subtype="octet-stream", filename="发票.pdf.exe"
    )
    message.add_attachment(b"", maintype="text", subtype="plain", filename="blank.txt")

    result = file_inbound_email(message.as_bytes())

    ticket = result.ticket
    assert [a.filename for a in ticket.attachments.all()] == ["发票.pdf"]
    note = ticket.messages.get(kind="note")
    assert note.author is None
    assert note.body == (
        "The email from wangfang@example.cn had attachments that are programs or scripts, which "
        "the desk does not keep: 发票.pdf.exe. Do not ask for them; if the sender meant to send "
        "a document, ask for it in another form."
    )
