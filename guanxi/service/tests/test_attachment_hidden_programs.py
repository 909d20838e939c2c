"""Programs hide in files that are not archives: an Office document embedding invoice.exe as a
"Package" object, or whose macros start one, and a PDF embedding setup.exe or launching a
program. A rar or 7z archive, which the desk cannot look into, is not kept either. An agent
cannot attach such a file; one arriving by email is left out, a note saying which and why."""

import time

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from guanxi.service import services
from guanxi.service.dangerous_files import (
    MAX_ATTACHMENT_BYTES,
    UNPACKED_BYTES_LOOKED_AT,
    Danger,
    Hazard,
    danger_in,
)
from guanxi.service.inbound import file_inbound_email
from guanxi.service.models import TicketAttachment
from guanxi.service.tests.documents import (
    PAGES,
    office_document,
    ole,
    packaged_object,
    pdf,
    pdf_stream,
    pdf_with_attachment,
    windows_program,
    zip_archive,
)
from guanxi.service.tests.inbound_mail import email_message, media  # noqa: F401  (a fixture)
from guanxi.service.tests.test_attachment_programs import _ticket

pytestmark = pytest.mark.django_db

EMBEDDED = "word/embeddings/oleObject1.bin"
MACRO_DOCUMENT = office_document(("word/vbaProject.bin", ole(("VBA", None))))
# A launch action written as PDF writers may: the name with an escape (#61 is "a").
LAUNCHING_PDF = pdf(
    b"<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /L#61unch /F (cmd.exe) >> >>", *PAGES
)
RAR = b"Rar!\x1a\x07\x01\x00" + bytes(100)


@pytest.mark.parametrize(
    ("name", "content", "where"),
    [
        pytest.param(
            "报价单.docx",
            office_document((EMBEDDED, packaged_object("invoice.exe", b"x"))),
            f"报价单.docx: {EMBEDDED}: invoice.exe",
            id="packaged program",
        ),
        pytest.param(
            "报价单.docx",
            office_document((EMBEDDED, packaged_object("发票.pdf", windows_program()))),
            f"报价单.docx: {EMBEDDED}: 发票.pdf",
            id="packaged program named as a document",
        ),
        pytest.param(
            "报价单.docx",
            office_document(
                (
                    EMBEDDED,
                    packaged_object("readme.txt", b"x", temporary_path="C:\\Temp\\readme.txt.exe"),
                )
            ),
            f"报价单.docx: {EMBEDDED}: readme.txt.exe",
            id="packaged program run by another name",
        ),
        pytest.param(
            "prices.xlsx",
            office_document(
                ("xl/embeddings/oleObject1.bin", packaged_object("update.js", b"x")),
                folder="xl",
            ),
            "prices.xlsx: xl/embeddings/oleObject1.bin: update.js",
            id="packaged script in a workbook",
        ),
        pytest.param(
            "quotes.zip",
            zip_archive(
                ("报价单.docx", office_document((EMBEDDED, packaged_object("a.exe", b"x"))))
            ),
            f"quotes.zip: 报价单.docx: {EMBEDDED}: a.exe",
            id="zip of a document packaging a program",
        ),
        pytest.param(
            "scan.doc",
            ole(("WordDocument", b"x"), ("ObjectPool", None), ("\x01Ole10Native", b"")),
            None,
            id="old document with an empty package stream",
        ),
    ],
)
def test_a_program_packaged_in_an_office_document_is_found(name, content, where):
    found = danger_in(name, content)
    assert found == (Danger(where, Hazard.PROGRAM) if where else None)


