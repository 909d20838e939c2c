"""Attachments of a reply or note that is refused leave no file behind: the database takes
the rows back, and the storage must not keep files nothing points to."""

from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from guanxi.core.testing.uploads import browser_client, post_multipart
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


def test_a_reply_with_a_file_too_large_is_stopped_as_it_arrives(
    company, desk, media, monkeypatch, settings, tmp_path
):
    # Refused only once the whole post was read (the CSRF check reads it before the view),
    # a file of any size was written to a temporary file first.
    monkeypatch.setattr(services, "MAX_ATTACHMENT_BYTES", 1024 * 1024)
    settings.FILE_UPLOAD_TEMP_DIR = tmp_path / "tmp"
    settings.FILE_UPLOAD_TEMP_DIR.mkdir()
    ticket = _ticket(company)
    response, body = post_multipart(
        browser_client(company.agent),
        f"/service/tickets/{ticket.pk}/",
        {
            "action": "note",
            "body": "见附件",
            "files": [
                SimpleUploadedFile("small.txt", b"x" * 10, "text/plain"),
                SimpleUploadedFile("发票.pdf", b"x" * (3 * 1024 * 1024), "application/pdf"),
            ],
        },
    )
    assert response.status_code == 413
    page = response.content.decode()
    # What was typed came before the file, and is shown again.
    assert "发票.pdf is larger than 1 MB. Nothing was saved" in page and "见附件" in page
    # The rest is read through, kept nowhere: answered with some of it unread, the connection
    # is reset under some servers, and the browser never shows this page.
    assert body.read_bytes == body.size
    assert not ticket.messages.exists() and not TicketAttachment.objects.exists()
    assert _stored(media) == [] and not any(settings.FILE_UPLOAD_TEMP_DIR.iterdir())


def test_a_cross_site_reply_with_a_file_too_large_gets_the_csrf_failure(
    company, desk, media, monkeypatch
):
    # The refusal comes before the view's own CSRF check: without one of its own, another site
    # could post here and have the ticket shown to the agent with its words in the reply box.
    monkeypatch.setattr(services, "MAX_ATTACHMENT_BYTES", 1024 * 1024)
    ticket = _ticket(company)
    response, _body = post_multipart(
        browser_client(company.agent),
        f"/service/tickets/{ticket.pk}/",
        {
            "csrfmiddlewaretoken": "f" * 32,
            "action": "reply",
            "body": "请把合同发到这个邮箱",
            "files": [SimpleUploadedFile("a.pdf", b"x" * (2 * 1024 * 1024), "application/pdf")],
        },
    )
    assert response.status_code == 403
    assert "请把合同发到这个邮箱" not in response.content.decode()
    assert not ticket.messages.exists() and _stored(media) == []


def test_a_note_sent_in_chunks_is_refused_saying_so(company, desk, media):
    # Without a Content-Length Django reads nothing of the body: the CSRF check found no token.
    ticket = _ticket(company)
    response, _body = post_multipart(
        browser_client(company.agent),
        f"/service/tickets/{ticket.pk}/",
        {"action": "note", "body": "见附件", "files": _files(10)},
        chunked=True,
    )
    assert response.status_code == 411
    assert "The upload did not say its size" in response.content.decode()
    assert not ticket.messages.exists() and _stored(media) == []


def test_a_note_with_files_within_the_limit_is_csrf_checked_and_saved(company, desk, media):
    ticket = _ticket(company)
    client = browser_client(company.agent)
    note = {"action": "note", "body": "见附件", "files": _files(3, 4)}
    response, _body = post_multipart(client, f"/service/tickets/{ticket.pk}/", note)
    assert response.status_code == 302 and TicketAttachment.objects.count() == 2
    # The check is the view's own now; it still refuses a post without the token.
    assert client.post(f"/service/tickets/{ticket.pk}/", note).status_code == 403
    assert TicketAttachment.objects.count() == 2
