"""A sales rep deactivated, their ticket on a teammate's customer (which the team's sharing lets
the team see) handed to another member of the team, while that customer is given to a rep of
another team. The deactivation judged the successor to see the customer without holding it;
the reassignment, looking for the tickets to put back in the queue before the deactivation had
committed, found the leaver's, waited for it, then left it alone as no longer the leaver's, and
it stayed with a successor who could no longer open its customer. The deactivation now locks
the customers of the leaver's open tickets with the others it locks, before judging, so the
reassignment waits for it and finds the ticket the successor's. Real concurrency needs
PostgreSQL (SQLite has one writer at a time)."""

from guanxi.accounts import services as accounts_services
from guanxi.accounts.roles import Role
from guanxi.accounts.services import user_deactivate
from guanxi.accounts.tests.service_department import new_ticket
from guanxi.core.testing.factories import UserFactory
from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import hold_before, second_waits_for_first
from guanxi.customers.models import Customer
from guanxi.customers.services import customers_reassign
from guanxi.service import services as service_services
from guanxi.service.models import Ticket

pytestmark = CONCURRENT


def _teammates_customer_with_a_ticket(company):
    """A third member of team A, to take over the rep's ticket on the teammate's customer."""
    third = UserFactory(
        username="third", role=Role.SALES_REP, department=company.east, team=company.team_a
    )
    customer = company.teammate_customer
    return third, customer, new_ticket(customer, assignee=company.rep, owner=company.rep)


def _deactivating(company, third):
    return lambda: user_deactivate(
        actor=company.admin, user_id=company.rep.pk, hand_over_to=third.pk
    )


def _reassigning(company, customer):
    # To a rep of team B, which shares nothing: team A no longer sees the customer.
    return lambda: customers_reassign(
        actor=company.admin,
        from_owner_id=company.teammate.pk,
        to_owner_id=company.rep_b.pk,
        customer_ids=[customer.pk],
    )


def _nobody_holds(company, customer, ticket) -> None:
    assert Customer.objects.get(pk=customer.pk).owner_id == company.rep_b.pk
    stored = Ticket.objects.get(pk=ticket.pk)
    assert (stored.assignee_id, stored.owner_id) == (None, None)


def test_a_ticket_handed_over_as_its_customer_leaves_the_team_is_put_back(company, monkeypatch):
    third, customer, ticket = _teammates_customer_with_a_ticket(company)
    # Held once the ticket is the successor's, before the deactivation's audit row.
    hold = hold_before(monkeypatch, accounts_services, "audit_record", thread="deactivation")
    results = second_waits_for_first(
        _deactivating(company, third),
        _reassigning(company, customer),
        hold,
        names=("deactivation", "reassignment"),
    )
    assert results["deactivation"][0] == "ok", results["deactivation"][-1]
    assert results["reassignment"] == ("ok", 1), results["reassignment"][-1]
    _nobody_holds(company, customer, ticket)


def test_a_ticket_whose_customer_leaves_the_team_as_it_is_handed_over_is_put_back(
    company, monkeypatch
):
    third, customer, ticket = _teammates_customer_with_a_ticket(company)
    # Held once the customer is rep B's, before its tickets are looked at.
    hold = hold_before(
        monkeypatch, service_services, "tickets_customers_release", thread="reassignment"
    )
    results = second_waits_for_first(
        _reassigning(company, customer),
        _deactivating(company, third),
        hold,
        names=("reassignment", "deactivation"),
        or_finishes=True,
    )
    assert results["reassignment"] == ("ok", 1), results["reassignment"][-1]
    assert results["deactivation"][0] == "ok", results["deactivation"][-1]
    _nobody_holds(company, customer, ticket)