def test_a_document_packaging_a_harmless_file_is_kept():
    notes = office_document((EMBEDDED, packaged_object("备注.txt", "发货时间".encode("gbk"))))
    assert danger_in("报价单.docx", notes) is None
    assert danger_in("报价单.docx", office_document()) is None


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("报价单.docm", MACRO_DOCUMENT),
        ("报价单.docx", MACRO_DOCUMENT),  # renamed: what it holds decides
        ("prices.xlsm", office_document(("xl/macrosheets/sheet1.xml", b"<x/>"), folder="xl")),
        ("report.doc", ole(("WordDocument", b"x"), ("Macros", None))),
        ("prices.xls", ole(("Workbook", b"x"), ("_VBA_PROJECT_CUR", None))),
    ],
)
def test_an_office_document_with_macros_is_found(name, content):
    assert danger_in(name, content) == Danger(name, Hazard.MACROS)


def test_a_document_with_macros_in_a_zip_is_named_by_where_it_is():
    archive = zip_archive(("notes.txt", b"hello"), ("报价单.docm", MACRO_DOCUMENT))
    assert danger_in("quotes.zip", archive) == Danger("quotes.zip: 报价单.docm", Hazard.MACROS)
    # A file of that name in a zip that is not an Office document is only a file.
    assert danger_in("backup.zip", zip_archive(("vbaProject.bin", b"x"))) is None


SETUP_IN_UTF16 = b"<FEFF00730065007400750070002E006500780065>"  # "setup.exe" as a hex string


@pytest.mark.parametrize(
    ("content", "where"),
    [
        pytest.param(pdf_with_attachment(b"(setup.exe)", b"x"), "手册.pdf: setup.exe", id="name"),
        pytest.param(
            pdf_with_attachment(b"(notes.txt)", windows_program(), compressed=True),
            "手册.pdf: notes.txt",
            id="content",
        ),
        pytest.param(
            pdf_with_attachment(SETUP_IN_UTF16, b"x", packed=(1, 2, 3, 4)),
            "手册.pdf: setup.exe",
            id="in a compressed object stream",
        ),
        pytest.param(
            pdf_with_attachment(b"(drivers.zip)", zip_archive(("install.bat", b"@echo off"))),
            "手册.pdf: drivers.zip: install.bat",
            id="zip holding a program",
        ),
        pytest.param(
            pdf(
                b"<< /Type /Catalog /Pages 2 0 R >>",
                PAGES[0],
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Annots [<< /Type /Annot"
                b" /Subtype /FileAttachment /Rect [0 0 10 10] /FS << /Type /Filespec"
                b" /F (tool.scr) /EF << /F 4 0 R >> >> >>] >>",
                pdf_stream(b"/Type /EmbeddedFile", b"x"),
            ),
            "手册.pdf: tool.scr",
            id="attached to a page",
        ),
    ],
)
def test_a_program_embedded_in_a_pdf_is_found(content, where):
    assert danger_in("手册.pdf", content) == Danger(where, Hazard.PROGRAM)


def test_a_file_too_large_to_unpack_does_not_hide_a_program_embedded_after_it():
    too_large = pdf_stream(b"/Type /EmbeddedFile", bytes(MAX_ATTACHMENT_BYTES + 1), compressed=True)
    content = pdf(
        b"<< /Type /Catalog /Pages 2 0 R >>",
        *PAGES,
        b"<< /Type /Filespec /F (data.bin) /EF << /F 5 0 R >> >>",
        too_large,
        b"<< /Type /Filespec /F (notes.txt) /EF << /F 7 0 R >> >>",
        pdf_stream(b"/Type /EmbeddedFile", windows_program()),
    )
    assert danger_in("手册.pdf", content) == Danger("手册.pdf: notes.txt", Hazard.PROGRAM)


def test_a_pdf_with_a_harmless_attachment_is_kept():
    assert danger_in("手册.pdf", pdf_with_attachment(b"(prices.csv)", b"a,b\n1,2\n")) is None
    assert danger_in("手册.pdf", pdf(b"<< /Type /Catalog /Pages 2 0 R >>", *PAGES)) is None


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(LAUNCHING_PDF, id="opening the document"),
        pytest.param(
            pdf(
                b"<< /Type /Catalog /Pages 2 0 R >>",
                PAGES[0],
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Annots [<< /Type /Annot"
                b" /Subtype /Link /Rect [0 0 10 10] /A << /S /Launch /Win << /F (cmd.exe) >> >>"
                b" >>] >>",
                packed=(1, 2, 3),
            ),
            id="a link, in a compressed object stream",
        ),
    ],
)
def test_a_pdf_launching_a_program_is_found(content):
    assert danger_in("手册.pdf", content) == Danger("手册.pdf", Hazard.LAUNCH_ACTION)


