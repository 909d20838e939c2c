"""A customer in the recycle bin writes again and again on one of their resolved tickets. The
first message starts a new request; the later ones, from the same address, go to that request
rather than each starting one of its own, as long as it is there for them: deleted, or its own
customer binned too, it is not, and the next message starts one anew."""

import pytest
from django.core import mail as outbox
from django.db.models import RestrictedError
from django.test import TestCase
from django.urls import resolve, reverse

from guanxi.audit.models import AuditEvent
from guanxi.customers.models import Customer, Email
from guanxi.customers.services import customer_delete, customer_restore
from guanxi.service import mail, services
from guanxi.service.inbound import file_inbound_email
from guanxi.service.models import Ticket, TicketMessage
from guanxi.service.tests.inbound_mail import DESK, email_message

pytestmark = pytest.mark.django_db

ADDRESS = "zw@example.com"
FIRST, SECOND, THIRD = "退款还是没有到账。", "今天还是没有。", "请给我回电话。"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.GUANXI_SERVICE_EMAIL = DESK


def _binned_ticket(company, *, requester: str = ADDRESS, copied: str = "") -> Ticket:
    """A resolved ticket of the rep's customer, who is then binned. ``copied``: someone the
    customer copied an email on it to, who may write to it too."""
    Email.objects.create(customer=company.rep_customer, address=ADDRESS)
    ticket = services.ticket_create(
        actor=company.agent,
        customer_id=company.rep_customer.pk,
        data={"type": "complaint", "subject": "退款", "requester_email": requester},
    )
    if copied:
        raw = email_message(
            sender=ADDRESS,
            subject=f"Re: {mail.ticket_token(ticket.pk)} 退款",
            headers={"Cc": copied},
        )
        assert file_inbound_email(raw.as_bytes()).action == "added"
    services.ticket_reply(
        actor=company.agent, ticket_id=ticket.pk, body="已经退款。", status="resolved"
    )
    customer_delete(actor=company.admin, customer_id=company.rep_customer.pk)
    outbox.outbox.clear()
    return ticket


@pytest.fixture
def binned(company, desk) -> Ticket:
    return _binned_ticket(company)


def _post(client, ticket_id: int, body: str) -> int | None:
    """Write ``body`` on ticket ``ticket_id``'s status page; the ticket whose page the writer is
    taken to."""
    url = reverse("service:public_status", args=[mail.status_link_token(ticket_id)])
    with TestCase.captureOnCommitCallbacks(execute=True):
        answer = client.post(url, {"body": body})
    assert answer.status_code == 302
    match = resolve(answer["Location"])
    return mail.ticket_id_from_status_token(match.kwargs["token"])


def _started_from(old: Ticket) -> list[Ticket]:
    """The requests the customer's messages started (the desk opened none but ``old``)."""
    return list(Ticket.objects.exclude(pk=old.pk).filter(created_by=None).order_by("pk"))


def _customer_wrote(ticket: Ticket) -> list[str]:
    return list(
        ticket.messages.filter(kind=TicketMessage.Kind.CUSTOMER)
        .order_by("pk")
        .values_list("body", flat=True)
    )


def test_later_posts_on_the_status_page_go_to_the_request_the_first_started(
    client, company, binned
):
    first_page = _post(client, binned.pk, FIRST)
    [new] = _started_from(binned)
    assert first_page == new.pk and new.continues_id == binned.pk
    # The desk resolves it; the customer, still on the old ticket's page, writes again twice.
    services.ticket_reply(
        actor=company.agent, ticket_id=new.pk, body="已经查了。", status="resolved"
    )
    outbox.outbox.clear()
    assert _post(client, binned.pk, SECOND) == new.pk
    assert _post(client, binned.pk, THIRD) == new.pk

    assert _started_from(binned) == [new]
    new.refresh_from_db()
    assert _customer_wrote(new) == [FIRST, SECOND, THIRD]
    assert new.status == Ticket.Status.OPEN  # opened again, as a message on its own page does
    # Not acknowledged again: the customer was told the request's number once.
    assert [message for message in outbox.outbox if ADDRESS in message.to] == []
    binned.refresh_from_db()
    assert binned.status == Ticket.Status.RESOLVED and _customer_wrote(binned) == []
    assert binned.messages.filter(kind=TicketMessage.Kind.NOTE).count() == 1


