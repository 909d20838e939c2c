"""A program is known by its first bytes as well as by its name, and a zip archive by the
programs it holds: an invoice.zip holding invoice.exe is how such files most often arrive. An
agent cannot attach one; one arriving by email is left out, the note naming what it holds."""

import io
import random
import struct
import time
import zipfile
import zlib

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from guanxi.service import dangerous_files, services
from guanxi.service.inbound import file_inbound_email
from guanxi.service.models import TicketAttachment
from guanxi.service.tests.documents import windows_program, zip_archive
from guanxi.service.tests.inbound_mail import email_message, media  # noqa: F401  (a fixture)
from guanxi.service.tests.test_attachment_programs import _ticket

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4 " + b"x" * 100


def _program_in(name: str, content: bytes) -> str | None:
    """The program a file is or holds, by where it is ("invoice.zip: setup.exe")."""
    danger = dangerous_files.danger_in(name, content)
    assert danger is None or danger.hazard == dangerous_files.Hazard.PROGRAM
    return danger.where if danger else None


def _zip_of_copies(content: bytes, names: list[str]) -> bytes:
    """A zip of entries of these names that are each ``content``, compressed once: a few
    kilobytes may unpack to gigabytes (a "zip bomb"), made without compressing gigabytes here.
    Written by hand, as ``zipfile`` writes no entry without a name."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    packed = compressor.compress(content) + compressor.flush()
    crc = zlib.crc32(content)
    entries, directory = io.BytesIO(), io.BytesIO()
    for name in (n.encode() for n in names):
        offset = entries.tell()
        sizes = (crc, len(packed), len(content), len(name))
        entries.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0, *sizes, 0))
        entries.write(name + packed)
        directory.write(
            struct.pack(
                "<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, *sizes, 0, 0, 0, 0, 0, offset
            )
        )
        directory.write(name)
    listing = directory.getvalue()
    end = struct.pack(
        "<4s4H2LH", b"PK\x05\x06", 0, 0, len(names), len(names), len(listing), entries.tell(), 0
    )
    return entries.getvalue() + listing + end


@pytest.mark.parametrize(
    ("name", "content", "program"),
    [
        ("invoice.pdf", windows_program(), "invoice.pdf"),  # a program named as a document
        ("report", b"\x7fELF\x02\x01\x01" + b"\0" * 60, "report"),
        ("tool", b"\xcf\xfa\xed\xfe" + b"\0" * 60, "tool"),  # macOS, 64 bit
        ("places.csv", b"MZ,Manzanillo\nBJ,Beijing\n" + b"x" * 100, None),  # text, not a program
        ("invoice.pdf", PDF, None),
        (
            "invoice.zip",
            zip_archive(("invoice.pdf", PDF), ("setup.exe", b"x")),
            "invoice.zip: setup.exe",
        ),
        ("invoice.zip", zip_archive(("scan/", b""), ("scan/page1.pdf", PDF)), None),
        ("invoice.zip", zip_archive(("readme.txt", windows_program())), "invoice.zip: readme.txt"),
        (
            "invoice.zip",
            zip_archive(("inner.zip", zip_archive(("run.bat", b"@echo off")))),
            "invoice.zip: inner.zip: run.bat",
        ),
        ("invoice.zip", b"PK\x03\x04 not really a zip", None),  # nothing could run from it
        ("invoice.zip", _zip_of_copies(PDF, [""]), None),  # an entry without a name
    ],
)
def test_what_a_file_holds_says_whether_it_is_a_program(name, content, program):
    assert _program_in(name, content) == program


def test_an_agent_cannot_attach_a_zip_holding_a_program(company, desk, media):  # noqa: F811
    ticket = _ticket(company)
    archive = SimpleUploadedFile("发票.zip", zip_archive(("发票.pdf", PDF), ("发票.exe", b"x")))
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
    content = zip_archive(("发票.pdf", PDF), ("清单.xlsx", b"PK\x05\x06" + b"\0" * 18))
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
        zip_archive(("发票.exe", b"x")), maintype="application", subtype="zip", filename="发票.zip"
    )
    message.add_attachment(
        windows_program(), maintype="application", subtype="pdf", filename="扫描件.pdf"
    )

    ticket = file_inbound_email(message.as_bytes()).ticket

    assert [a.filename for a in ticket.attachments.all()] == ["发票.pdf"]
    note = ticket.messages.get(kind="note")
    assert note.body == (
        "The email from wangfang@example.cn had attachments that are programs or scripts, which "
        "the desk does not keep: 发票.zip: 发票.exe, 扫描件.pdf. Do not ask for them; if the "
        "sender meant to send a document, ask for it in another form."
    )


def _first_entry_damaged(damage: str, second: bytes) -> bytes:
    """A zip of a.txt and b.pdf (holding ``second``) whose first entry is damaged, as a broken
    mailer or someone hiding what follows would leave it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        method = zipfile.ZIP_DEFLATED if damage == "compressed data" else zipfile.ZIP_STORED
        archive.writestr("a.txt", b"hello world", compress_type=method)
        archive.writestr("b.pdf", second)
    content = buffer.getvalue()
    data_at = 30 + len("a.txt")  # after the first entry's header and name
    if damage == "checksum":  # what is stored no longer matches its checksum
        return content.replace(b"hello", b"HELLO", 1)
    if damage == "header name":  # the entry's header names another file than the directory
        return content.replace(b"a.txt", b"c.txt", 1)
    # compressed data that does not decompress (an invalid block type)
    return content[:data_at] + b"\xff" * 4 + content[data_at + 4 :]


@pytest.mark.parametrize("damage", ["checksum", "header name", "compressed data"])
def test_a_damaged_entry_does_not_hide_a_program_after_it(damage):
    assert _program_in("invoice.zip", _first_entry_damaged(damage, PDF)) is None
    archive = _first_entry_damaged(damage, windows_program())
    assert _program_in("invoice.zip", archive) == "invoice.zip: b.pdf"


def test_any_damage_to_a_zip_is_a_file_that_holds_nothing_not_an_error():
    """A zip arrives damaged (cut short, bytes changed on the way): the email is still filed
    and the agent's upload answered, rather than the reading failing with whatever the damaged
    byte made the zip reader raise (a decompression error, a seek before the file's start, a
    name that is not UTF-8)."""
    archive = zip_archive(
        ("a.txt", b"hello world " * 500),
        ("inner.zip", zip_archive(("b.txt", b"x" * 3000))),
        ("c.pdf", PDF),
    )
    damage = random.Random(20261205)
    for _attempt in range(3000):
        damaged = bytearray(archive)
        for _byte in range(damage.randint(1, 4)):
            damaged[damage.randrange(len(damaged))] = damage.randrange(256)
        _program_in("invoice.zip", bytes(damaged))


def test_a_zip_that_unpacks_to_gigabytes_is_looked_through_in_a_moment():
    """Each entry looks like a zip of almost an attachment's size: reading every one in full,
    and those of the zip inside it, would keep an email or an agent's upload waiting for
    minutes, and a larger one for hours. What is unpacked in all is bounded."""
    almost_full = b"PK\x03\x04" + bytes(services.MAX_ATTACHMENT_BYTES - 100)
    parts = [f"part{number}.zip" for number in range(200)]
    bomb = _zip_of_copies(_zip_of_copies(almost_full, parts), parts[:3])
    assert len(bomb) < 100_000
    # Processor time (0.07 s here), which other work on a busy machine does not stretch.
    started = time.process_time()
    assert _program_in("invoice.zip", bomb) is None
    assert time.process_time() - started < 2
