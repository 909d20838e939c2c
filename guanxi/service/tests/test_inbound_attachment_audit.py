"""The files an email to the desk brings are kept on the ticket, and like the files of a reply
or note written on the ticket's page they are on record: an audit row on the customer names
each file the desk kept and its size, whoever's email it was (the customer's request or answer,
an unknown sender's, a colleague's note), and the customer's history shows them."""

import pytest
from django.utils import translation

from guanxi.audit.models import AuditEvent
from guanxi.customers.history import CustomerHistory, describe_history
from guanxi.service.models import TicketAttachment
from guanxi.service.tests.inbound_mail import (  # noqa: F401  (media: a fixture)
    email_message,
    filed,
    media,
    reply_all,
    with_attachments,
)
from guanxi.service.tests.test_inbound_unknown_sender import waiting_ticket

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4 " + b"x" * 2039  # 2 KB
PHOTO = b"\xff\xd8" + b"y" * 98


def _rows_naming_files(ticket) -> list[AuditEvent]:
    return [
        row
        for row in CustomerHistory(customer_id=ticket.customer_id).events()
        if row.object_type == "ticket"
        and row.object_id == ticket.pk
        and isinstance(row.changes, dict)
        and "attachments" in row.changes
    ]


def _answer(sender: str, subject: str, message_id: str) -> bytes:
    return with_attachments(
        email_message(
            sender=sender, subject=f"Re: {subject}", body="见附件。", message_id=message_id
        ),
        [("发票.pdf", PDF), ("photo.jpg", PHOTO)],
    )


FILES = [{"name": "发票.pdf", "size": len(PDF)}, {"name": "photo.jpg", "size": len(PHOTO)}]


def test_the_files_of_a_request_by_email_are_named_in_the_customers_history(company, desk):
    raw = with_attachments(email_message(message_id="<request@example.cn>"), [("发票.pdf", PDF)])
    ticket = filed(raw).ticket
    assert TicketAttachment.objects.filter(ticket=ticket).count() == 1
    [row] = _rows_naming_files(ticket)
    assert row.changes["attachments"] == {
        "before": None,
        "after": [{"name": "发票.pdf", "size": len(PDF)}],
    }
    assert row.actor is None and row.customer_id == ticket.customer_id
    assert "wangfang@example.cn" in row.summary
    with translation.override("zh-hans"):
        [entry] = describe_history([row], viewer=company.admin)
        [files] = [line for line in entry.lines if line.label == "附件"]
        assert files.after == "发票.pdf (2.0\xa0KB)"
        assert "wangfang@example.cn" in entry.summary and "email" not in entry.summary


@pytest.mark.parametrize(
    ("writer", "kind"),
    [("customer", "customer"), ("stranger", "note"), ("agent", "note")],
)
def test_the_files_of_an_answer_by_email_are_named_whoever_sent_it(company, desk, writer, kind):
    ticket, subject = waiting_ticket(company)
    sender = {
        "customer": "王芳 <wangfang@example.cn>",
        "stranger": "Li Qiang <liqiang@other.example.com>",
        "agent": f"{company.agent.label} <{company.agent.email}>",
    }[writer]
    before = len(_rows_naming_files(ticket))

    result = filed(_answer(sender, subject, f"<answer-{writer}@example.cn>"))

    assert result.ticket.pk == ticket.pk
    message = ticket.messages.get(email_message_id=f"<answer-{writer}@example.cn>")
    assert message.kind == kind and message.attachments.count() == 2
    rows = _rows_naming_files(ticket)
    assert len(rows) == before + 1
    row = rows[0]  # the newest
    assert row.changes["attachments"]["after"] == FILES
    assert row.actor == (company.agent if writer == "agent" else None)


def test_a_reply_all_names_its_files_once_in_its_own_row(company, desk):
    ticket, subject = waiting_ticket(company)
    filed(reply_all(company.agent, subject, [("发票.pdf", PDF)]))
    [row] = _rows_naming_files(ticket)
    assert "reply" in row.changes
    assert row.changes["attachments"]["after"] == [{"name": "发票.pdf", "size": len(PDF)}]


def test_an_email_without_files_adds_no_row_about_them(company, desk):
    ticket, subject = waiting_ticket(company)
    rows = AuditEvent.objects.count()
    filed(
        email_message(
            subject=f"Re: {subject}", body="谢谢。", message_id="<thanks@example.cn>"
        ).as_bytes()
    )
    assert not _rows_naming_files(ticket)
    assert AuditEvent.objects.count() == rows + 1  # the customer's message's own
