"""The every-minute sweep: warnings and breaches reach the people the escalation chain names,
once each, however often the sweep runs or wherever it crashes."""

import pytest
from django.core import mail as outbox

from guanxi.service import services, sweep
from guanxi.service.models import Notification, SlaNotification, SlaPolicy
from guanxi.service.tests.desk import complaint, notified

pytestmark = pytest.mark.django_db


def test_warning_breach_and_escalation_reach_the_chain_once_each(company, desk, clock):
    policy = SlaPolicy.objects.get(name="Complaints, round the clock")
    policy.general_manager = company.admin
    policy.save()
    # A customer of the service department's own, whose manager (the desk's head) may see it.
    ticket = complaint(company, company.agent_customer)
    outbox.outbox.clear()
    clock.advance(minutes=47)
    assert sweep.sla_sweep().notifications == 0  # 80 % of 60 minutes is at 48
    clock.advance(minutes=1)
    result = sweep.sla_sweep()
    assert (result.tickets, result.notifications, result.emails) == (1, 1, 1)
    assert notified(company.agent) == [
        f"{ticket.number}: first response due at 2026-12-02 11:00 (80% of the time used)"
    ]
    assert outbox.outbox[0].to == [company.agent.email]
    # Again, and again a minute later: nothing new.
    assert sweep.sla_sweep().notifications == 0
    clock.advance(minutes=1)
    assert sweep.sla_sweep().tickets == 0

    clock.advance(minutes=11)  # 60 minutes: breached; the team lead hears too
    assert sweep.sla_sweep().notifications == 1
    assert len(notified(company.agent)) == 2 and len(notified(desk.lead)) == 1
    assert "overdue since 2026-12-02 11:00" in notified(desk.lead)[0]
    clock.advance(minutes=30)  # 150 %: the department's manager
    sweep.sla_sweep()
    assert len(notified(desk.head)) == 1 and len(notified(desk.lead)) == 1
    clock.advance(minutes=30)  # 200 %: the general manager
    sweep.sla_sweep()
    assert len(notified(company.admin)) == 1
    assert SlaNotification.objects.filter(ticket=ticket).count() == 4
    assert SlaNotification.objects.filter(emailed_at__isnull=True).count() == 0


def test_answering_in_time_means_no_breach(company, desk, clock):
    ticket = complaint(company)
    clock.advance(minutes=50)
    sweep.sla_sweep()  # the warning
    services.ticket_reply(actor=company.agent, ticket_id=ticket.pk, body="马上处理")
    clock.advance(hours=2)
    sweep.sla_sweep()
    assert list(SlaNotification.objects.filter(ticket=ticket).values_list("target", "percent")) == [
        ("first_response", 80)
    ]


def test_a_crash_half_way_leaves_nothing_and_the_next_sweep_sends_once(
    company, desk, clock, monkeypatch
):
    complaint(company)
    complaint(company)
    clock.advance(minutes=48)
    real = Notification.objects.bulk_create

    def written_then_crash(*args, **kwargs):
        real(*args, **kwargs)
        raise RuntimeError("worker killed")

    with monkeypatch.context() as patched, pytest.raises(RuntimeError):
        patched.setattr(Notification.objects, "bulk_create", written_then_crash)
        sweep.sla_sweep()
    assert not SlaNotification.objects.exists() and not Notification.objects.exists()
    outbox.outbox.clear()
    assert sweep.sla_sweep().notifications == 2
    assert sweep.sla_sweep().notifications == 0
    assert len(outbox.outbox) == 2 and Notification.objects.count() == 2


def test_an_email_that_fails_is_sent_by_the_next_sweep(company, desk, clock, monkeypatch):
    complaint(company)
    clock.advance(minutes=48)

    def refuse(*args, **kwargs):
        raise OSError("mail server down")

    with monkeypatch.context() as patched:
        patched.setattr(sweep.mail, "send_to_staff", refuse)
        result = sweep.sla_sweep()
    assert (result.notifications, result.emails) == (1, 0)
    outbox.outbox.clear()
    clock.advance(minutes=1)
    assert sweep.sla_sweep().emails == 1 and len(outbox.outbox) == 1


