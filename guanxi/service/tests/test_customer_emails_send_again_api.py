"""Send again through the API, as the ticket page's button does it: whoever may reply on the
ticket, audited, once however often asked, every refusal naming ``email_id``; a ticket out of
sight answers 404, one the caller may only read 403."""

import pytest
from django.core import mail as outbox
from django.test import TestCase

from guanxi.api.tests.conftest import api_as  # noqa: F401  (the API's fixtures)
from guanxi.audit.models import AuditEvent
from guanxi.service import services
from guanxi.service.models import CustomerEmail, Ticket
from guanxi.service.tests.conftest import REQUESTER, complaint_by_email

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("desk_mail_settings")]

ANSWER = "退款已经加急处理，三天内到账。"
LOCMEM = "django.core.mail.backends.locmem.EmailBackend"
SENT_AGAIN = "email to the customer sent again"


@pytest.fixture
def ticket(company, desk, clock) -> Ticket:
    return complaint_by_email(company)


@pytest.fixture
def unsent(api_as, ticket, mail_server_down) -> CustomerEmail:  # noqa: F811
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = api_as("agent").post(f"/tickets/{ticket.pk}/replies", {"body": ANSWER})
    assert response.status_code == 201
    email = CustomerEmail.objects.get(message_id=response.json()["id"])
    assert email.not_sent
    return email


def _send_again(client, ticket: Ticket, email_id, **headers):
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(
            f"/tickets/{ticket.pk}/customer-emails/send-again",
            {"email_id": email_id},
            headers=headers,
        )


def _about_email_id(response) -> str:
    """The error messages about ``email_id`` in an answer of the one error shape."""
    return " ".join(e["message"] for e in response.json()["errors"] if e.get("field") == "email_id")


def _to_customer() -> list:
    return [message for message in outbox.outbox if REQUESTER in message.to]


def test_the_ticket_lists_what_was_not_sent_and_the_api_sends_it_again_once(
    api_as,  # noqa: F811
    settings,
    company,
    ticket,
    unsent,
):
    agent = api_as("agent")
    [listed] = agent.get(f"/tickets/{ticket.pk}").json()["customer_emails_not_sent"]
    assert (listed["id"], listed["kind"], listed["failure"]) == (unsent.pk, "reply", "unreachable")
    assert listed["message_id"] == unsent.message_id and listed["attempts"] == 1

    settings.EMAIL_BACKEND = LOCMEM
    response = _send_again(agent, ticket, unsent.pk)
    assert response.status_code == 200, response.json()
    assert response.json()["customer_emails_not_sent"] == []
    assert [m["customer_email"] for m in response.json()["messages"]] == ["sent"]
    assert [m.body for m in _to_customer()] == [ANSWER]
    assert AuditEvent.objects.filter(actor=company.agent, summary__endswith=SENT_AGAIN).count() == 1

    # A second click: nothing sent, and the answer says why, about the field.
    again = _send_again(agent, ticket, unsent.pk)
    assert again.status_code == 422
    assert "sent to the customer meanwhile" in _about_email_id(again)
    assert len(_to_customer()) == 1


def test_the_same_request_sent_twice_with_its_key_sends_once_and_answers_the_same(
    api_as,  # noqa: F811
    settings,
    ticket,
    unsent,
):
    agent = api_as("agent")
    settings.EMAIL_BACKEND = LOCMEM
    first = _send_again(agent, ticket, unsent.pk, **{"Idempotency-Key": "send-again-1"})
    second = _send_again(agent, ticket, unsent.pk, **{"Idempotency-Key": "send-again-1"})
    assert first.status_code == second.status_code == 200
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()
    assert len(_to_customer()) == 1
    assert AuditEvent.objects.filter(summary__endswith=SENT_AGAIN).count() == 1


def test_failing_again_is_refused_naming_the_field_and_recorded(
    api_as,  # noqa: F811
    ticket,
    unsent,
):
    response = _send_again(api_as("agent"), ticket, unsent.pk)
    assert response.status_code == 422
    assert "the mail server could not be reached" in _about_email_id(response)
    unsent.refresh_from_db()
    assert unsent.attempts == 2 and unsent.sent_at is None
    assert not AuditEvent.objects.filter(summary__endswith=SENT_AGAIN).exists()


def test_only_who_may_reply_on_the_ticket_sends_again_and_only_its_own_emails(
    api_as,  # noqa: F811
    settings,
    company,
    ticket,
    unsent,
):
    settings.EMAIL_BACKEND = LOCMEM
    # The analyst reads the ticket but may not write on it; a rep of another team does not see it.
    assert _send_again(api_as("analyst"), ticket, unsent.pk).status_code == 403
    assert _send_again(api_as("rep_west"), ticket, unsent.pk).status_code == 404
    other = services.ticket_create(
        actor=company.agent,
        customer_id=company.rep_customer.pk,
        data={"type": "inquiry", "subject": "发票"},
    )
    response = _send_again(api_as("agent"), other, unsent.pk)
    assert response.status_code == 422
    assert "no such email" in _about_email_id(response)
    assert _to_customer() == []
    assert CustomerEmail.objects.get(pk=unsent.pk).attempts == 1
