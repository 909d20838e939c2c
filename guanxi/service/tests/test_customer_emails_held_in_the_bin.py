"""An email to the customer queued before the customer was moved to the recycle bin (the mail
server did not take it at once) is not sent while the customer is there: binning may be the
customer's own wish never to hear from the desk again. It is held, not sent; a customer
restored within the retries gets it. After them it is given up, as any email the sweep stopped
trying, whether the customer ever comes back or not, and whoever holds the ticket is told once,
on a notice the bell shows them once the customer is restored."""

import pytest
from django.core import mail as outbox
from django.test import TestCase

from guanxi.customers.models import Customer
from guanxi.customers.services import customer_delete, customer_restore
from guanxi.service import services, sweep
from guanxi.service.models import CustomerEmail, Notification, Ticket
from guanxi.service.selectors import notifications_for_user
from guanxi.service.tests.conftest import REQUESTER, complaint_by_email

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("desk_mail_settings")]

ANSWER = "退款已经办好，三天内到账。"
LOCMEM = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def held(company, desk, clock, settings, mail_server_down) -> Ticket:
    """A complaint answered and resolved while the mail server was down, its customer then
    binned, and the mail server back (Django's in-memory backend)."""
    ticket = complaint_by_email(company)
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.ticket_reply(
            actor=company.agent, ticket_id=ticket.pk, body=ANSWER, status="resolved"
        )
    assert CustomerEmail.objects.filter(ticket=ticket, sent_at=None).exists()
    customer_delete(actor=company.admin, customer_id=company.rep_customer.pk)
    settings.EMAIL_BACKEND = LOCMEM
    outbox.outbox.clear()
    return ticket


def _unsent(ticket: Ticket) -> list[CustomerEmail]:
    return list(CustomerEmail.objects.filter(ticket=ticket, sent_at=None, given_up_at=None))


def _restore(company) -> None:
    customer = Customer.objects.get(pk=company.rep_customer.pk)
    customer_restore(actor=company.admin, customer_id=customer.pk)


def test_nothing_queued_goes_to_a_binned_customer_until_they_are_restored(
    company, desk, clock, held
):
    reply = CustomerEmail.objects.get(ticket=held, kind=CustomerEmail.Kind.REPLY)
    clock.advance(minutes=10)
    sweep.sla_sweep()
    assert services.customer_email_send(reply.pk) is None
    assert outbox.outbox == []
    assert {email.kind for email in _unsent(held)} >= {CustomerEmail.Kind.REPLY}

    _restore(company)
    clock.advance(minutes=1)
    sweep.sla_sweep()
    assert ANSWER in [message.body for message in outbox.outbox]
    assert all(message.to == [REQUESTER] for message in outbox.outbox)
    assert _unsent(held) == []


def test_held_past_the_retries_it_is_given_up_and_its_holder_told_once_the_customer_is_back(
    company, desk, clock, held
):
    held_emails = len(_unsent(held))
    assert held_emails >= 1
    clock.advance(hours=23)
    assert sweep.sla_sweep().customer_emails_given_up == 0
    clock.advance(hours=2)
    # Past the retries, given up in the bin: not held for ever, and never sent.
    assert sweep.sla_sweep().customer_emails_given_up == held_emails
    assert _unsent(held) == [] and outbox.outbox == []
    told = Notification.objects.filter(ticket=held, user=company.agent)
    assert told.count() == held_emails  # one for each email
    # Nobody may see the ticket while its customer is in the bin: the notice waits.
    assert not notifications_for_user(company.agent).filter(ticket=held).exists()
    clock.advance(days=30)
    assert sweep.sla_sweep().customer_emails_given_up == 0

    _restore(company)
    clock.advance(minutes=1)
    assert sweep.sla_sweep().customer_emails_given_up == 0
    # Not sent on its own days later: whoever holds the ticket is told, once, to send it again
    # or not.
    assert outbox.outbox == []
    assert list(notifications_for_user(company.agent).filter(ticket=held)) == list(told)
