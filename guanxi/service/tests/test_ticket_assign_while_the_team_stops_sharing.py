"""A ticket on a sales rep's customer given to someone while an administrator's team page stops
the rep's team sharing its customers. The teammates then no longer see each other's customers:
the tickets they hold on them go back to the queue (``team_save``), and one given to a teammate
meanwhile is refused or let go of. The page locked the team first (its form, then the service)
and the tickets it releases after, while an assignment locks the customer and the ticket and
then the assignee's team: a teammate's ticket given to the rep at that moment deadlocked with
the page, one of them failing, and a ticket given to the teammate while the page held the team
waited for it, committed after it, and stayed with someone who can no longer open it. The page
now locks the members and their customers with tickets on them before the team, as a user's
page locks a user, their customers and then their team. Real concurrency needs PostgreSQL
(SQLite has one writer at a time)."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from guanxi.accounts import services as accounts_services
from guanxi.accounts.models import Team
from guanxi.accounts.tests.service_department import new_ticket
from guanxi.core.testing.admin_forms import change_form_data, signed_in_administrators
from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import (
    hold_after_first,
    hold_before,
    second_waits_for_first,
)
from guanxi.service import services
from guanxi.service.models import Ticket

pytestmark = CONCURRENT


def _assigning(company, ticket, assignee):
    return lambda: services.ticket_assign(
        actor=company.agent,
        ticket_id=ticket.pk,
        assignee_id=assignee.pk,
        expected_version=ticket.version,
    )


def _on_the_page(company):
    (ann,) = signed_in_administrators("ann")
    url = reverse("admin:accounts_team_change", args=[company.team_a.pk])
    data = change_form_data(ann.get(url), customer_sharing=Team.Sharing.NONE)
    return lambda: ann.post(url, data).status_code


def _by_the_service(company):
    # As a script would save it, without the page's form locking anything first.
    team = Team.objects.get(pk=company.team_a.pk)
    team.customer_sharing = Team.Sharing.NONE

    def save():
        accounts_services.team_save(actor=company.admin, team=team, expected_version=team.version)
        return 302

    return save


SAVES = pytest.mark.parametrize("sharing_stopped", [_on_the_page, _by_the_service])


@SAVES
def test_a_teammates_ticket_given_to_the_rep_as_the_team_stops_sharing(
    company, monkeypatch, sharing_stopped
):
    # The teammate holds a ticket on the rep's customer, which they see through the team.
    ticket = new_ticket(company.rep_customer, assignee=company.teammate, owner=company.teammate)
    # Held once it has locked the ticket and found that the rep sees its customer, before it
    # locks the rep's team and saves the ticket.
    hold = hold_after_first(monkeypatch, services, "_workable_customers", thread="assignment")
    results = second_waits_for_first(
        _assigning(company, ticket, company.rep),
        sharing_stopped(company),
        hold,
        names=("assignment", "page"),
        or_finishes=True,
    )
    assert results["assignment"][0] == "ok", results["assignment"][-1]
    assert results["page"] == ("ok", 302), results["page"][-1]
    stored = Ticket.objects.get(pk=ticket.pk)
    # With the rep now, who owns the customer: nothing for the page to release.
    assert (stored.assignee_id, stored.team_id) == (company.rep.pk, company.team_a.pk)
    assert Team.objects.get(pk=company.team_a.pk).customer_sharing == Team.Sharing.NONE


@SAVES
def test_a_ticket_given_to_a_teammate_as_the_team_stops_sharing_is_refused(
    company, monkeypatch, sharing_stopped
):
    ticket = new_ticket(company.rep_customer, status=Ticket.Status.NEW)
    # Held once it has saved the team and before it looks for the tickets to release: with the
    # team (and now its members and their customers) locked.
    hold = hold_before(
        monkeypatch, accounts_services, "_teammates_out_of_sight_release", thread="page"
    )
    results = second_waits_for_first(
        sharing_stopped(company),
        _assigning(company, ticket, company.teammate),
        hold,
        names=("page", "assignment"),
        or_finishes=True,
    )
    assert results["page"] == ("ok", 302), results["page"][-1]
    assert results["assignment"][0] == "error", results["assignment"]
    assert isinstance(results["assignment"][1], ValidationError), results["assignment"][-1]
    assert "assignee_id" in results["assignment"][1].message_dict
    stored = Ticket.objects.get(pk=ticket.pk)
    assert (stored.assignee_id, stored.owner_id) == (None, None)