@pytest.fixture
def connections(monkeypatch):
    """Every mail connection the sweep asks for, each a real one from the configured backend."""
    from django.core import mail as django_mail

    made = []
    real = django_mail.get_connection

    def counted(*args, **kwargs):
        made.append(real(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(django_mail, "get_connection", counted)
    return made


def test_a_sweep_with_nothing_to_email_never_reaches_the_mail_server(
    company, desk, clock, connections
):
    complaint(company)
    clock.advance(minutes=10)  # nothing due yet
    result = sweep.sla_sweep()
    assert (result.tickets, result.notifications, result.emails) == (0, 0, 0)
    assert sweep.deliver_emails() == 0
    assert connections == []


def test_emails_go_out_batch_by_batch_each_once_over_one_connection(
    company, desk, clock, connections
):
    first, second = complaint(company), complaint(company)
    clock.advance(minutes=48)
    assert sweep.sla_sweep(email=False).notifications == 2
    assert connections == []
    outbox.outbox.clear()
    assert sweep.deliver_emails(batch_size=1) == 2
    assert sorted(m.subject.split(":")[0] for m in outbox.outbox) == sorted(
        [first.number, second.number]
    )
    assert len(connections) == 1
    assert SlaNotification.objects.filter(emailed_at__isnull=True).count() == 0
    assert sweep.deliver_emails(batch_size=1) == 0 and len(outbox.outbox) == 2


def test_a_mail_server_that_cannot_be_reached_leaves_the_emails_for_the_next_sweep(
    company, desk, clock, monkeypatch
):
    from django.core import mail as django_mail
    from django.core.mail.backends.locmem import EmailBackend

    complaint(company)
    clock.advance(minutes=48)

    class Unreachable(EmailBackend):
        def open(self):
            raise OSError("mail server down")

    with monkeypatch.context() as patched:
        patched.setattr(django_mail, "get_connection", lambda *a, **k: Unreachable())
        result = sweep.sla_sweep()
    assert (result.notifications, result.emails) == (1, 0)
    assert SlaNotification.objects.filter(emailed_at__isnull=True).count() == 1
    outbox.outbox.clear()
    clock.advance(minutes=1)
    assert sweep.sla_sweep().emails == 1 and len(outbox.outbox) == 1


def test_the_scheduled_task_runs_the_sweep(company, desk, clock):
    from guanxi.service.tasks import sweep_service_levels

    complaint(company)
    clock.advance(minutes=60)
    assert sweep_service_levels.call() == {
        "tickets": 1,
        "notifications": 2,
        "emails": 2,
        "customer_emails": 0,
        "customer_emails_given_up": 0,
    }


def test_watchers_hear_of_the_breach_and_of_the_customers_messages(company, desk, clock):
    ticket = complaint(company)
    services.ticket_watch(actor=company.manager, ticket_id=ticket.pk, watching=True)
    clock.advance(minutes=48)
    sweep.sla_sweep()
    assert notified(company.manager) == []  # not the warning
    clock.advance(minutes=12)
    sweep.sla_sweep()
    assert len(notified(company.manager)) == 1
    services.ticket_reply(actor=company.agent, ticket_id=ticket.pk, body="在处理")
    services.customer_message(ticket_id=ticket.pk, body="谢谢，等你们消息")
    assert "the customer wrote: 谢谢" in notified(company.manager)[-1]
    assert "the customer wrote" in notified(company.agent)[-1]
    services.ticket_watch(actor=company.manager, ticket_id=ticket.pk, watching=False)
    assert not ticket.watchers.exists()


def test_a_watcher_who_may_no_longer_see_the_ticket_hears_nothing_of_its_breach(
    company, desk, clock
):
    """The breach notice and its email quote the ticket: a watcher whose customers changed hands
    since it was followed is left out, and the one who may still see it is told."""
    from guanxi.customers.models import Customer

    ticket = complaint(company)
    for user in (company.admin, company.rep):
        services.ticket_watch(actor=user, ticket_id=ticket.pk, watching=True)
    # The customer goes to a rep in the West: the East rep may no longer see it.
    Customer.objects.filter(pk=ticket.customer_id).update(owner=company.rep_west)
    outbox.outbox.clear()
    clock.advance(minutes=60)
    sweep.sla_sweep()
    assert len(notified(company.admin)) == 1
    assert notified(company.rep) == []
    assert all(company.rep.email not in message.to for message in outbox.outbox)


def test_many_watchers_hear_of_a_breach_in_as_many_queries_as_a_few(company, desk, clock):
    """Who may still see a breached ticket is asked for all its watchers at once: a ticket
    followed by the whole desk costs the sweep no query more than one followed by a few."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from guanxi.accounts.roles import Role
    from guanxi.core.testing.factories import UserFactory
    from guanxi.service.models import Ticket

    crowd = [
        UserFactory(username=f"desk{i}", role=Role.SERVICE_AGENT, department=company.service)
        for i in range(20)
    ]
    counts = []
    for watchers in ([company.admin, company.rep_west], [company.admin, company.rep_west, *crowd]):
        ticket = complaint(company)
        ticket.watchers.add(*watchers)  # the West rep may not see the customer
        clock.advance(minutes=60)
        with CaptureQueriesContext(connection) as queries:
            assert sweep.sla_sweep().tickets == 1
        counts.append(len(queries))
        # Its later steps are not this test's business.
        Ticket.objects.filter(pk=ticket.pk).update(sla_check_at=None)
    assert counts[0] == counts[1]
    assert all(len(notified(user)) == 1 for user in crowd)
    assert len(notified(company.admin)) == 2 and notified(company.rep_west) == []
