"""An inbound email's attachments are looked into once each: reading a large PDF or Office
document is the slow part of filing an email, and choosing what to keep, storing it and saying
in a note what was left out all need the same answer. However the email is filed — a new
request, the customer's message on a ticket, or an agent's "reply all", which stores what it
keeps with the reply — each attachment is opened once, and what is kept and what the notes say
are as before."""

from collections import Counter

import pytest
from django.core import mail as outbox
from django.core.exceptions import ValidationError

from guanxi.service import dangerous_files, services
from guanxi.service.dangerous_files import Danger
from guanxi.service.models import Ticket, TicketAttachment
from guanxi.service.tests.documents import PAGES, office_document, ole, pdf
from guanxi.service.tests.inbound_mail import (  # noqa: F401  (media: a fixture)
    email_message,
    filed,
    media,
    reply_all,
    with_attachments,
)
from guanxi.service.tests.test_attachment_programs import _ticket

pytestmark = pytest.mark.django_db

REQUESTER = "王芳 <wangfang@example.cn>"
CLEAN = [
    ("手册.pdf", pdf(b"<< /Type /Catalog /Pages 2 0 R >>", *PAGES)),
    ("报价单.docx", office_document()),
    ("价目表.xls", ole(("Workbook", b"prices"))),
]
CLEAN_NAMES = sorted(name for name, _content in CLEAN)
MACRO_DOCUMENT = office_document(("word/vbaProject.bin", ole(("VBA", None))))


@pytest.fixture
def looked_into(monkeypatch) -> Counter:
    """How many times each file was opened to be looked into, by the name the look gives it:
    the real readers run, each call counted."""
    opened: Counter = Counter()
    for reader in ("_danger_in_pdf", "_danger_in_zip", "_danger_in_ole"):
        original = getattr(dangerous_files, reader)

        def counting(where, content, depth, unpack_left, original=original):
            opened[where] += 1
            return original(where, content, depth, unpack_left)

        monkeypatch.setattr(dangerous_files, reader, counting)
    return opened


def test_a_new_requests_attachments_are_looked_into_once_each(company, desk, looked_into):
    raw = with_attachments(
        email_message(sender=REQUESTER, message_id="<request@example.cn>"),
        [*CLEAN, ("报价单.docm", MACRO_DOCUMENT)],
    )

    ticket = filed(raw).ticket

    assert looked_into == dict.fromkeys([*CLEAN_NAMES, "报价单.docm"], 1)
    assert sorted(a.filename for a in ticket.attachments.all()) == CLEAN_NAMES
    [note] = ticket.messages.filter(kind="note")
    assert "报价单.docm (has macros)" in note.body


def test_the_customers_message_on_a_ticket_has_its_attachments_looked_into_once(
    company, desk, looked_into
):
    ticket = filed(
        email_message(sender=REQUESTER, message_id="<request@example.cn>").as_bytes()
    ).ticket
    [acknowledgement] = outbox.outbox
    raw = with_attachments(
        email_message(
            sender=REQUESTER,
            subject=f"Re: {acknowledgement.subject}",
            body="补充材料见附件。",
            message_id="<more@example.cn>",
        ),
        CLEAN,
    )

    assert filed(raw).ticket.pk == ticket.pk

    assert looked_into == dict.fromkeys(CLEAN_NAMES, 1)
    message = ticket.messages.get(body="补充材料见附件。")
    assert sorted(a.filename for a in message.attachments.all()) == CLEAN_NAMES


def test_an_agents_reply_all_has_its_attachments_looked_into_once(company, desk, looked_into):
    filed(email_message(sender=REQUESTER, message_id="<request@example.cn>").as_bytes())
    [acknowledgement] = outbox.outbox
    raw = reply_all(
        company.agent, acknowledgement.subject, [*CLEAN, ("报价单.docm", MACRO_DOCUMENT)]
    )

    result = filed(raw)

    assert "recorded as their reply" in result.reason
    assert looked_into == dict.fromkeys([*CLEAN_NAMES, "报价单.docm"], 1)
    ticket = Ticket.objects.get(pk=result.ticket.pk)
    reply = ticket.messages.get(body="发票见附件。")
    assert reply.kind == "reply"
    kept = TicketAttachment.objects.filter(ticket=ticket)
    assert sorted(a.filename for a in kept) == CLEAN_NAMES
    assert {a.message_id for a in kept} == {reply.pk}
    assert {a.uploaded_by for a in kept} == {company.agent}
    [note] = ticket.messages.filter(kind="note")
    assert company.agent.email in note.body and "报价单.docm (has macros)" in note.body


def test_a_reply_all_from_someone_who_may_not_work_on_the_ticket_looks_once_too(
    company, desk, looked_into
):
    # The rep may not work on the ticket: the reply is refused and the email kept as a note,
    # with the attachments the refused reply would have kept.
    filed(email_message(sender=REQUESTER, message_id="<request@example.cn>").as_bytes())
    [acknowledgement] = outbox.outbox
    raw = reply_all(company.rep, acknowledgement.subject, CLEAN)

    result = filed(raw)

    assert "who may not work on this ticket: kept as a note" in result.reason
    assert looked_into == dict.fromkeys(CLEAN_NAMES, 1)
    note = result.ticket.messages.get(body__endswith="发票见附件。")
    assert note.kind == "note" and note.is_from_unknown_sender
    assert sorted(a.filename for a in note.attachments.all()) == CLEAN_NAMES


def test_a_file_looked_into_is_judged_again_by_the_name_it_is_stored_under(
    company,
    desk,
    media,  # noqa: F811
):
    # Its content is not read again, but its name is never taken on trust: one renamed after
    # the look (here to a script's) is refused as any other upload is.
    upload = services.upload_looked_into("报价.txt", b"WScript.Echo(1)", "text/plain")
    assert not isinstance(upload, Danger)
    upload.name = "报价.js"
    ticket = _ticket(company)
    with pytest.raises(ValidationError) as refused:
        services.ticket_note(
            actor=company.agent, ticket_id=ticket.pk, body="见附件", files=[upload]
        )
    assert "is a program or script" in refused.value.message_dict["files"][0]
    assert not TicketAttachment.objects.exists()
    assert not [path for path in media.rglob("*") if path.is_file()]


def test_the_name_a_file_would_be_stored_under_is_judged_as_it_is_looked_into():
    # A file's name is stored to 255 characters, cut before its last dot: this one, harmless as
    # sent, would be stored as a script's ("yyy...y.js.", which Windows runs as .js).
    name = "y" * 251 + ".js" + "z" * 10 + "."
    found = services.upload_looked_into(name, b"WScript.Echo(1)", "text/plain")
    assert found == Danger("y" * 251 + ".js.", dangerous_files.Hazard.PROGRAM)
