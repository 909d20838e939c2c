"""An email to the customer the mail server does not take — a reply, the satisfaction survey,
the acknowledgement of a request — is never lost without a word: what it belongs to is saved
and the request that wrote it answers as usual; the email is marked not sent on the ticket's
page and in the API, whoever may reply on the ticket can send it again (once, however often
they click), and the every-minute sweep tries it again for 24 hours, then leaves it marked."""

import pytest
from django.core import mail as outbox
from django.test import TestCase

from guanxi.api.tests.conftest import api_as  # noqa: F401  (the API's fixtures)
from guanxi.audit.models import AuditEvent
from guanxi.service import services, sweep
from guanxi.service.inbound import file_inbound_email
from guanxi.service.models import SatisfactionSurvey, Ticket, TicketMessage
from guanxi.service.tests.conftest import REQUESTER, complaint_by_email
from guanxi.service.tests.inbound_mail import email_message

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("desk_mail_settings")]

ANSWER = "退款已经加急处理，三天内到账。"
UNREACHABLE = "Not sent to the customer: the mail server could not be reached"
UNREACHABLE_ZH = "未发送给客户：无法连接邮件服务器"
LOCMEM = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def ticket(company, desk, clock) -> Ticket:
    """王芳's complaint, which she emailed (so a reply threads under her email)."""
    opened = complaint_by_email(company)
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.customer_message(
            ticket_id=opened.pk,
            body="箱子压坏了。",
            email_message_id="<first@example.cn>",
            email_from=REQUESTER,
        )
    outbox.outbox.clear()
    return Ticket.objects.get(pk=opened.pk)


def _post(client, ticket: Ticket, **fields):
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(f"/service/tickets/{ticket.pk}/", fields)


def _reply_on_the_page(client, ticket: Ticket, body: str = ANSWER):
    ticket.refresh_from_db()
    return _post(client, ticket, action="reply", version=ticket.version, body=body)


def _to_customer() -> list:
    return [message for message in outbox.outbox if REQUESTER in message.to]


def _email(body: str = ANSWER):
    return TicketMessage.objects.get(body=body).customer_email


def _mail_server_back(settings) -> None:
    settings.EMAIL_BACKEND = LOCMEM


def test_a_reply_the_mail_server_cannot_take_is_saved_answered_as_usual_and_marked(
    client, company, ticket, mail_server_down, caplog
):
    client.force_login(company.agent)
    response = _reply_on_the_page(client, ticket)
    assert response.status_code == 302
    message = TicketMessage.objects.get(body=ANSWER)
    assert message.email_message_id == ""  # only once sent
    email = message.customer_email
    assert (email.sent_at, email.attempts, email.failure) == (None, 1, "unreachable")
    assert "Could not email the customer about ticket" in caplog.text

    page = client.get(f"/service/tickets/{ticket.pk}/").content.decode()
    assert UNREACHABLE in page
    assert f'name="email_id" value="{email.pk}"' in page
    client.cookies["django_language"] = "zh-hans"
    page = client.get(f"/service/tickets/{ticket.pk}/").content.decode()
    assert UNREACHABLE_ZH in page
    assert "重新发送" in page


@pytest.mark.django_db(transaction=True)
def test_committed_for_real_the_reply_request_still_answers_as_usual(
    client, company, ticket, mail_server_down
):
    # The reply commits inside the request, and its email is sent there, as in production.
    client.force_login(company.agent)
    response = client.post(
        f"/service/tickets/{ticket.pk}/", {"action": "reply", "version": ticket.version,
        "body": ANSWER},
    )  # fmt: skip
    assert response.status_code == 302
    assert _email().not_sent


def test_a_reply_the_mail_server_refuses_is_marked_as_refused(client, company, ticket, mail_server):
    mail_server.refused = {REQUESTER}
    client.force_login(company.agent)
    assert _reply_on_the_page(client, ticket).status_code == 302
    assert _email().failure == "refused"
    page = client.get(f"/service/tickets/{ticket.pk}/").content.decode()
    assert "Not sent to the customer: the mail server refused it" in page


def test_the_api_says_whether_a_reply_reached_the_mail_server(
    api_as,  # noqa: F811
    settings,
    company,
    ticket,
    mail_server_down,
):
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = api_as("agent").post(f"/tickets/{ticket.pk}/replies", {"body": ANSWER})
    assert response.status_code == 201, response.json()
    _mail_server_back(settings)
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.ticket_reply(actor=company.agent, ticket_id=ticket.pk, body="还有问题请告诉我们。")
        services.ticket_note(actor=company.agent, ticket_id=ticket.pk, body="财务已批。")
    messages = api_as("agent").get(f"/tickets/{ticket.pk}").json()["messages"]
    assert [(m["kind"], m["customer_email"]) for m in messages] == [
        ("customer", None),
        ("reply", "not_sent"),
        ("reply", "sent"),
        ("note", None),
    ]