def test_a_launch_action_among_many_objects_is_found_in_a_moment():
    """Reading every object of a PDF takes pypdf a tenth of a millisecond each: a PDF of many
    objects, packed in an object stream, would keep an email or an agent's upload waiting.
    Only the objects written with a key a danger needs are read."""
    notes = [
        b"<< /Type /Annot /Subtype /Text /Rect [0 0 10 10] /Contents (note %d) /P 3 0 R >>" % n
        for n in range(60_000)
    ]
    launch = b"<< /Type /Action /S /Launch /F (cmd.exe) >>"
    objects = (b"<< /Type /Catalog /Pages 2 0 R >>", *PAGES, *notes, launch)
    content = pdf(*objects, packed=tuple(range(4, len(objects) + 1)))
    started = time.process_time()
    assert danger_in("手册.pdf", content) == Danger("手册.pdf", Hazard.LAUNCH_ACTION)
    assert time.process_time() - started < 2


@pytest.mark.parametrize(
    ("name", "content", "where"),
    [
        ("照片.rar", b"not looked at", "照片.rar"),
        ("照片.7z", b"not looked at", "照片.7z"),
        ("照片.pdf", RAR, "照片.pdf"),  # named as something else: its first bytes tell
        ("照片.bin", b"7z\xbc\xaf\x27\x1c" + bytes(30), "照片.bin"),
        ("all.zip", zip_archive(("notes.txt", b"x"), ("照片.rar", RAR)), "all.zip: 照片.rar"),
    ],
)
def test_a_rar_or_7z_archive_is_refused_as_it_cannot_be_looked_into(name, content, where):
    assert danger_in(name, content) == Danger(where, Hazard.SEALED_ARCHIVE)


def test_documents_that_unpack_to_gigabytes_are_looked_through_in_a_moment():
    """A PDF embedding hundreds of files that each unpack to almost an attachment's size, a
    few kilobytes apiece: unpacking every one would keep an email or an agent's upload
    waiting; what is unpacked in all is bounded, as it is for a zip."""
    count = 200
    almost_full = bytes(MAX_ATTACHMENT_BYTES - 100)
    assert count * len(almost_full) > 40 * UNPACKED_BYTES_LOOKED_AT
    # Compressed once, as the same stream serves every file.
    unpacking = pdf_stream(b"/Type /EmbeddedFile", almost_full, compressed=True)
    files = [
        obj
        for number in range(count)
        for obj in (
            b"<< /Type /Filespec /F (part%d.txt) /EF << /F %d 0 R >> >>" % (number, 5 + 2 * number),
            unpacking,
        )
    ]
    bomb = pdf(b"<< /Type /Catalog /Pages 2 0 R >>", *PAGES, *files)
    assert len(bomb) < 10 * 1024 * 1024
    started = time.process_time()
    assert danger_in("手册.pdf", bomb) is None
    assert time.process_time() - started < 3


