"""A customer moved to the recycle bin is seen by nobody, its tickets with it: an open ticket
left on it would go on running its service-level clock where no one can answer it, and the
sweep would escalate it to no one. So a customer with open tickets is not binned until they are
resolved or closed (or the customer merged into another, which takes them along); and a ticket
open on a binned customer all the same (one left so before the customer's replies waited for a
move to the recycle bin) is passed over by the sweep until the customer is restored."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from guanxi.audit.models import AuditEvent
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_delete, customer_restore
from guanxi.service import services, sweep
from guanxi.service.models import Notification, SlaNotification, Ticket
from guanxi.service.tests.desk import complaint, notified

pytestmark = pytest.mark.django_db


def _resolved(company, ticket) -> Ticket:
    return services.ticket_set_status(
        actor=company.agent, ticket_id=ticket.pk, status=Ticket.Status.RESOLVED
    )


def _escalations(ticket) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(object_type="ticket", object_id=ticket.pk).filter(
            changes__has_key="escalated_to"
        )
    )


def test_a_customer_with_an_open_ticket_is_not_binned_and_is_told_which(company, desk):
    ticket = complaint(company)
    other = complaint(company)
    customer = Customer.objects.get(pk=company.rep_customer.pk)
    audited = AuditEvent.objects.count()

    with pytest.raises(ValidationError) as refused:
        customer_delete(actor=company.admin, customer_id=customer.pk)

    [message] = refused.value.message_dict["tickets"]
    assert ticket.number in message and other.number in message
    assert Customer.objects.get(pk=customer.pk).deleted_at is None
    assert Customer.objects.get(pk=customer.pk).version == customer.version
    assert Ticket.objects.get(pk=ticket.pk).status in Ticket.OPEN_STATUSES
    assert AuditEvent.objects.count() == audited

    # Once they are resolved or closed, it is.
    _resolved(company, ticket)
    services.ticket_set_status(actor=company.agent, ticket_id=other.pk, status=Ticket.Status.CLOSED)
    customer_delete(actor=company.admin, customer_id=customer.pk)
    assert Customer.objects.get(pk=customer.pk).deleted_at is not None


def test_the_refusal_is_written_in_chinese_for_a_chinese_reader(company, desk):
    complaint(company)
    with translation.override("zh-hans"), pytest.raises(ValidationError) as refused:
        customer_delete(actor=company.admin, customer_id=company.rep_customer.pk)
    [message] = refused.value.message_dict["tickets"]
    assert "工单" in message


def test_the_sweep_passes_over_a_ticket_reopened_on_a_binned_customer_until_it_is_restored(
    company, desk, clock
):
    """A ticket open on a binned customer (the customer wrote back as it was binned, before
    their replies waited for that): nobody may see it, so the sweep tells nobody, records no
    escalation and stops looking at it; restored, the customer's ticket is the desk's again and
    escalates."""
    ticket = _resolved(company, complaint(company))
    services.customer_message(ticket_id=ticket.pk, body="还是没有收到退款")
    Customer.objects.filter(pk=company.rep_customer.pk).update(deleted_at=timezone.now())
    Notification.objects.filter(ticket=ticket).delete()  # of the customer's message
    assert Ticket.objects.get(pk=ticket.pk).status == Ticket.Status.OPEN
    clock.advance(hours=30)  # far past every step of the complaint policy

    sweep.sla_sweep()

    assert not SlaNotification.objects.filter(ticket=ticket).exists()
    assert not Notification.objects.filter(ticket=ticket).exists()
    assert _escalations(ticket) == []
    assert Ticket.objects.get(pk=ticket.pk).sla_check_at is None

    customer = Customer.objects.get(pk=company.rep_customer.pk)
    customer_restore(actor=company.admin, customer_id=customer.pk)
    sweep.sla_sweep()

    assert SlaNotification.objects.filter(ticket=ticket).exists()
    assert notified(company.agent)
