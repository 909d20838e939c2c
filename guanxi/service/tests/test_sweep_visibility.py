"""The sweep's notices and emails quote the ticket, so everyone they reach passes the one
visibility rule: someone the escalation names by their place (a department's manager, a
policy's general manager) who may not see the ticket's customer is passed over like someone who
left, and the next person up the chain who may see it, or the administrators, hear instead.

The service department's manager sees every customer, as their agents do, so they hear of the
desk's tickets whoever the customer; a sales department's manager sees their department's
customers only, and is passed over for a ticket their team still works on a customer who has
moved to another department."""

import pytest
from django.core import mail as outbox
from django.utils import translation

from guanxi.accounts.models import User
from guanxi.audit.models import AuditEvent
from guanxi.customers.models import Customer
from guanxi.service import services, sweep
from guanxi.service.models import SlaNotification, SlaPolicy, Ticket
from guanxi.service.tests.desk import complaint, notified

pytestmark = pytest.mark.django_db


def _general_manager(user) -> None:
    policy = SlaPolicy.objects.get(name="Complaints, round the clock")
    policy.general_manager = user
    policy.save()


def _emailed(user) -> bool:
    return any(user.email in message.to for message in outbox.outbox)


def _moved_away(company) -> Ticket:
    """A complaint of the West customer, given to the West rep (so the West team holds it, and
    the West department's manager is its department manager), after which the customer moves
    to the East rep: neither the West rep nor the West manager may see it any more."""
    from guanxi.customers.services import customers_reassign

    company.west.manager = company.manager_west
    company.west.save()
    ticket = complaint(company, company.west_customer)
    services.ticket_assign(
        actor=company.admin, ticket_id=ticket.pk, assignee_id=company.rep_west.pk
    )
    customers_reassign(
        actor=company.admin,
        from_owner_id=company.rep_west.pk,
        to_owner_id=company.rep.pk,
        customer_ids=[company.west_customer.pk],
    )
    ticket = Ticket.objects.select_related("team__department").get(pk=ticket.pk)
    assert ticket.team == company.team_west
    return ticket


def _escalations(ticket) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(object_type="ticket", object_id=ticket.pk)
        .filter(changes__has_key="escalated_to")
        .order_by("id")
    )


def test_the_service_departments_manager_hears_of_the_desks_breach_on_a_sales_reps_customer(
    company, desk, clock
):
    """The desk's head manages the service department, whose agents answer every customer, and
    so may see the East rep's customer as they do: the 150 % step reaches them, nobody is passed
    over, and the general manager hears only at 200 %, in their own right."""
    _general_manager(company.manager)
    ticket = complaint(company)  # the East rep's customer
    clock.advance(minutes=60)
    sweep.sla_sweep()
    outbox.outbox.clear()
    clock.advance(minutes=30)  # 150 %: the department's manager
    sweep.sla_sweep()
    [notice] = notified(desk.head)
    assert notice.startswith(f"{ticket.number}: first response overdue since")
    assert "may not see" not in notice
    [message] = outbox.outbox
    assert message.to == [desk.head.email] and ticket.subject in message.body
    assert SlaNotification.objects.get(ticket=ticket, percent=150).recipients == [desk.head.pk]
    assert notified(company.manager) == [] and notified(company.admin) == []
    assert _escalations(ticket) == []

    clock.advance(minutes=30)  # 200 %: the general manager
    sweep.sla_sweep()
    [notice] = notified(company.manager)
    assert "may not see" not in notice
    assert len(notified(desk.head)) == 1
    assert _escalations(ticket) == []


def test_a_manager_who_may_not_see_the_customer_hears_nothing_and_the_next_up_hears(
    company, desk, clock
):
    """The West team still works a complaint of a customer who moved to the East rep: the West
    manager, a sales department's without agents, may not see it; the East manager, the
    policy's general manager, may, and hears in their place."""
    company.manager_west.display_name = "Head Qian"
    company.manager_west.save()
    _general_manager(company.manager)
    ticket = _moved_away(company)
    clock.advance(minutes=60)
    sweep.sla_sweep()  # the breach: the West rep may not see it, the agent who took it may
    assert notified(company.manager) == []
    earlier = len(_escalations(ticket))
    outbox.outbox.clear()
    clock.advance(minutes=30)  # 150 %: the department's manager
    sweep.sla_sweep()
    assert notified(company.manager_west) == [] and not _emailed(company.manager_west)
    [notice] = notified(company.manager)
    assert notice.startswith(f"{ticket.number}: first response overdue since")
    assert notice.endswith("(to you because Head Qian may not see this customer)")
    [message] = outbox.outbox
    assert message.to == [company.manager.email]
    assert ticket.subject in message.body
    record = SlaNotification.objects.get(ticket=ticket, percent=150)
    assert record.recipients == [company.manager.pk]
    [event] = _escalations(ticket)[earlier:]
    assert event.changes == {"escalated_to": {"before": "manager_west", "after": ["manager"]}}
    assert "because Head Qian may not see this customer" in event.summary
    assert notified(company.admin) == []

    clock.advance(minutes=30)  # 200 %: the general manager, in their own right
    sweep.sla_sweep()
    assert len(notified(company.manager)) == 2
    assert "may not see" not in notified(company.manager)[-1]
    assert notified(company.manager_west) == [] and not _emailed(company.manager_west)


