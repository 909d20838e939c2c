"""Deleting a team in the admin site leaves its tickets without a team (its members without one
too, which the team's own audit row names). A ticket's team is part of what its history
records, so each ticket the deletion changes gets an audit row on its customer, under the
administrator's name, and a new version."""

import pytest
from django.urls import reverse

from guanxi.accounts import services as accounts_services
from guanxi.audit.models import AuditEvent
from guanxi.core.testing.admin_forms import (
    audit_events,
    delete_confirmation_data,
    signed_in_administrators,
)
from guanxi.customers.history import CustomerHistory, describe_history
from guanxi.service import services
from guanxi.service.models import Ticket
from guanxi.service.tests.desk import complaint

pytestmark = pytest.mark.django_db


def _team_rows(ticket: Ticket) -> list[AuditEvent]:
    return [
        row
        for row in audit_events("ticket", ticket.pk)
        if row.action == AuditEvent.Action.UPDATE and "team_id" in row.changes
    ]


def test_each_ticket_of_a_deleted_team_is_recorded_on_its_customer(company, desk):
    open_one = complaint(company)
    closed = complaint(company, company.west_customer)
    services.ticket_set_status(actor=company.agent, ticket_id=closed.pk, status="closed")
    other = complaint(company)
    Ticket.objects.filter(pk=other.pk).update(team=company.team_a)
    tickets = {t.pk: Ticket.objects.get(pk=t.pk) for t in (open_one, closed, other)}
    assert {tickets[open_one.pk].team_id, tickets[closed.pk].team_id} == {desk.team.pk}

    accounts_services.teams_delete(actor=company.admin, team_ids=[desk.team.pk])

    for ticket in (open_one, closed):
        stored = Ticket.objects.get(pk=ticket.pk)
        assert stored.team_id is None
        assert stored.version == tickets[ticket.pk].version + 1
        [row] = _team_rows(ticket)
        assert row.changes == {"team_id": {"before": desk.team.pk, "after": None}}
        assert (row.actor, row.customer_id) == (company.admin, ticket.customer_id)
        assert row in CustomerHistory(customer_id=ticket.customer_id).events()
        [entry] = describe_history([row], viewer=company.admin)
        assert "Desk" in entry.summary and ticket.number in entry.summary
    # Another team's ticket is no business of this deletion.
    assert Ticket.objects.get(pk=other.pk).team_id == company.team_a.pk
    assert not _team_rows(other)


def test_a_team_deleted_in_the_admin_site_records_its_tickets(company, desk):
    ticket = complaint(company)
    (ann,) = signed_in_administrators("ann")
    delete = reverse("admin:accounts_team_delete", args=[desk.team.pk])
    assert ann.post(delete, delete_confirmation_data(ann.get(delete))).status_code == 302
    assert Ticket.objects.get(pk=ticket.pk).team_id is None
    [row] = _team_rows(ticket)
    assert row.actor.username == "ann"