def test_later_email_replies_go_to_the_request_the_first_started(company, binned):
    subject = f"Re: {mail.ticket_token(binned.pk)} 退款"
    results = []
    for body in (FIRST, SECOND):
        raw = email_message(sender=f"张伟 <{ADDRESS}>", subject=subject, body=body)
        with TestCase.captureOnCommitCallbacks(execute=True):
            results.append(file_inbound_email(raw.as_bytes()))
    [new] = _started_from(binned)
    assert [result.action for result in results] == ["created", "added"]
    assert results[1].ticket == new and "recycle bin" in results[1].reason
    assert _customer_wrote(new) == [FIRST, SECOND]
    # One acknowledgement, of the first.
    assert [mail.ticket_id_from_subject(message.subject) for message in outbox.outbox] == [new.pk]
    # The same email again is recognised.
    assert file_inbound_email(raw.as_bytes()).action == "duplicate"
    assert _customer_wrote(new) == [FIRST, SECOND]


def test_a_request_merged_away_takes_the_message_on_but_the_writer_stays_on_their_own_page(
    client, company, binned
):
    """The new request is merged into another ticket of its customer, asked for by someone
    else: the message goes where the conversation went on, and the writer is taken to the page
    of their own request, never to the other requester's."""
    _post(client, binned.pk, FIRST)
    [new] = _started_from(binned)
    kept = services.ticket_create(
        actor=company.agent,
        customer_id=new.customer_id,
        data={"type": "complaint", "subject": "退款", "requester_email": "other@example.com"},
    )
    services.ticket_merge(actor=company.agent, ticket_id=new.pk, into_id=kept.pk)
    assert _post(client, binned.pk, SECOND) == new.pk
    assert SECOND in _customer_wrote(kept)
    assert _started_from(binned) == [new]


def test_another_address_writing_on_the_ticket_starts_its_own_request(company, desk):
    """Only the address the request is for joins it: its page shows the desk's answers to
    them, and the acknowledgement went to them."""
    colleague = "li@example.com"
    binned = _binned_ticket(company, copied=colleague)
    subject = f"Re: {mail.ticket_token(binned.pk)} 退款"
    for sender, body in ((ADDRESS, FIRST), (colleague, SECOND), (colleague, THIRD)):
        raw = email_message(sender=sender, subject=subject, body=body)
        with TestCase.captureOnCommitCallbacks(execute=True):
            file_inbound_email(raw.as_bytes())
    mine, theirs = _started_from(binned)
    assert (mine.requester_email, _customer_wrote(mine)) == (ADDRESS, [FIRST])
    assert (theirs.requester_email, _customer_wrote(theirs)) == (colleague, [SECOND, THIRD])


def test_a_request_whose_customer_is_binned_too_is_not_continued(client, company, binned):
    _post(client, binned.pk, FIRST)
    [new] = _started_from(binned)
    services.ticket_reply(
        actor=company.agent, ticket_id=new.pk, body="已经查了。", status="resolved"
    )
    customer_delete(actor=company.admin, customer_id=new.customer_id)
    later_page = _post(client, binned.pk, SECOND)
    first, later = _started_from(binned)
    assert first == new and later_page == later.pk
    assert _customer_wrote(later) == [SECOND] and later.customer.deleted_at is None
    assert _post(client, binned.pk, THIRD) == later.pk


def test_a_request_deleted_since_is_not_continued(client, company, binned):
    """Its customer removed for good (the recycle bin emptied), the request went with it; the
    next message starts one anew."""
    _post(client, binned.pk, FIRST)
    [new] = _started_from(binned)
    Customer.objects.filter(pk=new.customer_id).delete()
    assert _post(client, binned.pk, SECOND) != new.pk
    [later] = _started_from(binned)
    assert _customer_wrote(later) == [SECOND]


def test_the_ticket_a_request_continues_is_not_deleted_from_under_it(client, company, binned):
    """Which ticket a request continues is a change of the request: it is never cleared
    without its audit row by the old ticket going. Deleting the old ticket, or its customer
    with it, while another customer's request continues it is refused, and nothing changes:
    whatever comes to empty the recycle bin must clear the link first, on record. Deleted
    together (every ticket at once), both go."""
    _post(client, binned.pk, FIRST)
    [new] = _started_from(binned)
    audited = AuditEvent.objects.count()

    with pytest.raises(RestrictedError):
        Customer.objects.filter(pk=company.rep_customer.pk).delete()
    with pytest.raises(RestrictedError):
        Ticket.objects.filter(pk=binned.pk).delete()

    new.refresh_from_db()
    assert new.continues_id == binned.pk
    assert Ticket.objects.filter(pk=binned.pk).exists()
    assert Customer.objects.filter(pk=company.rep_customer.pk).exists()
    assert AuditEvent.objects.count() == audited
    Ticket.objects.filter(pk__in=[binned.pk, new.pk]).delete()
    assert not Ticket.objects.filter(pk__in=[binned.pk, new.pk]).exists()


