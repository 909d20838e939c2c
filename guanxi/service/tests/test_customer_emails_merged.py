"""A ticket merged into another while an email to its customer is not sent yet: the
acknowledgement goes with the request, whose conversation goes on in the kept ticket, so sent
after the merge it names the kept ticket's number and links its status page (the number the
customer's answers are filed under from then on); the satisfaction survey, which would call the
request resolved whatever becomes of the kept ticket, is dropped, as when a ticket reopens."""

import re

import pytest
from django.core import mail as outbox
from django.test import TestCase

from guanxi.audit.models import AuditEvent
from guanxi.service import mail, services, sweep
from guanxi.service.inbound import file_inbound_email
from guanxi.service.models import Ticket
from guanxi.service.tests.conftest import REQUESTER, complaint_by_email
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
    # The link's token carries the second it was signed in: read where the link leads rather
    # than rebuilding it, which fails whenever a second turns between the sweep and this line.
    link = re.search(r"https://crm\.example\.cn/service/status/([^/\s]+)/", sent.body)
    assert link and mail.ticket_id_from_status_token(link.group(1)) == kept.pk


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


def test_the_merge_audits_the_emails_it_moved_and_dropped(company, desk, clock, mail_server_down):
    with TestCase.captureOnCommitCallbacks(execute=True):
        filed = file_inbound_email(email_message().as_bytes()).ticket
        services.ticket_set_status(actor=company.agent, ticket_id=filed.pk, status="resolved")
    acknowledgement = filed.customer_emails.get(kind="acknowledgement", sent_at=None)
    survey = filed.customer_emails.get(kind="survey", sent_at=None)
    kept = _kept(company, filed.customer_id)
    _merge(company, filed, kept)

    def merge_row(ticket: Ticket) -> dict:
        return AuditEvent.objects.get(
            object_type="ticket", object_id=ticket.pk, action=AuditEvent.Action.MERGE
        ).changes

    moved = [{"id": acknowledgement.pk, "kind": "acknowledgement", "to": acknowledgement.to}]
    dropped = [{"id": survey.pk, "kind": "survey", "to": survey.to}]
    assert merge_row(filed)["customer_emails_moved"] == {"before": None, "after": moved}
    assert merge_row(filed)["customer_emails_dropped"] == {"before": dropped, "after": None}
    assert merge_row(kept)["customer_emails_moved"] == {"before": None, "after": moved}
    assert "customer_emails_dropped" not in merge_row(kept)


def test_a_merge_with_no_email_waiting_audits_none(company, desk, clock):
    duplicate, kept = (_kept(company, company.rep_customer.pk) for _ in range(2))
    _merge(company, duplicate, kept)
    for ticket in (duplicate, kept):
        changes = AuditEvent.objects.get(
            object_id=ticket.pk, action=AuditEvent.Action.MERGE
        ).changes
        assert not {"customer_emails_moved", "customer_emails_dropped"} & set(changes)


def test_a_reply_not_sent_before_a_merge_is_answered_into_the_kept_ticket(
    settings, company, desk, clock, mail_server_down
):
    # A reply written on the duplicate while the mail server was down goes out after the merge:
    # its subject carries the kept ticket's token, and the customer's answer to it lands there.
    duplicate = complaint_by_email(company)
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.ticket_reply(actor=company.agent, ticket_id=duplicate.pk, body="我们在查。")
    kept = _kept(company, company.rep_customer.pk)
    _merge(company, duplicate, kept)

    settings.EMAIL_BACKEND = LOCMEM
    clock.advance(minutes=1)
    assert sweep.sla_sweep().customer_emails == 1
    [sent] = outbox.outbox
    assert mail.ticket_id_from_subject(sent.subject) == kept.pk
    answer = email_message(
        sender=REQUESTER,
        subject=f"Re: {sent.subject}",
        headers={"In-Reply-To": sent.extra_headers["Message-ID"]},
    )
    result = file_inbound_email(answer.as_bytes())
    assert result.action == "added" and result.ticket.pk == kept.pk


def test_an_answer_to_an_email_sent_before_a_merge_lands_on_the_kept_ticket(
    settings, company, desk, clock
):
    # Sent before the merge, the reply carries the duplicate's token and Message-ID; the
    # customer's answer, by either alone (a mail program that dropped the token from the
    # subject), is filed on the kept ticket, where the conversation goes on.
    settings.EMAIL_BACKEND = LOCMEM
    duplicate = complaint_by_email(company)
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.ticket_reply(actor=company.agent, ticket_id=duplicate.pk, body="我们在查。")
    [sent] = outbox.outbox
    assert mail.ticket_id_from_subject(sent.subject) == duplicate.pk
    kept = _kept(company, company.rep_customer.pk)
    _merge(company, duplicate, kept)

    by_token = email_message(sender=REQUESTER, subject=f"Re: {sent.subject}")
    by_thread = email_message(
        sender=REQUESTER,
        subject="Re: 同一个问题",
        headers={"In-Reply-To": sent.extra_headers["Message-ID"]},
    )
    for answer in (by_token, by_thread):
        result = file_inbound_email(answer.as_bytes())
        assert result.action == "added" and result.ticket.pk == kept.pk
    assert not duplicate.messages.filter(kind="customer").exists()
    assert kept.messages.filter(kind="customer").count() == 2
