"""Two clicks on Send again at the same moment, on either database: the first claims the email
with one conditional update (the row's claim is taken only where nobody holds it), so the
second is told at once that it is being sent, and the customer gets it once. Locking the row
is not enough: SQLite ignores ``select_for_update``. Each click runs on a thread of its own,
and so on a connection of its own, against the database the suite runs on."""

import pytest
from django.core import mail as outbox
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from guanxi.core.testing.threads import Hold, hold_before, in_thread, second_waits_for_first
from guanxi.service import mail, services
from guanxi.service.models import CustomerEmail
from guanxi.service.tests.conftest import REQUESTER, complaint_by_email

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def unsent(company, desk, settings, mail_server_down) -> CustomerEmail:
    """A reply whose email the mail server could not take; the server works again now."""
    ticket = complaint_by_email(company)
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
    results: dict = {}
    first = in_thread(_send_again(company, unsent), results, "first")
    try:
        assert hold.reached.wait(30)
        # The first click is talking to the mail server: the second is answered meanwhile.
        second = in_thread(_send_again(company, unsent), results, "second")
        second.join(15)
        answered_while_sending = not second.is_alive()
    finally:
        hold.go.set()
        first.join(30)
        second.join(30)
    assert results["first"][0] == "ok", results["first"]
    assert results["second"][0] == "error", results["second"]
    assert isinstance(results["second"][1], ValidationError), results["second"]
    assert answered_while_sending
    assert "being sent to the customer this moment" in str(results["second"][1])
    assert [message.to for message in outbox.outbox] == [[REQUESTER]]
    email = CustomerEmail.objects.get(pk=unsent.pk)
    assert email.sent_at is not None and email.attempts == 2


def test_the_sweep_passes_by_an_email_being_sent_again(company, unsent, monkeypatch):
    hold = hold_before(monkeypatch, mail, "send_to_customer", thread="click")
    results: dict = {}
    thread = in_thread(_send_again(company, unsent), results, "click")
    try:
        assert hold.reached.wait(30)
        assert services.customer_emails_retry() == 0  # passed by, not waited for
    finally:
        hold.go.set()
        thread.join(30)
    assert results["click"][0] == "ok", results["click"]
    assert len(outbox.outbox) == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL")
def test_a_claim_that_waited_for_another_finds_the_email_taken(unsent):
    """Two claims at the very same moment: the second waits for the first's row and then looks
    at it again, finding it taken. Asked whether the email's customer is in the recycle bin by
    joining it to its ticket and customer, the claim was an update of ``id IN (SELECT …)``,
    whose subquery PostgreSQL does not look at again, and both claims took the email."""
    hold = Hold()

    def first():
        with transaction.atomic():
            claim = services._claim(unsent.pk)
            hold.here()
        return claim

    results = second_waits_for_first(first, lambda: services._claim(unsent.pk), hold)
    assert results["first"][0] == "ok" and results["first"][1] is not None, results["first"]
    assert results["second"] == ("ok", None), results["second"]