def test_a_writer_without_an_address_is_not_named_after_the_binned_customer(client, company, desk):
    """The ticket has no requester's address: the new customer holds nothing of the binned
    one, neither its name nor its addresses, is named after the page written on, and the desk
    is told it can answer only there."""
    old = _binned_ticket(company, requester="")
    binned_name = Customer.objects.get(pk=company.rep_customer.pk).name
    assert _post(client, old.pk, FIRST) == _post(client, old.pk, SECOND)
    [new] = _started_from(old)
    assert _customer_wrote(new) == [FIRST, SECOND]
    customer = new.customer
    assert customer.name != binned_name and old.number in customer.name
    assert customer.name != old.number
    assert not customer.emails.exists() and not customer.phones.exists()
    assert new.requester_email == ""
    # Besides the note naming the old ticket, one saying there is no address to answer to
    # (written in the language of the page the writer was on).
    notes = new.messages.filter(kind=TicketMessage.Kind.NOTE).order_by("pk")
    assert notes.count() == 2 and old.number in notes[0].body
    assert outbox.outbox == []


def test_writers_without_an_address_on_a_merged_ticket_and_the_one_it_went_into_are_kept_apart(
    client, company, desk
):
    """Neither ticket has a requester's address, and one was merged into the other: whoever
    has the first's status page link may not be someone the second's was sent to, so a message
    on the first's page does not join, nor show its writer, the request a message on the
    second's page started."""
    kept = _binned_ticket(company, requester="")
    customer_id = company.rep_customer.pk
    customer_restore(actor=company.admin, customer_id=customer_id)
    merged = services.ticket_create(
        actor=company.agent,
        customer_id=customer_id,
        data={"type": "complaint", "subject": "退款", "requester_email": ""},
    )
    services.ticket_merge(actor=company.agent, ticket_id=merged.pk, into_id=kept.pk)
    customer_delete(actor=company.admin, customer_id=customer_id)

    on_kept = _post(client, kept.pk, FIRST)
    on_merged = _post(client, merged.pk, SECOND)
    assert on_merged != on_kept
    assert _customer_wrote(Ticket.objects.get(pk=on_kept)) == [FIRST]
    assert _customer_wrote(Ticket.objects.get(pk=on_merged)) == [SECOND]
    # Each page's later messages go to the request it started.
    assert _post(client, merged.pk, THIRD) == on_merged
    assert _post(client, kept.pk, THIRD) == on_kept
    # Named after the page each wrote on.
    assert merged.number in Ticket.objects.get(pk=on_merged).customer.name
    assert kept.number in Ticket.objects.get(pk=on_kept).customer.name


@pytest.mark.parametrize("later_by", ["email", "status page"])
def test_a_message_on_a_ticket_merged_since_joins_the_request_the_first_started(
    client, company, binned, later_by
):
    """The customer wrote on the old ticket's page while in the recycle bin, starting a request;
    brought back, their old ticket was merged into another of theirs, and they were binned
    again. A later message on the old ticket, by email or on its page, goes where the
    conversation went (the ticket it was merged into) and so to the request the first message
    started, which continues the old ticket: not to a second request."""
    first_page = _post(client, binned.pk, FIRST)
    [new] = _started_from(binned)
    assert first_page == new.pk and new.continues_id == binned.pk
    customer_restore(actor=company.admin, customer_id=company.rep_customer.pk)
    kept = services.ticket_create(
        actor=company.agent,
        customer_id=company.rep_customer.pk,
        data={"type": "complaint", "subject": "退款", "requester_email": ADDRESS},
    )
    services.ticket_merge(actor=company.agent, ticket_id=binned.pk, into_id=kept.pk)
    services.ticket_reply(
        actor=company.agent, ticket_id=kept.pk, body="已经退款。", status="resolved"
    )
    customer_delete(actor=company.admin, customer_id=company.rep_customer.pk)
    outbox.outbox.clear()

    if later_by == "email":
        raw = email_message(
            sender=f"张伟 <{ADDRESS}>",
            subject=f"Re: {mail.ticket_token(binned.pk)} 退款",
            body=SECOND,
        )
        with TestCase.captureOnCommitCallbacks(execute=True):
            result = file_inbound_email(raw.as_bytes())
        assert (result.action, result.ticket) == ("added", new)
    else:
        assert _post(client, binned.pk, SECOND) == new.pk

    assert Ticket.objects.filter(created_by=None).exclude(pk__in=[binned.pk, kept.pk]).count() == 1
    assert _customer_wrote(new) == [FIRST, SECOND]
    assert [message for message in outbox.outbox if ADDRESS in message.to] == []
