"""The emails to the desk's users about a ticket (a reply, a note, a message from the customer,
an SLA deadline) quote its subject and text: to whoever sees the customer's numbers masked,
the phone and ID numbers in them are masked as on the ticket's page; to whoever may see them,
they are as written."""

import pytest
from django.core import mail as outbox

from guanxi.service import services
from guanxi.service.models import Notification, Ticket

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("desk_mail_settings")]

MOBILE = "13890417762"


@pytest.fixture
def ticket(company, desk) -> Ticket:
    opened = services.ticket_create(
        actor=company.agent,
        customer_id=company.rep_customer.pk,
        data={"type": "inquiry", "subject": f"回电 {MOBILE}"},
    )
    for user in (company.rep, company.manager):
        services.ticket_watch(actor=user, ticket_id=opened.pk, watching=True)
    Notification.objects.all().delete()
    outbox.outbox.clear()
    return Ticket.objects.get(pk=opened.pk)


def _emails_to(user) -> list[str]:
    return [
        f"{message.subject}\n{message.body}"
        for message in outbox.outbox
        if user.email in message.to
    ]


def test_a_note_is_emailed_masked_to_whoever_sees_numbers_masked(
    company, ticket, django_capture_on_commit_callbacks
):
    assert not company.rep.may_view_sensitive() and company.manager.may_view_sensitive()
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_note(actor=company.agent, ticket_id=ticket.pk, body=f"客户手机 {MOBILE}")
    (to_rep,) = _emails_to(company.rep)
    assert MOBILE not in to_rep
    assert to_rep.count("138****7762") == 3  # the subject, the headline and the note
    (to_manager,) = _emails_to(company.manager)
    assert to_manager.count(MOBILE) == 3


def test_an_sla_email_quotes_the_subject_masked_to_whoever_sees_numbers_masked(
    company, desk, clock
):
    from guanxi.service import sweep
    from guanxi.service.tests.desk import complaint

    ticket = complaint(company, company.rep_customer)
    Ticket.objects.filter(pk=ticket.pk).update(subject=f"回电 {MOBILE}")
    ticket.watchers.add(company.rep, company.manager)
    clock.advance(minutes=60)
    outbox.outbox.clear()
    sweep.sla_sweep()
    (to_rep,) = _emails_to(company.rep)
    assert MOBILE not in to_rep and "138****7762" in to_rep
    (to_manager,) = _emails_to(company.manager)
    assert MOBILE in to_manager
