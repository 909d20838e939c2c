"""A ticket given to someone while the acting user or the one it goes to is deactivated. The
assignment locks the acting user and the assignee in one statement, in ascending id order,
before the customer and the ticket, as a deactivation locks the leaver and their successor
and then what they hold: a deactivation under way is waited for and then refused by its own
field, rather than the ticket being changed by someone who has left, given to a leaver, or
the two writers deadlocking. Real concurrency needs PostgreSQL (SQLite has one writer at a
time)."""

from django.core.exceptions import ValidationError

from guanxi.accounts import services as accounts_services
from guanxi.accounts.services import POOL
from guanxi.audit.models import AuditEvent
from guanxi.core.locking import ActorDeactivated
from guanxi.core.testing.factories import UserFactory
from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import hold_after_first, hold_before, second_waits_for_first
from guanxi.service import services
from guanxi.service.models import Ticket

pytestmark = CONCURRENT


def _unassigned(company) -> Ticket:
    return Ticket.objects.create(
        type=Ticket.Type.INQUIRY,
        subject="发票什么时候开",
        customer=company.unowned_customer,
        status=Ticket.Status.NEW,
    )


def _assigning(actor, ticket, assignee):
    return lambda: services.ticket_assign(
        actor=actor, ticket_id=ticket.pk, assignee_id=assignee.pk, expected_version=ticket.version
    )


def _deactivating(company, user, hand_over_to=POOL):
    return lambda: accounts_services.user_deactivate(
        actor=company.admin, user_id=user.pk, hand_over_to=hand_over_to
    )


def _unchanged(ticket):
    stored = Ticket.objects.get(pk=ticket.pk)
    assert (stored.version, stored.assignee_id, stored.owner_id) == (ticket.version, None, None)
    assert not AuditEvent.objects.filter(object_type="ticket", object_id=ticket.pk).exists()


def test_an_actor_deactivated_while_the_assignment_waits_is_refused(company, monkeypatch):
    ticket = _unassigned(company)
    other = UserFactory(username="agent_2", role="service_agent", department=company.service)
    # Held with the agent locked, before they are made inactive.
    hold = hold_before(
        monkeypatch, accounts_services, "user_deactivation_problems", thread="deactivation"
    )
    results = second_waits_for_first(
        _deactivating(company, company.agent),
        _assigning(company.agent, ticket, other),
        hold,
        names=("deactivation", "assignment"),
    )
    assert results["deactivation"][0] == "ok", results["deactivation"][-1]
    assert results["assignment"][0] == "error", results["assignment"]
    assert isinstance(results["assignment"][1], ActorDeactivated), results["assignment"][-1]
    _unchanged(ticket)


def test_an_assignee_deactivated_while_the_assignment_waits_is_refused(company, monkeypatch):
    ticket = _unassigned(company)
    leaving = UserFactory(username="agent_2", role="service_agent", department=company.service)
    hold = hold_before(
        monkeypatch, accounts_services, "user_deactivation_problems", thread="deactivation"
    )
    results = second_waits_for_first(
        _deactivating(company, leaving),
        _assigning(company.agent, ticket, leaving),
        hold,
        names=("deactivation", "assignment"),
    )
    assert results["deactivation"][0] == "ok", results["deactivation"][-1]
    assert results["assignment"][0] == "error", results["assignment"]
    error = results["assignment"][1]
    assert isinstance(error, ValidationError), results["assignment"][-1]
    assert "assignee_id" in error.message_dict
    _unchanged(ticket)


def test_an_actor_leaving_for_the_assignee_and_the_assignment_do_not_deadlock(company, monkeypatch):
    # The deactivation locks the agent (the lower id) and then their successor; the
    # assignment, by the agent, to that successor, is held once it has locked its users.
    ticket = _unassigned(company)
    successor = UserFactory(username="agent_2", role="service_agent", department=company.service)
    assert company.agent.pk < successor.pk
    hold = hold_after_first(monkeypatch, services, "key_share_active_users", thread="assignment")
    results = second_waits_for_first(
        _assigning(company.agent, ticket, successor),
        _deactivating(company, company.agent, hand_over_to=successor.pk),
        hold,
        names=("assignment", "deactivation"),
    )
    assert results["assignment"][0] == "ok", results["assignment"][-1]
    assert results["deactivation"][0] == "ok", results["deactivation"][-1]
    stored = Ticket.objects.get(pk=ticket.pk)
    assert (stored.assignee_id, stored.owner_id) == (successor.pk, successor.pk)