def test_sent_again_once_the_server_works_threaded_audited_and_unmarked(
    client, settings, company, ticket, mail_server_down
):
    client.force_login(company.agent)
    _reply_on_the_page(client, ticket)
    email = _email()
    _mail_server_back(settings)

    response = _post(client, ticket, action="send_again", email_id=email.pk)
    assert response.status_code == 302
    [sent] = _to_customer()
    assert sent.body == ANSWER
    # Threaded under the customer's email, and the customer's answer to it threads back.
    assert sent.extra_headers["In-Reply-To"] == "<first@example.cn>"
    assert (
        TicketMessage.objects.get(body=ANSWER).email_message_id == sent.extra_headers["Message-ID"]
    )
    assert AuditEvent.objects.filter(
        actor=company.agent, summary__endswith="email to the customer sent again"
    ).exists()
    page = client.get(f"/service/tickets/{ticket.pk}/").content.decode()
    assert UNREACHABLE not in page
    assert "Sent to the customer." in page

    # The next reply threads under the one sent again.
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.ticket_reply(actor=company.agent, ticket_id=ticket.pk, body="已到账。")
    assert _to_customer()[-1].extra_headers["In-Reply-To"] == sent.extra_headers["Message-ID"]


def test_a_second_click_on_send_again_sends_nothing_and_says_why(
    client, settings, company, ticket, mail_server_down
):
    client.force_login(company.agent)
    _reply_on_the_page(client, ticket)
    email = _email()
    _mail_server_back(settings)
    assert _post(client, ticket, action="send_again", email_id=email.pk).status_code == 302
    response = _post(client, ticket, action="send_again", email_id=email.pk)
    assert response.status_code == 422
    assert "This email was sent to the customer meanwhile" in response.content.decode()
    assert len(_to_customer()) == 1


def test_send_again_failing_again_says_so_and_keeps_the_mark(
    client, company, ticket, mail_server_down
):
    client.force_login(company.agent)
    _reply_on_the_page(client, ticket)
    response = _post(client, ticket, action="send_again", email_id=_email().pk)
    assert response.status_code == 422
    assert UNREACHABLE in response.content.decode()
    assert _email().attempts == 2
    assert not AuditEvent.objects.filter(
        summary__endswith="email to the customer sent again"
    ).exists()


def test_only_who_may_reply_on_the_ticket_sends_again_and_only_its_own_emails(
    client, settings, company, ticket, mail_server_down
):
    client.force_login(company.agent)
    _reply_on_the_page(client, ticket)
    email = _email()
    _mail_server_back(settings)
    # The analyst sees the ticket but may not write on it; a rep of another team does not see it.
    client.force_login(company.analyst)
    page = client.get(f"/service/tickets/{ticket.pk}/").content.decode()
    assert UNREACHABLE in page and 'value="send_again"' not in page
    assert _post(client, ticket, action="send_again", email_id=email.pk).status_code == 403
    client.force_login(company.rep_west)
    assert _post(client, ticket, action="send_again", email_id=email.pk).status_code == 404
    # Another ticket's page cannot send it.
    client.force_login(company.agent)
    other = services.ticket_create(
        actor=company.agent, customer_id=company.rep_customer.pk, data={"type": "inquiry",
        "subject": "发票"},
    )  # fmt: skip
    response = _post(client, other, action="send_again", email_id=email.pk)
    assert response.status_code == 422
    assert _to_customer() == []


def test_the_sweep_sends_it_again_once_the_server_works(
    client, settings, company, ticket, clock, mail_server_down
):
    client.force_login(company.agent)
    _reply_on_the_page(client, ticket)
    clock.advance(minutes=1)
    sweep.sla_sweep()  # still down: tried again, still marked
    assert _email().attempts == 2 and _email().sent_at is None

    _mail_server_back(settings)
    clock.advance(hours=23)
    result = sweep.sla_sweep()
    assert result.customer_emails == 1
    [sent] = _to_customer()
    assert sent.extra_headers["In-Reply-To"] == "<first@example.cn>"
    assert (
        TicketMessage.objects.get(body=ANSWER).email_message_id == sent.extra_headers["Message-ID"]
    )
    assert sweep.sla_sweep().customer_emails == 0
    assert len(_to_customer()) == 1


def test_after_24_hours_the_sweep_leaves_it_for_a_person(
    client, settings, company, ticket, clock, mail_server_down
):
    client.force_login(company.agent)
    _reply_on_the_page(client, ticket)
    _mail_server_back(settings)
    clock.advance(hours=24, minutes=1)
    assert sweep.sla_sweep().customer_emails == 0
    assert _to_customer() == []
    page = client.get(f"/service/tickets/{ticket.pk}/").content.decode()
    assert UNREACHABLE in page
    assert "No longer tried again automatically" in page
    assert _post(client, ticket, action="send_again", email_id=_email().pk).status_code == 302
    assert [m.body for m in _to_customer()] == [ANSWER]


