"""A team deleted while a ticket merge locks two tickets. The deletion takes the team off its
tickets and puts back in the queue those its members no longer see; locked in two passes (the
team's tickets, then the members'), it held a newer ticket of the team while a merge, holding
an older one a member held, waited for it, and then asked for the older one itself: the
database broke one of the two off as a deadlock. Real concurrency needs PostgreSQL."""

from guanxi.accounts import services as accounts_services
from guanxi.accounts.services import teams_delete
from guanxi.accounts.tests.service_department import new_ticket
from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import (
    hold_before,
    in_thread,
    sessions_waiting_for_a_lock,
    wait_until,
)
from guanxi.service.models import Ticket
from guanxi.service.services import ticket_merge

pytestmark = CONCURRENT


def test_a_team_deleted_and_a_ticket_merge_lock_tickets_in_one_order(company, monkeypatch):
    # The older ticket, held by a rep on a teammate's customer and in no team's queue: the
    # deletion releases it. The newer one is the team's: the deletion takes the team off it.
    held = new_ticket(company.teammate_customer, assignee=company.rep, owner=company.rep)
    teams = new_ticket(company.teammate_customer)
    Ticket.objects.filter(pk=teams.pk).update(team=company.team_a)
    assert held.pk < teams.pk
    # The deletion stops once it has locked what it locks before deleting the team.
    hold = hold_before(monkeypatch, accounts_services, "settings_delete", thread="delete")
    results: dict = {}
    threads = [
        in_thread(
            lambda: teams_delete(actor=company.admin, team_ids=[company.team_a.pk]),
            results,
            "delete",
        )
    ]
    try:
        assert hold.reached.wait(30), "the deletion did not get as far as deleting"
        threads.append(
            in_thread(
                lambda: ticket_merge(actor=company.admin, ticket_id=teams.pk, into_id=held.pk),
                results,
                "merge",
            )
        )
        assert wait_until(lambda: sessions_waiting_for_a_lock() >= 1), "the merge did not wait"
    finally:
        hold.go.set()
        for thread in threads:
            thread.join(60)

    assert results["delete"][0] == "ok", results["delete"][-1]
    assert results["merge"][0] == "ok", results["merge"][-1]
    held.refresh_from_db()
    assert (held.assignee, held.owner, held.team) == (None, None, None)
