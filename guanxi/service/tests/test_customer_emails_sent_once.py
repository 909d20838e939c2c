"""An email to the customer the mail server did not take, sent again by two people at the same
moment, or by someone while the sweep tries it: its row is locked while it is sent, so the
second click waits and is told it was sent meanwhile, the sweep passes it by, and the customer
gets it once. Real concurrency needs PostgreSQL (SQLite has one writer at a time)."""

import pytest
from django.core import mail as outbox
from django.core.exceptions import ValidationError

from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import hold_before, in_thread, second_waits_for_first
from guanxi.service import mail, services
from guanxi.service.models import CustomerEmail

pytestmark = CONCURRENT

REQUESTER = "wangfang@example.cn"


@pytest.fixture
def unsent(company, desk, clock, settings, mail_server_down) -> CustomerEmail:
    """A reply whose email the mail server could not take; the server works again now."""
    ticket = services.ticket_create(
        actor=company.agent,
        customer_id=company.rep_customer.pk,
        data={"type": "complaint", "subject": "货物破损", "requester_email": REQUESTER},
    )
    message = services.ticket_reply(actor=company.agent, ticket_id=ticket.pk, body="已处理。")
    email = CustomerEmail.objects.get(message=message)
    assert email.failed_at is not None and email.sent_at is None
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    outbox.outbox = []
    return email


def _send_again(company, email: CustomerEmail):
    return lambda: services.customer_email_send_again(
        actor=company.agent, ticket_id=email.ticket_id, email_id=email.pk
    )


def test_two_clicks_at_once_send_it_once(company, unsent, monkeypatch):
    hold = hold_before(monkeypatch, mail, "send_to_customer", thread="first")
    results = second_waits_for_first(
        _send_again(company, unsent), _send_again(company, unsent), hold
    )
    assert results["first"][0] == "ok", results["first"]
    assert results["second"][0] == "error"
    assert isinstance(results["second"][1], ValidationError)
    assert "sent to the customer meanwhile" in str(results["second"][1])
    assert [message.to for message in outbox.outbox] == [[REQUESTER]]


def test_the_sweep_passes_by_an_email_being_sent_again(company, unsent, monkeypatch):
    hold = hold_before(monkeypatch, mail, "send_to_customer", thread="click")
    results: dict = {}
    thread = in_thread(_send_again(company, unsent), results, "click")
    try:
        assert hold.reached.wait(30)
        assert services.customer_emails_retry() == 0  # skipped, not waited for
    finally:
        hold.go.set()
        thread.join(30)
    assert results["click"][0] == "ok", results["click"]
    assert len(outbox.outbox) == 1
