"""What the history records of the language a customer is emailed in: the language they were
written to in before and after, by name, and nothing when the language sent back is the one the
ticket already had. A ticket that stores no language is emailed in the site default; its row
must not read as if it had no language at all."""

import pytest
from django.core import mail as outbox
from django.test import TestCase

from guanxi.api.tests.conftest import api_as  # noqa: F401  (the API's fixtures)
from guanxi.audit.models import AuditEvent
from guanxi.customers.history import describe_history
from guanxi.service import services
from guanxi.service.inbound import file_inbound_email
from guanxi.service.models import CustomerEmail, Ticket
from guanxi.service.tests.conftest import REQUESTER, merged_away
from guanxi.service.tests.inbound_mail import DESK, email_message

pytestmark = pytest.mark.django_db


def _typed_in_english(company) -> Ticket:
    return services.ticket_create(
        actor=company.agent,
        customer_id=company.rep_customer.pk,
        data={"type": "complaint", "subject": "Parcel arrived damaged"},
    )


def _updates(ticket: Ticket) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(
            object_type="ticket", object_id=ticket.pk, action=AuditEvent.Action.UPDATE
        ).order_by("id")
    )


def test_the_history_names_the_language_written_in_before_the_change(company, desk, clock):
    ticket = _typed_in_english(company)
    services.ticket_update(
        actor=company.agent,
        ticket_id=ticket.pk,
        expected_version=ticket.version,
        data={"language": "zh-hans"},
    )
    [event] = _updates(ticket)
    assert event.changes["language"] == {"before": "en", "after": "zh-hans"}
    [entry] = describe_history([event], viewer=company.agent)
    [line] = [line for line in entry.lines if line.label == "language"]
    assert (line.before, line.after) == ("English", "Simplified Chinese")


def test_the_language_as_read_sent_back_is_no_change(company, desk, clock):
    ticket = _typed_in_english(company)
    assert ticket.language == "" and ticket.email_language == "en"
    services.ticket_update(
        actor=company.agent,
        ticket_id=ticket.pk,
        expected_version=ticket.version,
        data={"language": "en", "priority": "high"},
    )
    [event] = _updates(ticket)
    assert "language" not in event.changes
    # Still following the site default, as the ticket page's form leaves it.
    assert Ticket.objects.get(pk=ticket.pk).language == ""


@pytest.fixture
def agent(api_as, desk, clock):  # noqa: F811
    return api_as("agent")


def test_the_api_sending_back_the_language_it_read_records_no_change(agent, company):
    body = {"customer_id": company.rep_customer.pk, "type": "complaint", "subject": "Damaged"}
    ticket = agent.post("/tickets", body).json()
    assert ticket["language"] == "en"
    changed = agent.patch(
        f"/tickets/{ticket['id']}",
        {"version": ticket["version"], "language": ticket["language"], "priority": "high"},
    )
    assert changed.status_code == 200, changed.json()
    [event] = _updates(Ticket.objects.get(pk=ticket["id"]))
    assert set(event.changes) >= {"priority"} and "language" not in event.changes


def test_the_api_refuses_the_language_of_a_ticket_merged_away_on_ticket_id(agent, company):
    duplicate, kept = merged_away(company)
    refused = agent.patch(
        f"/tickets/{duplicate.pk}", {"version": duplicate.version, "language": "en"}
    )
    assert refused.status_code == 422, refused.json()
    assert [error["field"] for error in refused.json()["errors"]] == ["ticket_id"]
    assert kept.number in refused.json()["errors"][0]["message"]
    assert Ticket.objects.get(pk=duplicate.pk).language == "zh-hans"


def test_a_merge_keeps_the_kept_tickets_language_for_the_emails_it_takes_in(company, desk, clock):
    """The duplicate's acknowledgement, not sent when the merge moves it, names the kept
    ticket and goes in its language: the customer's later emails are all about that one."""
    chinese = services.ticket_create_from_customer(
        customer=company.rep_customer,
        data={"type": "complaint", "subject": "包裹破损", "channel": "email"},
        requester_email=REQUESTER,
    )
    [acknowledgement] = CustomerEmail.objects.filter(ticket=chinese, sent_at=None)
    kept = _typed_in_english(company)
    services.ticket_merge(actor=company.agent, ticket_id=chinese.pk, into_id=kept.pk)
    assert Ticket.objects.get(pk=kept.pk).language == ""
    outbox.outbox.clear()
    assert services.customer_email_send(acknowledgement.pk) is True
    [sent] = outbox.outbox
    assert sent.body.startswith(f"We received your request {kept.number}")


def test_the_customer_answering_in_english_leaves_the_language_the_desk_chose(
    company, desk, clock, settings
):
    settings.GUANXI_SERVICE_EMAIL = DESK
    ticket = services.ticket_create(
        actor=company.agent,
        customer_id=company.rep_customer.pk,
        data={
            "type": "complaint",
            "subject": "Parcel arrived damaged",
            "language": "zh-hans",
            "requester_email": REQUESTER,
        },
    )
    [sent] = _replied(company, ticket, "请把照片发给我们。")
    answer = email_message(
        subject=f"Re: {sent.subject}", body="Photos attached, thanks.", message_id=None
    )
    filed = file_inbound_email(answer.as_bytes())
    assert filed.ticket.pk == ticket.pk
    assert Ticket.objects.get(pk=ticket.pk).language == "zh-hans"
    [again] = _replied(company, ticket, "已收到。")
    assert again.subject.endswith("回复：Parcel arrived damaged")


def _replied(company, ticket: Ticket, body: str):
    outbox.outbox.clear()
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.ticket_reply(actor=company.agent, ticket_id=ticket.pk, body=body)
    return [message for message in outbox.outbox if REQUESTER in message.to]


def test_the_page_in_chinese_shows_the_language_chosen(client, company, desk, clock):
    ticket = _typed_in_english(company)
    company.agent.language = "zh-hans"
    company.agent.save(update_fields=["language"])
    client.force_login(company.agent)
    page = client.get(f"/service/tickets/{ticket.pk}/").content.decode()
    assert "发给客户的邮件语言" in page
    assert '<option value="en" selected lang="en">English</option>' in page
    services.ticket_update(
        actor=company.agent,
        ticket_id=ticket.pk,
        expected_version=ticket.version,
        data={"language": "zh-hans"},
    )
    page = client.get(f"/service/tickets/{ticket.pk}/").content.decode()
    assert '<option value="zh-hans" selected lang="zh-hans">简体中文</option>' in page
    assert '<dd id="email-language" lang="zh-hans">简体中文</dd>' in page
