"""A team deleted while one of the tickets it releases (a member's, on a teammate's customer,
which the member sees only through the team's sharing) is given to another member, in either
order. The deletion locks no customer, and needs none: the assignee must be a member to see a
teammate's customer, and the deletion locks every member (``FOR UPDATE``) before the team and
the tickets, while the assignment shares its assignee and those the ticket tells (its holder)
before the customer and the ticket. Whichever comes second waits for the first at a user, holding
nothing the first wants, and then sees what it did: the assignment, after the deletion, finds
the member without the team and no longer seeing the customer, and is refused; the deletion,
after the assignment, finds the ticket with the new member and releases it from them. Neither
order leaves the ticket with someone who cannot open its customer. Real concurrency needs
PostgreSQL (SQLite has one writer at a time)."""

from django.core.exceptions import ValidationError

from guanxi.accounts import services as accounts_services
from guanxi.accounts.models import Team
from guanxi.accounts.roles import Role
from guanxi.accounts.tests.service_department import new_ticket
from guanxi.core.testing.factories import UserFactory
from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import hold_before, second_waits_for_first
from guanxi.service import services
from guanxi.service.models import Ticket

pytestmark = CONCURRENT


def _released_ticket(company):
    """A third member of team A, and a ticket the rep holds on the teammate's customer, in
    team A's queue: the deletion of team A releases it."""
    third = UserFactory(
        username="third", role=Role.SALES_REP, department=company.east, team=company.team_a
    )
    ticket = new_ticket(company.teammate_customer, assignee=company.rep, owner=company.rep)
    Ticket.objects.filter(pk=ticket.pk).update(team=company.team_a)
    return third, Ticket.objects.get(pk=ticket.pk)


def _deleting(company):
    return lambda: accounts_services.teams_delete(actor=company.admin, team_ids=[company.team_a.pk])


def _assigning(company, ticket: Ticket, assignee_id: int):
    return lambda: services.ticket_assign(
        actor=company.admin, ticket_id=ticket.pk, assignee_id=assignee_id
    )


def _released(ticket: Ticket) -> None:
    after = Ticket.objects.get(pk=ticket.pk)
    assert (after.assignee_id, after.owner_id, after.team_id) == (None, None, None)


def test_a_released_ticket_given_to_a_member_as_the_team_is_deleted_is_refused(
    company, monkeypatch
):
    third, ticket = _released_ticket(company)
    # Held with the members, the team and its tickets locked, before the team's row goes.
    hold = hold_before(monkeypatch, accounts_services, "settings_delete", thread="deletion")
    results = second_waits_for_first(
        _deleting(company),
        _assigning(company, ticket, third.pk),
        hold,
        names=("deletion", "assignment"),
    )
    assert results["deletion"][0] == "ok", results["deletion"][-1]
    assignment = results["assignment"]
    assert assignment[0] == "error" and isinstance(assignment[1], ValidationError), assignment[-1]
    assert list(assignment[1].message_dict) == ["assignee_id"]
    assert not Team.objects.filter(pk=company.team_a.pk).exists()
    _released(ticket)


def test_a_ticket_given_to_a_member_before_the_team_is_deleted_is_released_from_them(
    company, monkeypatch
):
    third, ticket = _released_ticket(company)
    # Held with the users shared, the customer shared and the ticket locked, before it asks
    # whether the member may work with the customer.
    hold = hold_before(monkeypatch, services, "_workable_customers", thread="assignment")
    results = second_waits_for_first(
        _assigning(company, ticket, third.pk),
        _deleting(company),
        hold,
        names=("assignment", "deletion"),
    )
    assert results["assignment"][0] == "ok", results["assignment"][-1]
    assert results["deletion"][0] == "ok", results["deletion"][-1]
    assert not Team.objects.filter(pk=company.team_a.pk).exists()
    _released(ticket)
