"""A customer in the recycle bin writes again on one of their resolved tickets, by email or on
the status page. Reopened where it was, the ticket would be open where nobody may see it; the
message is filed as a new request instead, as new mail from a binned customer's address is: in
the queue, under a customer outside the recycle bin, the requester told its number, and each of
the two tickets names the other."""

import pytest
from django.core import mail as outbox
from django.test import TestCase
from django.urls import resolve, reverse

from guanxi.customers.models import Customer, Email
from guanxi.customers.services import customer_delete
from guanxi.service import mail, services
from guanxi.service.inbound import file_inbound_email
from guanxi.service.models import Ticket, TicketMessage
from guanxi.service.selectors import OPEN, tickets_for_user
from guanxi.service.tests.inbound_mail import DESK, email_message

pytestmark = pytest.mark.django_db

ADDRESS = "zw@example.com"
AGAIN = "退款还是没有到账，请再查一下。"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.GUANXI_SERVICE_EMAIL = DESK


@pytest.fixture
def binned(company, desk) -> tuple[Ticket, str]:
    """A resolved ticket of the rep's customer, who is then binned, and the subject of the
    desk's answer on it."""
    Email.objects.create(customer=company.rep_customer, address=ADDRESS)
    ticket = services.ticket_create(
        actor=company.agent,
        customer_id=company.rep_customer.pk,
        data={"type": "complaint", "subject": "退款", "requester_email": ADDRESS},
    )
    outbox.outbox.clear()
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.ticket_reply(
            actor=company.agent, ticket_id=ticket.pk, body="已经退款。", status="resolved"
        )
    sent = next(message for message in outbox.outbox if message.to == [ADDRESS])
    outbox.outbox.clear()
    customer_delete(actor=company.admin, customer_id=company.rep_customer.pk)
    return Ticket.objects.get(pk=ticket.pk), sent.subject


def _status_page_of(location: str) -> int | None:
    """The ticket whose status page ``location`` is. Its token is signed with the time, to the
    second, so it is read rather than compared with one made a moment later."""
    match = resolve(location)
    assert match.view_name == "service:public_status"
    return mail.ticket_id_from_status_token(match.kwargs["token"])


def _filed_anew(company, old: Ticket, new: Ticket) -> None:
    old.refresh_from_db()
    assert old.status == Ticket.Status.RESOLVED
    assert not old.messages.filter(kind=TicketMessage.Kind.CUSTOMER, body=AGAIN).exists()
    [pointer] = old.messages.filter(kind=TicketMessage.Kind.NOTE)
    assert new.number in pointer.body
    assert Customer.objects.get(pk=company.rep_customer.pk).deleted_at is not None

    assert new.pk != old.pk and new.status in Ticket.OPEN_STATUSES
    assert new.customer.deleted_at is None and new.customer.owner_id is None
    assert new.requester_email == ADDRESS
    assert new.messages.filter(kind=TicketMessage.Kind.CUSTOMER, body=AGAIN).exists()
    [note] = new.messages.filter(kind=TicketMessage.Kind.NOTE)
    assert old.number in note.body
    # Someone sees it: the desk's queue lists it.
    assert tickets_for_user(company.agent, status=OPEN).filter(pk=new.pk).exists()
    [ack] = outbox.outbox
    assert ack.to == [ADDRESS] and mail.ticket_id_from_subject(ack.subject) == new.pk


def test_an_email_reply_on_a_binned_customers_ticket_is_a_new_request(company, desk, binned):
    old, subject = binned
    raw = email_message(sender=f"张伟 <{ADDRESS}>", subject=f"Re: {subject}", body=AGAIN)
    with TestCase.captureOnCommitCallbacks(execute=True):
        result = file_inbound_email(raw.as_bytes())
    assert result.action == "created" and "recycle bin" in result.reason
    new = result.ticket
    _filed_anew(company, old, new)
    assert new.subject == "退款" and new.channel == Ticket.Channel.EMAIL
    assert new.customer.name == "张伟"
    # The same email again is recognised.
    assert file_inbound_email(raw.as_bytes()).action == "duplicate"


def test_the_status_page_files_a_binned_customers_message_as_a_new_request(
    client, company, desk, binned
):
    old, _subject = binned
    url = reverse("service:public_status", args=[mail.status_link_token(old.pk)])
    with TestCase.captureOnCommitCallbacks(execute=True):
        answer = client.post(url, {"body": AGAIN})
    new = Ticket.objects.exclude(pk=old.pk).get(requester_email=ADDRESS)
    _filed_anew(company, old, new)
    # The customer is taken to the new ticket's page, where the message is.
    assert answer.status_code == 302
    assert _status_page_of(answer["Location"]) == new.pk


def test_the_status_page_of_a_merged_ticket_files_the_message_for_its_own_requester(
    client, company, desk
):
    """The ticket whose page it is was merged into one another person asked for: the new
    request is its own requester's, whose page the writer is taken to, not the other's."""
    other = "colleague@example.com"
    Email.objects.create(customer=company.rep_customer, address=ADDRESS)
    first, kept = (
        services.ticket_create(
            actor=company.agent,
            customer_id=company.rep_customer.pk,
            data={"type": "complaint", "subject": "退款", "requester_email": requester},
        )
        for requester in (ADDRESS, other)
    )
    services.ticket_merge(actor=company.agent, ticket_id=first.pk, into_id=kept.pk)
    services.ticket_reply(
        actor=company.agent, ticket_id=kept.pk, body="已经退款。", status="resolved"
    )
    customer_delete(actor=company.admin, customer_id=company.rep_customer.pk)
    outbox.outbox.clear()
    url = reverse("service:public_status", args=[mail.status_link_token(first.pk)])
    with TestCase.captureOnCommitCallbacks(execute=True):
        answer = client.post(url, {"body": AGAIN})
    new = Ticket.objects.get(messages__kind=TicketMessage.Kind.CUSTOMER, messages__body=AGAIN)
    assert new.pk not in (first.pk, kept.pk)
    assert new.requester_email == ADDRESS
    assert _status_page_of(answer["Location"]) == new.pk
    assert [message.to for message in outbox.outbox] == [[ADDRESS]]


def test_the_status_page_of_a_merged_ticket_keeps_its_writer_there_when_no_one_is_binned(
    client, company, desk
):
    """Outside the recycle bin the message goes into the ticket the page's was merged into, and
    the writer stays on their own ticket's page: the other's page shows the desk's answers to
    whoever asked for that one."""
    Email.objects.create(customer=company.rep_customer, address=ADDRESS)
    first, kept = (
        services.ticket_create(
            actor=company.agent,
            customer_id=company.rep_customer.pk,
            data={"type": "complaint", "subject": "退款", "requester_email": requester},
        )
        for requester in (ADDRESS, "colleague@example.com")
    )
    services.ticket_merge(actor=company.agent, ticket_id=first.pk, into_id=kept.pk)
    url = reverse("service:public_status", args=[mail.status_link_token(first.pk)])
    answer = client.post(url, {"body": AGAIN})
    assert kept.messages.filter(kind=TicketMessage.Kind.CUSTOMER, body=AGAIN).exists()
    assert _status_page_of(answer["Location"]) == first.pk
