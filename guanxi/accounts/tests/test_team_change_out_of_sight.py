"""A sales rep sees their teammates' customers while their team shares them
(``Team.customer_sharing``). Moving a rep to another team, switching a team's sharing off or
deleting the team takes that sight away as a change of role or department does: the open
tickets the rep, and their former teammates, hold on customers they no longer see go back to
the queue, each with an audit row. Tickets on customers still in sight stay where they are."""

import pytest
from django.urls import reverse

from guanxi.accounts.models import Team
from guanxi.accounts.tests.service_department import new_ticket
from guanxi.audit.models import AuditEvent
from guanxi.core.testing.admin_forms import (
    change_form_data,
    delete_confirmation_data,
    signed_in_administrators,
)
from guanxi.service.models import Ticket

pytestmark = pytest.mark.django_db


def _post(client, url, data):
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors


def _move(company, user, team):
    (ann,) = signed_in_administrators("ann")
    url = reverse("admin:accounts_user_change", args=[user.pk])
    _post(ann, url, change_form_data(ann.get(url), team=team.pk))


def _share(company, sharing):
    (ann,) = signed_in_administrators("ann")
    url = reverse("admin:accounts_team_change", args=[company.team_a.pk])
    _post(ann, url, change_form_data(ann.get(url), customer_sharing=sharing))


def _reassigned(ticket):
    events = AuditEvent.objects.filter(object_type="ticket", object_id=ticket.pk)
    return list(events.filter(action="reassign"))


def _released(ticket, holder):
    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.owner) == (None, None)
    [event] = _reassigned(ticket)
    assert event.actor.username == "ann"
    assert event.changes["assignee_id"] == {"before": holder.pk, "after": None}


def _kept(ticket, holder):
    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.owner) == (holder, holder)
    assert not _reassigned(ticket)


def test_a_rep_moved_to_another_team_lets_go_of_a_former_teammates_customer(company):
    theirs = new_ticket(company.teammate_customer, assignee=company.rep, owner=company.rep)
    own = new_ticket(company.rep_customer, assignee=company.rep, owner=company.rep)
    _move(company, company.rep, company.team_b)
    _released(theirs, company.rep)
    _kept(own, company.rep)


def test_the_former_teammates_let_go_of_the_moved_reps_customers(company):
    ticket = new_ticket(company.rep_customer, assignee=company.teammate, owner=company.teammate)
    own = new_ticket(company.teammate_customer, assignee=company.teammate, owner=company.teammate)
    _move(company, company.rep, company.team_b)
    _released(ticket, company.teammate)
    _kept(own, company.teammate)


def test_a_rep_moved_to_another_department_leaves_its_managers_sight(company):
    ticket = new_ticket(company.rep_customer, assignee=company.manager, owner=company.manager)
    (ann,) = signed_in_administrators("ann")
    url = reverse("admin:accounts_user_change", args=[company.rep.pk])
    page = ann.get(url)
    _post(ann, url, change_form_data(page, department=company.west.pk, team=company.team_west.pk))
    _released(ticket, company.manager)


def test_a_team_no_longer_sharing_releases_its_members_tickets_on_each_others_customers(company):
    rep_holds = new_ticket(company.teammate_customer, assignee=company.rep, owner=company.rep)
    teammate_holds = new_ticket(
        company.rep_customer, assignee=company.teammate, owner=company.teammate
    )
    own = new_ticket(company.rep_customer, assignee=company.rep, owner=company.rep)
    _share(company, Team.Sharing.NONE)
    _released(rep_holds, company.rep)
    _released(teammate_holds, company.teammate)
    _kept(own, company.rep)


def test_a_deleted_team_releases_its_members_tickets_on_each_others_customers(company):
    ticket = new_ticket(company.teammate_customer, assignee=company.rep, owner=company.rep)
    (ann,) = signed_in_administrators("ann")
    url = reverse("admin:accounts_team_delete", args=[company.team_a.pk])
    response = ann.post(url, delete_confirmation_data(ann.get(url)))
    assert response.status_code == 302
    _released(ticket, company.rep)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda c: _share(c, Team.Sharing.EDIT), id="sharing-still-shares"),
        pytest.param(lambda c: _share(c, Team.Sharing.VIEW), id="sharing-saved-unchanged"),
        pytest.param(lambda c: _move(c, c.rep, c.team_a), id="team-saved-unchanged"),
    ],
)
def test_nothing_is_released_while_the_customers_stay_in_sight(company, change):
    theirs = new_ticket(company.teammate_customer, assignee=company.rep, owner=company.rep)
    held = new_ticket(company.rep_customer, assignee=company.teammate, owner=company.teammate)
    change(company)
    _kept(theirs, company.rep)
    _kept(held, company.teammate)
    assert Ticket.objects.filter(assignee__isnull=True).count() == 0