def test_a_general_manager_of_another_department_hands_the_escalation_to_the_administrators(
    company, desk, clock
):
    _general_manager(company.manager_west)
    ticket = complaint(company)
    clock.advance(minutes=120)  # 200 %: only the general manager
    sweep.sla_sweep()
    assert notified(company.manager_west) == [] and not _emailed(company.manager_west)
    [notice] = [n for n in notified(company.admin) if "200%" in n]
    assert f"(to you because {company.manager_west.label} may not see this customer)" in notice
    assert SlaNotification.objects.get(ticket=ticket, percent=200).recipients == [company.admin.pk]
    assert _emailed(company.admin)


def test_who_may_see_the_customer_hears_of_every_step_as_before(company, desk, clock):
    """The same chain for a customer of the service department's own: nobody is passed over."""
    ticket = complaint(company, company.agent_customer)
    clock.advance(minutes=100)  # past 150 %, short of the 200 % a general manager would hear of
    sweep.sla_sweep()
    assert len(notified(desk.head)) == 1 and _emailed(desk.head)
    assert _escalations(ticket) == []


def test_when_nobody_may_be_told_the_step_is_recorded_logged_and_audited(
    company, desk, clock, caplog
):
    """No active administrator, and a department manager who may not see the customer: the
    step is still recorded (it is not tried again every minute), told to nobody, written on the
    ticket's history and in the log, and the ticket's next step is still scheduled."""
    ticket = _moved_away(company)
    User.objects.filter(pk=company.admin.pk).update(is_active=False)
    clock.advance(minutes=60)
    sweep.sla_sweep()
    earlier = len(_escalations(ticket))
    outbox.outbox.clear()
    clock.advance(minutes=30)  # 150 %: the department's manager only
    with caplog.at_level("WARNING", logger="guanxi.service.sweep"):
        sweep.sla_sweep()
    assert notified(company.manager_west) == [] and outbox.outbox == []
    assert SlaNotification.objects.get(ticket=ticket, percent=150).recipients == []
    [event] = _escalations(ticket)[earlier:]
    assert event.changes == {"escalated_to": {"before": "manager_west", "after": []}}
    assert "reached nobody" in event.summary
    assert any(
        ticket.number in r.getMessage() and "told nobody" in r.getMessage() for r in caplog.records
    )
    assert Ticket.objects.get(pk=ticket.pk).sla_check_at is not None
    clock.advance(minutes=1)
    assert sweep.sla_sweep().notifications == 0


def test_an_email_sent_after_its_reader_lost_sight_of_the_ticket_leaves_them_out(
    company, desk, clock
):
    """The step is recorded for who may see the ticket then; its email may go out much later
    (the mail server was down), and quotes the ticket to who may see it when it is sent."""
    ticket = complaint(company)
    ticket.watchers.add(company.rep)  # the East rep, who owns the customer
    clock.advance(minutes=60)
    sweep.sla_sweep(email=False)
    assert company.rep.pk in SlaNotification.objects.get(ticket=ticket, percent=100).recipients
    Customer.objects.filter(pk=ticket.customer_id).update(owner=company.rep_west)
    assert sweep.deliver_emails() == 2  # the warning and the breach
    assert not _emailed(company.rep)
    assert _emailed(company.agent) and _emailed(desk.lead)


def test_many_reps_and_managers_following_a_breach_cost_the_queries_of_two(company, desk, clock):
    """Who may see a breached ticket is asked for everyone it could tell at once, and their
    scopes are worked out together: 50 reps and managers of 25 teams and departments cost the
    sweep no query more than two."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from guanxi.accounts.models import Department, Team
    from guanxi.core.testing.factories import UserFactory

    crowd = []
    for i in range(25):
        department = Department.objects.create(name=f"Region {i}")
        team = Team.objects.create(name=f"Team {i}", department=department, customer_sharing="view")
        crowd += [
            UserFactory(username=f"rep{i}", role="sales_rep", department=department, team=team),
            UserFactory(username=f"manager{i}", role="manager", department=department),
        ]
    customer = Customer.objects.create(name="Region 0 customer", owner=crowd[0])
    counts = []
    for watchers in (crowd[:2], crowd):
        ticket = complaint(company, customer)
        ticket.watchers.add(*watchers)
        clock.advance(minutes=60)
        with CaptureQueriesContext(connection) as queries:
            assert sweep.sla_sweep().tickets == 1
        counts.append(len(queries))
        Ticket.objects.filter(pk=ticket.pk).update(sla_check_at=None)
    assert counts[0] == counts[1]
    # The customer's rep and their region's manager hear of both breaches, nobody else of any.
    assert [len(notified(user)) for user in crowd[:2]] == [2, 2]
    assert all(notified(user) == [] for user in crowd[2:])


def test_a_batch_of_many_tickets_asks_who_may_see_them_in_the_queries_of_one(company, desk, clock):
    """Who may see each ticket of a batch, and who may see it when its emails go out, is asked
    for all of the batch's customers at once: five tickets cost the sweep no query more than one,
    and each watcher hears only of the tickets of customers they may see."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    names = ("rep_customer", "teammate_customer", "rep_b_customer", "west_customer")
    counts = []
    for some in (names[:1], names):
        tickets = [complaint(company, company.customers[name]) for name in some]
        for ticket in tickets:
            ticket.watchers.add(company.rep, company.rep_b)
        clock.advance(minutes=60)
        outbox.outbox.clear()
        with CaptureQueriesContext(connection) as queries:
            result = sweep.sla_sweep()
        assert (result.tickets, result.notifications) == (len(some), 2 * len(some))
        counts.append(len(queries))
        Ticket.objects.filter(pk__in=[t.pk for t in tickets]).update(sla_check_at=None)
    assert counts[0] == counts[1]
    # The rep sees their own and their teammate's customer; team B's rep only their own.
    assert len(notified(company.rep)) == 3 and len(notified(company.rep_b)) == 1
    assert sum(company.rep.email in message.to for message in outbox.outbox) == 2
    assert sum(company.rep_b.email in message.to for message in outbox.outbox) == 1


