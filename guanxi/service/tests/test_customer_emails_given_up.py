"""When the sweep stops trying an email to the customer (24 hours after it was written), whoever
holds the ticket hears of it on the bell, once, in their language, with the ticket linked:
otherwise nobody would know the customer never got it. An email the sweep never tried at all
(it was not running for a day) is marked not sent and told of likewise, instead of being left
unmarked where nobody would look for it."""

import pytest
from django.core import mail as outbox
from django.test import TestCase

from guanxi.api.tests.conftest import api_as  # noqa: F401  (the API's fixtures)
from guanxi.service import services, sweep
from guanxi.service.models import CustomerEmail, Notification, Ticket, TicketMessage
from guanxi.service.tests.conftest import complaint_by_email

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("desk_mail_settings")]

ANSWER = "退款已经加急处理，三天内到账。"
TOLD = "a reply was not sent to the customer and is no longer tried again"
TOLD_ZH = "一条回复未能发送给客户，已不再自动重试"


@pytest.fixture
def ticket(company, desk, clock) -> Ticket:
    return complaint_by_email(company)


def _reply_not_sent(company, ticket: Ticket) -> CustomerEmail:
    with TestCase.captureOnCommitCallbacks(execute=True):
        message = services.ticket_reply(actor=company.agent, ticket_id=ticket.pk, body=ANSWER)
    email = CustomerEmail.objects.get(message=message)
    assert email.not_sent
    return email


def _told(user) -> list[Notification]:
    return list(Notification.objects.filter(user=user, text__contains=TOLD)) + list(
        Notification.objects.filter(user=user, text__contains=TOLD_ZH)
    )


def test_the_assignee_is_told_once_in_their_language_when_the_retries_end(
    company, desk, ticket, clock, mail_server_down
):
    assert ticket.assignee == company.agent
    company.agent.language = "zh-hans"
    company.agent.save()
    _reply_not_sent(company, ticket)
    clock.advance(hours=23, minutes=59)
    assert sweep.sla_sweep().customer_emails_given_up == 0
    assert _told(company.agent) == []

    clock.advance(minutes=2)
    assert sweep.sla_sweep().customer_emails_given_up == 1
    [notice] = _told(company.agent)
    assert notice.ticket_id == ticket.pk
    assert notice.text.startswith(f"{ticket.number}：") or notice.text.startswith(ticket.number)
    assert TOLD_ZH in notice.text
    # Nobody else holds the ticket: the lead and the second agent hear nothing.
    assert _told(desk.lead) == [] and _told(desk.second) == []

    # Once: later sweeps tell nobody again.
    clock.advance(hours=1)
    assert sweep.sla_sweep().customer_emails_given_up == 0
    assert len(_told(company.agent)) == 1


def test_a_ticket_nobody_holds_tells_whom_its_warning_would_tell(
    company, desk, ticket, clock, mail_server_down
):
    _reply_not_sent(company, ticket)
    Ticket.objects.filter(pk=ticket.pk).update(assignee=None, owner=None)
    clock.advance(hours=24, minutes=1)
    assert sweep.sla_sweep().customer_emails_given_up == 1
    # As for the service-level warning of a ticket nobody holds: its team's lead.
    [notice] = _told(desk.lead)
    assert notice.ticket_id == ticket.pk and notice.text.startswith(ticket.number)
    assert _told(company.agent) == []


def test_an_email_never_tried_for_a_day_is_marked_not_sent_and_told(
    api_as,  # noqa: F811
    client,
    settings,
    company,
    ticket,
    clock,
):
    # The reply committed, and the process ended before its email was sent; the sweep was not
    # running for the day after.
    services.ticket_reply(actor=company.agent, ticket_id=ticket.pk, body=ANSWER)
    email = TicketMessage.objects.get(body=ANSWER).customer_email
    assert (email.attempts, email.failed_at) == (0, None)

    clock.advance(hours=24, minutes=1)
    result = sweep.sla_sweep()
    assert (result.customer_emails, result.customer_emails_given_up) == (0, 1)
    assert outbox.outbox == []
    email.refresh_from_db()
    assert email.not_sent and email.given_up
    assert (email.attempts, email.failure) == (0, "not_tried")
    [notice] = _told(company.agent)
    assert notice.ticket_id == ticket.pk

    client.force_login(company.agent)
    page = client.get(f"/service/tickets/{ticket.pk}/").content.decode()
    assert "Not sent to the customer: it was not tried within 24 hours" in page
    assert "No longer tried again automatically" in page
    messages = api_as("agent").get(f"/tickets/{ticket.pk}").json()["messages"]
    assert [m["customer_email"] for m in messages if m["kind"] == "reply"] == ["not_sent"]

    # Sent again by hand, it goes out once; the sweep neither sends nor tells again.
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(
            f"/service/tickets/{ticket.pk}/", {"action": "send_again", "email_id": email.pk}
        )
    assert response.status_code == 302
    assert [m.body for m in outbox.outbox] == [ANSWER]
    assert sweep.sla_sweep().customer_emails_given_up == 0
    assert len(outbox.outbox) == 1 and len(_told(company.agent)) == 1