@pytest.mark.parametrize(
    ("upload", "english", "chinese"),
    [
        (
            SimpleUploadedFile("报价单.docm", MACRO_DOCUMENT),
            "报价单.docm has macros, which can start programs when it is opened; the desk does "
            "not keep documents with macros, as mail gateways commonly refuse them. Send it "
            "saved without macros or as a PDF.",
            "报价单.docm 含有宏，打开时可能启动程序；服务台不保存带宏的文档，邮件网关通常也会"
            "拒收此类文档。请将其另存为不含宏的文档或 PDF 后发送。",
        ),
        (
            SimpleUploadedFile("手册.pdf", LAUNCHING_PDF),
            "手册.pdf is a PDF that starts a program when it is opened (a launch action), which "
            "the desk does not keep; send it saved without that action or another way.",
            "手册.pdf 是打开时会启动程序的 PDF（启动操作），服务台不保存此类文件；请去掉该操作"
            "后另存发送，或换一种方式发送。",
        ),
        (
            SimpleUploadedFile("照片.rar", RAR),
            "照片.rar is a rar or 7z archive, which the desk cannot look into for programs and "
            "so does not keep; send the files in a zip or one by one.",
            "照片.rar 是 rar 或 7z 压缩包，服务台无法检查其中是否有程序，因此不保存；请将文件"
            "打包为 zip 或逐个发送。",
        ),
        (
            SimpleUploadedFile(
                "报价单.docx", office_document((EMBEDDED, packaged_object("invoice.exe", b"x")))
            ),
            f"报价单.docx holds a program or script ({EMBEDDED}: invoice.exe), which the desk "
            "does not keep; send the documents in it another way.",
            f"报价单.docx 中含有程序或脚本（{EMBEDDED}: invoice.exe），服务台不保存此类文件；"
            "请用其他方式发送其中的文档。",
        ),
    ],
    ids=["macros", "launch action", "rar", "packaged program"],
)
def test_an_agent_cannot_attach_such_a_file_and_is_told_why(
    company,
    desk,
    media,  # noqa: F811
    upload,
    english,
    chinese,
):
    ticket = _ticket(company)
    for language, refusal in (("en", english), ("zh-hans", chinese)):
        upload.seek(0)
        with translation.override(language), pytest.raises(ValidationError) as refused:
            services.ticket_note(
                actor=company.agent,
                ticket_id=ticket.pk,
                body="见附件",
                files=[SimpleUploadedFile("报价单.pdf", b"%PDF-1.4 x", "application/pdf"), upload],
            )
        assert refused.value.message_dict == {"files": [refusal]}
    assert not TicketAttachment.objects.exists()
    assert not [path for path in media.rglob("*") if path.is_file()]


def test_an_email_leaves_out_such_files_and_a_note_says_which_and_why(company, desk):
    message = email_message(
        sender="wangfang@example.cn",
        subject="报价",
        body="报价见附件。",
        message_id="<hidden-programs@example.cn>",
    )
    attachments = [
        ("报价单.docx", office_document()),
        ("报价单.docm", MACRO_DOCUMENT),
        ("手册.pdf", LAUNCHING_PDF),
        ("照片.rar", RAR),
        ("发票.docx", office_document((EMBEDDED, packaged_object("发票.exe", b"x")))),
    ]
    for name, content in attachments:
        message.add_attachment(
            content, maintype="application", subtype="octet-stream", filename=name
        )

    ticket = file_inbound_email(message.as_bytes()).ticket

    assert [a.filename for a in ticket.attachments.all()] == ["报价单.docx"]
    notes = [note.body for note in ticket.messages.filter(kind="note").order_by("pk")]
    assert notes == [
        "The email from wangfang@example.cn had attachments that are programs or scripts, which "
        f"the desk does not keep: 发票.docx: {EMBEDDED}: 发票.exe. Do not ask for them; if the "
        "sender meant to send a document, ask for it in another form.",
        "The email from wangfang@example.cn had attachments that can start programs when "
        "opened or that the desk cannot look into, which it does not keep: 报价单.docm (has "
        "macros), 手册.pdf (a PDF that starts a program), 照片.rar (a rar or 7z archive). Ask "
        "the sender for documents saved without macros or as PDFs, and for archives as zips.",
    ]