def test_a_step_whose_roles_nobody_holds_goes_to_the_administrators(company, desk, clock, caplog):
    """The 200 % step of a policy without a general manager names nobody: the administrators,
    who end every chain, hear of it instead, told why, and the ticket's history says so; the
    log stays quiet, since somebody heard."""
    ticket = complaint(company)
    clock.advance(minutes=120)  # 200 %
    with caplog.at_level("WARNING", logger="guanxi.service.sweep"):
        sweep.sla_sweep()
    step = SlaNotification.objects.get(ticket=ticket, percent=200)
    assert step.recipients == [company.admin.pk]
    notices = [n for n in notified(company.admin) if "escalated (200%)" in n]
    assert len(notices) == 1
    assert notices[0].endswith("(to you because this ticket has no general manager)")
    [event] = _escalations(ticket)
    assert event.changes["escalated_to"] == {"before": "", "after": [company.admin.username]}
    assert "because this ticket has no general manager" in event.summary
    assert not [r for r in caplog.records if "told nobody" in r.getMessage()]
    with translation.override("zh-hans"):
        assert "该工单没有总经理" in AuditEvent.objects.get(pk=event.pk).summary_text()


def test_a_step_nobody_holds_and_no_administrator_may_hear_of_says_so_in_the_log(
    company, desk, clock, caplog
):
    """With no active administrator either, the step is recorded as told to nobody, the
    ticket's history says why, and the log names the roles nobody holds."""
    User.objects.filter(pk=company.admin.pk).update(is_active=False)
    ticket = complaint(company)
    clock.advance(minutes=120)  # 200 %
    with caplog.at_level("WARNING", logger="guanxi.service.sweep"):
        sweep.sla_sweep()
    assert SlaNotification.objects.get(ticket=ticket, percent=200).recipients == []
    [message] = [r.getMessage() for r in caplog.records if "told nobody" in r.getMessage()]
    assert message.startswith(f"SLA first_response step 200% of ticket {ticket.number} told")
    assert "nobody holds the roles it notifies" in message
    [event] = _escalations(ticket)
    assert "reached nobody: this ticket has no general manager" in event.summary


def test_notices_about_a_customer_out_of_sight_leave_the_bell_and_come_back_with_sight(
    company, desk, client
):
    """A notice quotes its ticket: once the rep's customer has gone to another department's
    rep, the rep's list and bell no longer show it, "mark all read" leaves it alone, and it is
    back when the customer is."""
    from guanxi.customers.services import customers_reassign
    from guanxi.service.models import Notification

    ticket = complaint(company)  # the East rep's customer
    notice = Notification.objects.create(user=company.rep, ticket=ticket, text=f"{ticket.number}")
    general = Notification.objects.create(user=company.rep, text="about no ticket")
    client.force_login(company.rep)

    def shown() -> tuple[bool, bool, int]:
        page = client.get("/service/notifications/")
        text = page.content.decode()
        bell = page.context["unread_notices"]()
        return f"/service/tickets/{ticket.pk}/" in text, "about no ticket" in text, bell

    assert shown() == (True, True, 2)

    def move(to) -> None:
        customers_reassign(
            actor=company.admin,
            from_owner_id=company.rep_customer.owner_id,
            to_owner_id=to.pk,
            customer_ids=[company.rep_customer.pk],
        )
        company.rep_customer.refresh_from_db()

    move(company.rep_west)
    assert shown() == (False, True, 1)
    client.post("/service/notifications/")
    notice.refresh_from_db()
    general.refresh_from_db()
    assert notice.read_at is None and general.read_at is not None
    move(company.rep)
    assert shown() == (True, True, 1)
