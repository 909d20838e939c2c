"""How a sending of an email to the customer ends when its row changed while the mail server
was answering (no lock is held then, only the claim): the email dropped meanwhile (a survey,
when its ticket reopens or is merged), or its claim taken over by someone else because it was
older than a claim holds. The sending records how it went only on the row it claimed: it does
not fail after the mail server took the email, nor does it clear the claim of whoever took
over, which would let a third sender send the email at the same time. Each sender runs on a
thread of its own, and so on a connection of its own, against the database the suite runs on."""

import pytest
from django.core import mail as outbox

from guanxi.core.testing.threads import hold_before, in_thread
from guanxi.service import mail, services
from guanxi.service.models import CustomerEmail, claim_holds_for
from guanxi.service.tests.conftest import REQUESTER, complaint_by_email

pytestmark = pytest.mark.django_db(transaction=True)

LOCMEM = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def ticket(company, desk, mail_server_down):
    return complaint_by_email(company)


def test_a_survey_dropped_while_it_is_being_sent_ends_its_sending_without_an_error(
    company, ticket, settings, monkeypatch
):
    services.ticket_set_status(actor=company.agent, ticket_id=ticket.pk, status="resolved")
    survey = CustomerEmail.objects.get(ticket=ticket, kind=CustomerEmail.Kind.SURVEY)
    assert survey.not_sent
    settings.EMAIL_BACKEND = LOCMEM
    hold = hold_before(monkeypatch, mail, "send_to_customer", thread="sweep")
    results: dict = {}
    sending = in_thread(lambda: services.customer_email_send(survey.pk), results, "sweep")
    try:
        assert hold.reached.wait(30)
        # The customer answers meanwhile and the ticket opens again: the survey is dropped.
        services.ticket_set_status(actor=company.agent, ticket_id=ticket.pk, status="open")
        assert not CustomerEmail.objects.filter(pk=survey.pk).exists()
    finally:
        hold.go.set()
        sending.join(30)
    # It was on its way to the mail server, which took it: that is all there is to say.
    assert results["sweep"][0] == "ok", results["sweep"]
    assert results["sweep"][1] is True
    assert [message.to for message in outbox.outbox] == [[REQUESTER]]


def test_a_sender_whose_claim_was_taken_over_leaves_the_new_claim_alone(
    company, ticket, monkeypatch
):
    message = services.ticket_reply(actor=company.agent, ticket_id=ticket.pk, body="已处理。")
    email = CustomerEmail.objects.get(message=message)
    assert email.not_sent and email.sending_since is None
    first_hold = hold_before(monkeypatch, mail, "send_to_customer", thread="first")
    second_hold = hold_before(monkeypatch, mail, "send_to_customer", thread="second")
    results: dict = {}
    first = in_thread(lambda: services.customer_email_send(email.pk), results, "first")
    second = None
    try:
        assert first_hold.reached.wait(30)
        # The first sending has lasted longer than a claim holds: the next sender takes it over.
        claimed = CustomerEmail.objects.get(pk=email.pk).sending_since
        CustomerEmail.objects.filter(pk=email.pk).update(
            sending_since=claimed - 2 * claim_holds_for()
        )
        second = in_thread(lambda: services.customer_email_send(email.pk), results, "second")
        assert second_hold.reached.wait(30)

        # The first ends (the mail server is down) while the second is still sending.
        first_hold.go.set()
        first.join(30)
        assert results["first"] == ("ok", False), results["first"]
        assert CustomerEmail.objects.get(pk=email.pk).sending_since is not None
        # So a third sender is told it is being sent, and does not send it too.
        assert services.customer_email_send(email.pk) is None
    finally:
        first_hold.go.set()
        second_hold.go.set()
        first.join(30)
        if second is not None:
            second.join(30)
    assert results["second"] == ("ok", False), results["second"]
    email.refresh_from_db()
    assert email.sending_since is None and email.sent_at is None
    # The reply's own attempt and the second sender's: the first, taken over, records nothing.
    assert email.attempts == 2
