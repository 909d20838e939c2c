"""A program is known by its first bytes as well as by its name, and a zip archive by the
programs it holds: an invoice.zip holding invoice.exe is how such files most often arrive. An
agent cannot attach one; one arriving by email is left out, the note naming what it holds."""

import io
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from guanxi.service import services
from guanxi.service.inbound import file_inbound_email
from guanxi.service.models import TicketAttachment
from guanxi.service.tests.inbound_mail import email_message, media  # noqa: F401  (a fixture)
from guanxi.service.tests.test_attachment_programs import _ticket

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4 " + b"x" * 100


def _windows_program() -> bytes:
    """The start of a Windows program: "MZ", and where the header says, "PE\\0\\0"."""
    head = bytearray(b"MZ" + b"\0" * 0x7E)
    head[0x3C:0x40] = (0x80).to_bytes(4, "little")
    return bytes(head) + b"PE\0\0" + b"\0" * 200


def _zip(*members: tuple[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members:
            archive.writestr(name, content)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "content", "program"),
    [
        ("invoice.pdf", _windows_program(), "invoice.pdf"),  # a program named as a document
        ("report", b"\x7fELF\x02\x01\x01" + b"\0" * 60, "report"),
        ("tool", b"\xcf\xfa\xed\xfe" + b"\0" * 60, "tool"),  # macOS, 64 bit
        ("places.csv", b"MZ,Manzanillo\nBJ,Beijing\n" + b"x" * 100, None),  # text, not a program
        ("invoice.pdf", PDF, None),
        ("invoice.zip", _zip(("invoice.pdf", PDF), ("setup.exe", b"x")), "invoice.zip: setup.exe"),
        ("invoice.zip", _zip(("scan/", b""), ("scan/page1.pdf", PDF)), None),
        ("invoice.zip", _zip(("readme.txt", _windows_program())), "invoice.zip: readme.txt"),
        (
            "invoice.zip",
            _zip(("inner.zip", _zip(("run.bat", b"@echo off")))),
            "invoice.zip: inner.zip: run.bat",
        ),
        ("invoice.zip", b"PK\x03\x04 not really a zip", None),  # nothing could run from it
    ],
)
def test_what_a_file_holds_says_whether_it_is_a_program(name, content, program):
    assert services.program_in(name, content) == program


def test_an_agent_cannot_attach_a_zip_holding_a_program(company, desk, media):  # noqa: F811
    ticket = _ticket(company)
    archive = SimpleUploadedFile("发票.zip", _zip(("发票.pdf", PDF), ("发票.exe", b"x")))
    with pytest.raises(ValidationError) as refused:
        services.ticket_note(
            actor=company.agent,
            ticket_id=ticket.pk,
            body="见附件",
            files=[SimpleUploadedFile("报价单.pdf", PDF, "application/pdf"), archive],
        )
    assert refused.value.message_dict == {
        "files": [
            "发票.zip holds a program or script (发票.exe), which the desk does not keep; send "
            "the documents in it another way."
        ]
    }
    assert not TicketAttachment.objects.exists()
    assert not [path for path in media.rglob("*") if path.is_file()]


def test_an_agent_may_attach_a_zip_of_documents_and_it_is_stored_whole(
    company,
    desk,
    media,  # noqa: F811
):
    ticket = _ticket(company)
    content = _zip(("发票.pdf", PDF), ("清单.xlsx", b"PK\x05\x06" + b"\0" * 18))
    services.ticket_note(
        actor=company.agent,
        ticket_id=ticket.pk,
        body="见附件",
        files=[SimpleUploadedFile("发票.zip", content, "application/zip")],
    )
    [attachment] = TicketAttachment.objects.all()
    assert attachment.file.read() == content


def test_an_email_leaves_out_a_disguised_program_and_a_zip_holding_one(company, desk):
    message = email_message(
        sender="wangfang@example.cn",
        subject="发票",
        body="发票见附件。",
        message_id="<zipped-program@example.cn>",
    )
    message.add_attachment(PDF, maintype="application", subtype="pdf", filename="发票.pdf")
    message.add_attachment(
        _zip(("发票.exe", b"x")), maintype="application", subtype="zip", filename="发票.zip"
    )
    message.add_attachment(
        _windows_program(), maintype="application", subtype="pdf", filename="扫描件.pdf"
    )

    ticket = file_inbound_email(message.as_bytes()).ticket

    assert [a.filename for a in ticket.attachments.all()] == ["发票.pdf"]
    note = ticket.messages.get(kind="note")
    assert note.body == (
        "The email from wangfang@example.cn had attachments that are programs or scripts, which "
        "the desk does not keep: 发票.zip: 发票.exe, 扫描件.pdf. Do not ask for them; if the "
        "sender meant to send a document, ask for it in another form."
    )
