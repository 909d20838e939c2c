"""How long a claim to send an email to the customer holds before another sender takes it over:
longer than one sending can last with the mail server timeout configured
(``GUANXI_EMAIL_TIMEOUT``, Django's ``EMAIL_TIMEOUT``), and never less than 15 minutes. A mail
server that answers each step of a sending slowly, within the timeout, keeps the sending going
for a multiple of it: taken over sooner, the email would be sent twice."""

from datetime import timedelta

import pytest
from django.core import mail as outbox
from django.utils import timezone

from guanxi.service import services
from guanxi.service.models import CustomerEmail
from guanxi.service.tests.conftest import complaint_by_email

pytestmark = pytest.mark.django_db

LOCMEM = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def email(company, desk, clock, mail_server_down, settings) -> CustomerEmail:
    ticket = complaint_by_email(company)
    message = services.ticket_reply(actor=company.agent, ticket_id=ticket.pk, body="已处理。")
    settings.EMAIL_BACKEND = LOCMEM
    return CustomerEmail.objects.get(message=message)


def _claimed(email: CustomerEmail, ago: timedelta) -> None:
    CustomerEmail.objects.filter(pk=email.pk).update(sending_since=timezone.now() - ago)


def test_a_claim_holds_while_a_slow_mail_server_may_still_be_taking_the_email(email, settings):
    settings.EMAIL_TIMEOUT = 60  # a minute for each step of the conversation
    _claimed(email, timedelta(minutes=20))
    assert services.customer_email_send(email.pk) is None
    assert services.customer_emails_retry(now=timezone.now()) == 0
    assert outbox.outbox == []
    # Nor is it given up while it may still be on its way.
    later = timezone.now() + timedelta(hours=24)
    _claimed(email, timedelta(minutes=20) - timedelta(hours=24))
    assert email.pk not in services.customer_emails_to_give_up(now=later)


def test_a_claim_older_than_any_sending_is_taken_over(email, settings):
    settings.EMAIL_TIMEOUT = 60
    _claimed(email, timedelta(hours=2))
    assert services.customer_email_send(email.pk) is True
    assert len(outbox.outbox) == 1


def test_a_claim_holds_at_least_fifteen_minutes_with_a_short_timeout(email, settings):
    settings.EMAIL_TIMEOUT = 1
    _claimed(email, timedelta(minutes=14))
    assert services.customer_email_send(email.pk) is None
    _claimed(email, timedelta(minutes=16))
    assert services.customer_email_send(email.pk) is True
    assert len(outbox.outbox) == 1


def test_a_huge_timeout_holds_a_claim_no_longer_than_the_sweep_tries(email, settings):
    # GUANXI_EMAIL_TIMEOUT has no upper bound: sixty times an absurd one reached before the
    # year 1, and every sending and sweep failed with an error. A claim holds at most as long
    # as the sweep tries an email: one left that long was left by a process that ended.
    settings.EMAIL_TIMEOUT = 10**10
    _claimed(email, timedelta(hours=25))
    assert services.customer_email_send(email.pk) is True
    assert len(outbox.outbox) == 1
    assert services.customer_emails_retry(now=timezone.now()) == 0
