"""Attachments of a reply or note that is refused leave no file behind: the database takes
the rows back, and the storage must not keep files nothing points to."""

from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from guanxi.service import services
from guanxi.service.models import Ticket, TicketAttachment

pytestmark = pytest.mark.django_db


@pytest.fixture
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def _stored(media: Path) -> list[Path]:
    return [path for path in media.rglob("*") if path.is_file()]


def _ticket(company) -> Ticket:
    return services.ticket_create(
        actor=company.agent,
        customer_id=company.rep_customer.pk,
        data={"type": "inquiry", "subject": "发票", "priority": "normal"},
    )


def _files(*sizes: int) -> list[SimpleUploadedFile]:
    return [
        SimpleUploadedFile(f"file{i}.txt", b"x" * size, "text/plain")
        for i, size in enumerate(sizes)
    ]


def test_a_file_too_large_after_one_that_is_not_leaves_no_file(company, desk, media, monkeypatch):
    monkeypatch.setattr(services, "MAX_ATTACHMENT_BYTES", 100)
    ticket = _ticket(company)
    with pytest.raises(ValidationError):
        services.ticket_note(
            actor=company.agent, ticket_id=ticket.pk, body="见附件", files=_files(10, 500, 10)
        )
    assert not TicketAttachment.objects.exists()
    assert _stored(media) == []


def test_a_reply_refused_after_its_files_were_stored_leaves_no_file(company, desk, media):
    ticket = _ticket(company)
    services.ticket_set_status(actor=company.agent, ticket_id=ticket.pk, status="closed")
    with pytest.raises(ValidationError):
        # A closed ticket cannot become resolved: refused after the files were written.
        services.ticket_reply(
            actor=company.agent,
            ticket_id=ticket.pk,
            body="已处理",
            status="resolved",
            files=_files(10, 20),
        )
    assert not TicketAttachment.objects.exists()
    assert _stored(media) == []


def test_accepted_files_are_stored(company, desk, media):
    ticket = _ticket(company)
    services.ticket_note(
        actor=company.agent, ticket_id=ticket.pk, body="见附件", files=_files(3, 4)
    )
    assert TicketAttachment.objects.count() == 2
    assert sorted(path.stat().st_size for path in _stored(media)) == [3, 4]
