"""The files sent with a reply or attached to a note are part of what the customer was sent or
colleagues were told: the reply's or note's audit row names each file and its size, and the
customer's history shows them."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from guanxi.audit.models import AuditEvent
from guanxi.customers.history import describe_history
from guanxi.service import services
from guanxi.service.models import Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def _ticket(company) -> Ticket:
    return services.ticket_create(
        actor=company.agent,
        customer_id=company.rep_customer.pk,
        data={"type": "inquiry", "subject": "发票", "priority": "normal"},
    )


def _last_row(ticket) -> AuditEvent:
    return AuditEvent.objects.filter(object_type="ticket", object_id=ticket.pk).latest("id")


def test_a_reply_row_names_its_files_and_their_sizes(company, desk):
    ticket = _ticket(company)
    services.ticket_reply(
        actor=company.agent,
        ticket_id=ticket.pk,
        body="发票见附件",
        files=[
            SimpleUploadedFile("发票.pdf", b"x" * 2048, "application/pdf"),
            SimpleUploadedFile("清单.xlsx", b"y" * 10, "application/vnd.ms-excel"),
        ],
    )
    row = _last_row(ticket)
    assert row.changes["reply"]["after"] == "发票见附件"
    assert row.changes["attachments"] == {
        "before": None,
        "after": [{"name": "发票.pdf", "size": 2048}, {"name": "清单.xlsx", "size": 10}],
    }


def test_a_note_row_names_its_files_and_one_without_files_says_none(company, desk):
    ticket = _ticket(company)
    services.ticket_note(actor=company.agent, ticket_id=ticket.pk, body="内部说明")
    assert "attachments" not in _last_row(ticket).changes
    services.ticket_note(
        actor=company.agent,
        ticket_id=ticket.pk,
        body="截图",
        files=[SimpleUploadedFile("截图.png", b"z" * 1536, "image/png")],
    )
    row = _last_row(ticket)
    assert row.changes["note"]["after"] == "截图"
    assert row.changes["attachments"]["after"] == [{"name": "截图.png", "size": 1536}]
    with translation.override("zh-hans"):
        [entry] = describe_history([row], viewer=company.admin)
    [files] = [line for line in entry.lines if "截图.png" in line.after]
    assert files.label == "附件"
    assert files.after == "截图.png (1.5\xa0KB)"