def test_a_server_that_is_down_costs_the_sweep_one_attempt(
    client, company, ticket, clock, mail_server_down
):
    client.force_login(company.agent)
    _reply_on_the_page(client, ticket)
    _reply_on_the_page(client, ticket, body="补充一句。")
    clock.advance(minutes=1)
    sweep.sla_sweep()
    assert sorted(_email(b).attempts for b in (ANSWER, "补充一句。")) == [1, 2]


def test_a_survey_not_sent_is_marked_sent_again_and_retried(
    client, settings, company, ticket, clock, mail_server_down
):
    client.force_login(company.agent)
    ticket.refresh_from_db()
    response = _post(client, ticket, action="status", status="resolved", version=ticket.version)
    assert response.status_code == 302
    assert SatisfactionSurvey.objects.filter(ticket=ticket).exists()
    [survey] = ticket.customer_emails.filter(kind="survey")
    assert survey.sent_at is None and survey.attempts == 1
    page = client.get(f"/service/tickets/{ticket.pk}/").content.decode()
    assert "The satisfaction survey" in page and UNREACHABLE in page

    # Resolved again after the customer wrote: one survey to send, not two.
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.customer_message(ticket_id=ticket.pk, body="还是不行。")
        services.ticket_set_status(actor=company.agent, ticket_id=ticket.pk, status="resolved")
    [survey] = ticket.customer_emails.filter(kind="survey")

    _mail_server_back(settings)
    clock.advance(minutes=1)
    assert sweep.sla_sweep().customer_emails == 1
    [sent] = _to_customer()
    assert sent.body.startswith(f"您的请求 {ticket.number} 已解决。")
    page = client.get(f"/service/tickets/{ticket.pk}/").content.decode()
    assert "The satisfaction survey" not in page


def test_an_acknowledgement_not_sent_files_the_request_and_is_retried(
    client, settings, company, desk, clock, mail_server_down, caplog
):
    with TestCase.captureOnCommitCallbacks(execute=True):
        filed = file_inbound_email(email_message().as_bytes()).ticket
    [acknowledgement] = filed.customer_emails.all()
    assert acknowledgement.kind == "acknowledgement" and acknowledgement.sent_at is None
    assert "Could not email the customer about ticket" in caplog.text
    client.force_login(company.agent)
    page = client.get(f"/service/tickets/{filed.pk}/").content.decode()
    assert "The acknowledgement of the request" in page and UNREACHABLE in page

    _mail_server_back(settings)
    clock.advance(minutes=1)
    assert sweep.sla_sweep().customer_emails == 1
    [sent] = outbox.outbox
    assert sent.body.startswith(f"我们已收到您的请求 {filed.number}")


def test_a_survey_not_sent_is_dropped_when_the_customer_writes_and_the_ticket_reopens(
    client, settings, company, ticket, clock, mail_server_down
):
    client.force_login(company.agent)
    ticket.refresh_from_db()
    _post(client, ticket, action="status", status="resolved", version=ticket.version)
    assert ticket.customer_emails.filter(kind="survey", sent_at=None).exists()

    with TestCase.captureOnCommitCallbacks(execute=True):
        services.customer_message(ticket_id=ticket.pk, body="还是不行。")
    assert Ticket.objects.get(pk=ticket.pk).status == Ticket.Status.OPEN

    # The request is open again: "it has been resolved, how satisfied are you?" would be untrue.
    _mail_server_back(settings)
    clock.advance(minutes=1)
    assert sweep.sla_sweep().customer_emails == 0
    assert _to_customer() == []
    page = client.get(f"/service/tickets/{ticket.pk}/").content.decode()
    assert "The satisfaction survey" not in page


def test_an_email_not_tried_yet_is_left_to_its_request_then_sent_by_the_sweep(
    company, ticket, clock
):
    # The reply committed; its own sending, after the commit, has not run yet (it is running
    # this moment, or the process ended before it could).
    services.ticket_reply(actor=company.agent, ticket_id=ticket.pk, body=ANSWER)
    assert _email().attempts == 0

    # A sweep that came now would send it alongside the request's own sending, which SQLite
    # cannot lock against.
    assert sweep.sla_sweep().customer_emails == 0
    clock.advance(seconds=30)
    assert sweep.sla_sweep().customer_emails == 0
    assert _to_customer() == []

    # Still unsent minutes later: the request never sent it, and the sweep does, once.
    clock.advance(minutes=5)
    assert sweep.sla_sweep().customer_emails == 1
    assert [m.body for m in _to_customer()] == [ANSWER]
    assert sweep.sla_sweep().customer_emails == 0
