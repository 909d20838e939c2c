"""Emails for the inbound tests, built with the standard library's ``email`` package, and the
rows filing one can add to."""

from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from django.core import mail as outbox
from django.test import TestCase

from guanxi.audit.models import AuditEvent
from guanxi.customers.models import Customer, Email
from guanxi.service.inbound import file_inbound_email
from guanxi.service.models import Ticket, TicketAttachment, TicketMessage

DESK = "service@guanxi.localhost"
URL = "/service/inbound/email/"
SECRET = "inbound-secret-for-tests"


def email_message(
    *,
    sender: str | None = "王芳 <wangfang@example.cn>",
    subject: str = "发票什么时候开？",
    body: str = "您好，上周的订单还没有收到发票。",
    message_id: str | None = None,
    headers: dict[str, str] | None = None,
) -> EmailMessage:
    message = EmailMessage()
    if sender is not None:
        message["From"] = sender
    message["To"] = DESK
    message["Subject"] = subject
    message["Message-ID"] = message_id or make_msgid(domain="example.cn")
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    return message


def with_attachments(message: EmailMessage, attachments) -> bytes:
    """The raw email with each (name, content) of ``attachments`` attached as it is."""
    for name, content in attachments:
        message.add_attachment(
            content, maintype="application", subtype="octet-stream", filename=name
        )
    return message.as_bytes()


def reply_all(staff, subject: str, attachments) -> bytes:
    """A colleague's "reply all" to the customer's email, copying the customer, with
    ``attachments``: what the desk files as their reply (or a note, if they may not reply)."""
    return with_attachments(
        email_message(
            sender=f"{staff.label} <{staff.email}>",
            subject=f"Re: {subject}",
            body="发票见附件。",
            message_id="<answer@example.com>",
            headers={"Cc": "王芳 <wangfang@example.cn>"},
        ),
        attachments,
    )


def written() -> tuple[int, ...]:
    """How many rows the filing of an email can add to."""
    return tuple(
        model.objects.count()
        for model in (Customer, Email, Ticket, TicketMessage, TicketAttachment, AuditEvent)
    )


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    """Attachments stored under the test's own folder (the one returned), and the desk's
    address set: for each test of a module that imports it."""
    settings.MEDIA_ROOT = tmp_path
    settings.GUANXI_SERVICE_EMAIL = DESK
    return tmp_path


def filed(raw: bytes):
    """File the raw email as the webhook does, running what waits for the commit, with the
    outbox emptied first."""
    outbox.outbox.clear()
    with TestCase.captureOnCommitCallbacks(execute=True):
        return file_inbound_email(raw)
