"""A ticket merged into another while an email to its customer is not sent yet: the
acknowledgement goes with the request, whose conversation goes on in the kept ticket, so sent
after the merge it names the kept ticket's number and links its status page (the number the
customer's answers are filed under from then on); the satisfaction survey, which would call the
request resolved whatever becomes of the kept ticket, is dropped, as when a ticket reopens."""

import pytest
from django.core import mail as outbox
from django.test import TestCase

from guanxi.service import mail, services, sweep
from guanxi.service.inbound import file_inbound_email
from guanxi.service.models import Ticket
from guanxi.service.tests.inbound_mail import email_message

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("desk_mail_settings")]

LOCMEM = "django.core.mail.backends.locmem.EmailBackend"


def _kept(company, customer_id: int) -> Ticket:
    return services.ticket_create(
        actor=company.agent,
        customer_id=customer_id,
        data={"type": "complaint", "subject": "同一个问题"},
    )


def _merge(company, duplicate: Ticket, kept: Ticket) -> None:
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.ticket_merge(actor=company.agent, ticket_id=duplicate.pk, into_id=kept.pk)


def test_an_acknowledgement_sent_after_a_merge_names_the_kept_ticket(
    client, settings, company, desk, clock, mail_server_down
):
    with TestCase.captureOnCommitCallbacks(execute=True):
        filed = file_inbound_email(email_message().as_bytes()).ticket
    [acknowledgement] = filed.customer_emails.all()
    assert acknowledgement.not_sent
    kept = _kept(company, filed.customer_id)
    _merge(company, filed, kept)

    client.force_login(company.agent)
    page = client.get(f"/service/tickets/{kept.pk}/").content.decode()
    assert "The acknowledgement of the request" in page  # marked where the work goes on

    settings.EMAIL_BACKEND = LOCMEM
    clock.advance(minutes=1)
    assert sweep.sla_sweep().customer_emails == 1
    [sent] = outbox.outbox
    assert sent.body.startswith(f"我们已收到您的请求 {kept.number}")
    assert filed.number not in sent.body
    assert mail.status_url(kept.pk) in sent.body


def test_a_survey_not_sent_is_dropped_when_its_ticket_is_merged(
    client, settings, company, desk, clock, mail_server_down
):
    with TestCase.captureOnCommitCallbacks(execute=True):
        filed = file_inbound_email(email_message().as_bytes()).ticket
        services.ticket_set_status(actor=company.agent, ticket_id=filed.pk, status="resolved")
    assert filed.customer_emails.filter(kind="survey", sent_at=None).exists()
    kept = _kept(company, filed.customer_id)
    _merge(company, filed, kept)

    settings.EMAIL_BACKEND = LOCMEM
    clock.advance(minutes=1)
    sweep.sla_sweep()
    assert not [m for m in outbox.outbox if "已解决" in m.body]
    client.force_login(company.agent)
    for ticket in (filed, kept):
        page = client.get(f"/service/tickets/{ticket.pk}/").content.decode()
        assert "The satisfaction survey" not in page
