"""A ticket given to someone while their team, or they themselves, are deleted or deactivated.
The assignment locks the user and the team the ticket comes to (as the database's check of the
ticket's keys would only as it commits), so it waits for a deletion or deactivation under way
and is then refused naming ``assignee_id`` (a user gone or inactive), or given to a member
whose team was deleted meanwhile without a team, rather than failing on its commit with a
database error (a server error on the page and the API): the ticket is never left with a team
or a user that is gone. Real concurrency needs PostgreSQL (SQLite has one writer at a time)."""

from django.core.exceptions import ValidationError

from guanxi.accounts import services as accounts_services
from guanxi.audit.models import AuditEvent
from guanxi.core.testing.factories import UserFactory
from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import hold_before, second_waits_for_first
from guanxi.service import services
from guanxi.service.models import Ticket
from guanxi.service.tests.desk import complaint

pytestmark = CONCURRENT


def _unassigned(company) -> Ticket:
    ticket = complaint(company)
    Ticket.objects.filter(pk=ticket.pk).update(team=None, assignee=None)
    return Ticket.objects.get(pk=ticket.pk)


def _assigning(company, ticket: Ticket, assignee_id: int):
    return lambda: services.ticket_assign(
        actor=company.admin,
        ticket_id=ticket.pk,
        assignee_id=assignee_id,
        expected_version=ticket.version,
    )


def _refused_as_assignee(result) -> str:
    assert result[0] == "error" and isinstance(result[1], ValidationError), result[-1]
    assert list(result[1].message_dict) == ["assignee_id"]
    return result[1].message_dict["assignee_id"][0]


def _left_as_it_was(stored: Ticket) -> None:
    after = Ticket.objects.get(pk=stored.pk)
    assert (after.team_id, after.assignee_id, after.version) == (None, None, stored.version)
    assert not AuditEvent.objects.filter(
        object_type="ticket", object_id=stored.pk, action=AuditEvent.Action.REASSIGN
    ).exists()


def test_a_ticket_given_to_a_member_while_the_team_is_deleted_waits_and_goes_without_it(
    company, desk, monkeypatch
):
    stored = _unassigned(company)
    # Held once it has taken the team's tickets (none), before the team's row goes.
    hold = hold_before(monkeypatch, accounts_services, "settings_delete", thread="deletion")
    results = second_waits_for_first(
        lambda: accounts_services.teams_delete(actor=company.admin, team_ids=[desk.team.pk]),
        _assigning(company, stored, desk.second.pk),
        hold,
        names=("deletion", "assignment"),
    )
    assert results["deletion"][0] == "ok", results["deletion"][-1]
    # The deletion locks the team's members first: the assignment waits for the member, and
    # then reads them as the deletion left them, in no team.
    assert results["assignment"][0] == "ok", results["assignment"][-1]
    after = Ticket.objects.get(pk=stored.pk)
    assert (after.assignee_id, after.team_id) == (desk.second.pk, None)


def test_a_ticket_given_to_someone_while_they_are_deleted_waits_and_is_refused(
    company, desk, monkeypatch
):
    stored = _unassigned(company)
    leaving = UserFactory(username="agent3", role="service_agent", department=company.service)
    # Held with the user locked, before their row goes.
    hold = hold_before(monkeypatch, accounts_services, "user_access_as_stored", thread="deletion")
    results = second_waits_for_first(
        lambda: accounts_services.users_delete(actor=company.admin, user_ids=[leaving.pk]),
        _assigning(company, stored, leaving.pk),
        hold,
        names=("deletion", "assignment"),
    )
    assert results["deletion"][0] == "ok", results["deletion"][-1]
    _refused_as_assignee(results["assignment"])
    _left_as_it_was(stored)


def test_a_ticket_given_to_someone_while_they_are_deactivated_waits_and_is_refused(
    company, desk, monkeypatch
):
    stored = _unassigned(company)
    leaving = UserFactory(username="agent3", role="service_agent", department=company.service)
    # Held with the user locked, before they are made inactive.
    hold = hold_before(
        monkeypatch, accounts_services, "user_deactivation_problems", thread="deactivation"
    )
    results = second_waits_for_first(
        lambda: accounts_services.user_deactivate(actor=company.admin, user_id=leaving.pk),
        _assigning(company, stored, leaving.pk),
        hold,
        names=("deactivation", "assignment"),
    )
    assert results["deactivation"][0] == "ok", results["deactivation"][-1]
    _refused_as_assignee(results["assignment"])
    _left_as_it_was(stored)


def test_a_ticket_given_to_its_owner_while_they_are_deactivated_does_not_deadlock(
    company, desk, monkeypatch
):
    # The ticket is theirs as first contact: the deactivation hands it over, so it waits for
    # the ticket the assignment holds, and the assignment must not wait for them meanwhile.
    leaving = UserFactory(username="agent3", role="service_agent", department=company.service)
    ticket = complaint(company)
    Ticket.objects.filter(pk=ticket.pk).update(team=None, assignee=None, owner=leaving)
    stored = Ticket.objects.get(pk=ticket.pk)
    # Held with the ticket locked, before it is saved.
    hold = hold_before(monkeypatch, services, "_workable_customers", thread="assignment")
    results = second_waits_for_first(
        _assigning(company, stored, leaving.pk),
        lambda: accounts_services.user_deactivate(
            actor=company.admin, user_id=leaving.pk, hand_over_to="pool"
        ),
        hold,
        names=("assignment", "deactivation"),
    )
    assert results["assignment"][0] == "ok", results["assignment"][-1]
    assert results["deactivation"][0] == "ok", results["deactivation"][-1]
    after = Ticket.objects.get(pk=stored.pk)
    assert (after.owner_id, after.assignee_id) == (None, None)
