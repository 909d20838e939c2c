"""A customer writes again on a resolved ticket while an administrator moves the customer to the
recycle bin. The reply locks the customer, shared, before the ticket, as a colleague's change of
a ticket does: whichever of the two comes first, the ticket never ends open on a customer in
the recycle bin, where nobody may see it. Real concurrency needs PostgreSQL (SQLite has one
writer at a time)."""

from django.core.exceptions import ValidationError

from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import (
    hold_after_first,
    hold_before,
    in_thread,
    wait_until,
    waiting_for_a_lock,
)
from guanxi.customers import services as customers
from guanxi.customers.models import Customer, Email
from guanxi.service import services
from guanxi.service.intake import customer_wrote_again
from guanxi.service.models import Ticket, TicketMessage

pytestmark = CONCURRENT

ADDRESS = "zw@example.com"
AGAIN = "退款还是没有到账，请再查一下。"


def _resolved(company) -> Ticket:
    Email.objects.create(customer=company.rep_customer, address=ADDRESS)
    ticket = services.ticket_create(
        actor=company.agent,
        customer_id=company.rep_customer.pk,
        data={"type": "complaint", "subject": "退款", "requester_email": ADDRESS},
    )
    return services.ticket_reply(
        actor=company.agent, ticket_id=ticket.pk, body="已经退款。", status="resolved"
    ).ticket


def _reply(ticket: Ticket):
    return lambda: customer_wrote_again(
        ticket_id=ticket.pk,
        body=AGAIN,
        email_from=ADDRESS,
        email_message_id="<again@example.com>",
    )


def _bin(company):
    return lambda: customers.customer_delete(
        actor=company.admin, customer_id=company.rep_customer.pk
    )


def _run(first, second, hold, names: tuple[str, str]) -> dict:
    """``first`` until it is held, then ``second`` until it ends or waits for a lock; then
    ``first`` is let go, and both outcomes returned."""
    results: dict = {}
    threads = [in_thread(first, results, names[0])]
    try:
        assert hold.reached.wait(30), f"{names[0]} was never held"
        threads.append(in_thread(second, results, names[1]))
        wait_until(lambda: names[1] in results or waiting_for_a_lock(), 10)
    finally:
        hold.go.set()
        for thread in threads:
            thread.join(30)
    return results


def _no_open_ticket_in_the_bin(company) -> None:
    assert not Ticket.objects.filter(
        customer__deleted_at__isnull=False, status__in=Ticket.OPEN_STATUSES
    ).exists()


def test_a_reply_while_its_customer_is_being_binned_becomes_a_new_request(
    company, desk, monkeypatch
):
    """Binning first (held once it found no open ticket): the reply waits for it, then finds
    the customer in the recycle bin and is filed as a new request."""
    old = _resolved(company)
    hold = hold_after_first(monkeypatch, customers, "_refuse_with_open_tickets", thread="bin")
    results = _run(_bin(company), _reply(old), hold, ("bin", "reply"))

    assert results["bin"][0] == "ok", results["bin"][-1]
    assert results["reply"][0] == "ok", results["reply"][-1]
    assert Customer.objects.get(pk=company.rep_customer.pk).deleted_at is not None
    _no_open_ticket_in_the_bin(company)
    assert Ticket.objects.get(pk=old.pk).status == Ticket.Status.RESOLVED
    message = TicketMessage.objects.get(body=AGAIN)
    assert message.ticket_id != old.pk
    assert message.ticket.status in Ticket.OPEN_STATUSES
    assert message.ticket.customer.deleted_at is None


def test_a_customer_is_not_binned_while_their_reply_reopens_a_ticket(company, desk, monkeypatch):
    """The reply first (held with its locks, before the ticket opens): binning waits for it,
    then finds the open ticket and is refused."""
    old = _resolved(company)
    hold = hold_before(monkeypatch, services, "_change_status", thread="reply")
    results = _run(_reply(old), _bin(company), hold, ("reply", "bin"))

    assert results["reply"][0] == "ok", results["reply"][-1]
    assert results["bin"][0] == "error"
    assert isinstance(results["bin"][1], ValidationError), results["bin"][-1]
    assert old.number in results["bin"][1].message_dict["tickets"][0]
    assert Customer.objects.get(pk=company.rep_customer.pk).deleted_at is None
    assert Ticket.objects.get(pk=old.pk).status == Ticket.Status.OPEN
    assert TicketMessage.objects.get(body=AGAIN).ticket_id == old.pk
