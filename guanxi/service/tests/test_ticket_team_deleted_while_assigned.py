"""A ticket given to a member of a team while the team is deleted. The deletion locks the teams
before it looks for their tickets, so an assignment that would point a ticket to one of them
cannot commit until the deletion has ended, and then fails on the team being gone: the ticket
is never left with the team the deletion did not see, which the database would then empty as
the team's row goes, with no row in its history. Real concurrency needs PostgreSQL (SQLite has
one writer at a time)."""

from guanxi.accounts import services as accounts_services
from guanxi.audit.models import AuditEvent
from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import hold_before, second_waits_for_first
from guanxi.service import services
from guanxi.service.models import Ticket
from guanxi.service.tests.desk import complaint

pytestmark = CONCURRENT


def test_a_ticket_given_to_a_member_while_the_team_is_deleted_waits_and_fails(
    company, desk, monkeypatch
):
    ticket = complaint(company)
    Ticket.objects.filter(pk=ticket.pk).update(team=None, assignee=None)
    stored = Ticket.objects.get(pk=ticket.pk)
    # Held once it has taken the team's tickets (none), before the team's row goes.
    hold = hold_before(monkeypatch, accounts_services, "settings_delete", thread="deletion")
    results = second_waits_for_first(
        lambda: accounts_services.teams_delete(actor=company.admin, team_ids=[desk.team.pk]),
        lambda: services.ticket_assign(
            actor=company.admin,
            ticket_id=ticket.pk,
            assignee_id=desk.second.pk,
            expected_version=stored.version,
        ),
        hold,
        names=("deletion", "assignment"),
    )
    assert results["deletion"][0] == "ok", results["deletion"][-1]
    assert results["assignment"][0] == "error"
    after = Ticket.objects.get(pk=ticket.pk)
    assert (after.team_id, after.assignee_id, after.version) == (None, None, stored.version)
    assert not AuditEvent.objects.filter(
        object_type="ticket", object_id=ticket.pk, action=AuditEvent.Action.REASSIGN
    ).exists()
