"""A service department's manager deactivated, their ticket on a sales rep's customer handed to
another manager of the department, while the department's last service agent is moved out of it
on their user page or deactivated. The managers see that customer only while an active agent is
in their department. The page looked for the tickets the managers no longer see while the
deactivation, holding the ticket, had judged the successor to see the customer (the agent still
there) and not yet committed: the page found the ticket the leaver's, waited for it, then left it
alone as no longer the leaver's, and it stayed with a successor who could no longer open its
customer. The deactivation now locks the successor's department (a key) before judging, as the
page locks the department it takes someone out of, so one waits for the other and the second
sees what the first did. Real concurrency needs PostgreSQL (SQLite has one writer at a time)."""

from django.urls import reverse

from guanxi.accounts import services as accounts_services
from guanxi.accounts.models import User
from guanxi.accounts.roles import Role
from guanxi.accounts.services import POOL, user_deactivate
from guanxi.accounts.tests.service_department import new_ticket
from guanxi.core.testing.admin_forms import change_form_data, signed_in_administrators
from guanxi.core.testing.factories import UserFactory
from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import hold_before, second_waits_for_first
from guanxi.service import services as service_services
from guanxi.service.models import Ticket

pytestmark = CONCURRENT


def _managers_and_ticket(company):
    head = UserFactory(username="head", role=Role.MANAGER, department=company.service)
    successor = UserFactory(username="head_2", role=Role.MANAGER, department=company.service)
    return head, successor, new_ticket(company.rep_customer, assignee=head, owner=head)


def _manager_leaving(company, head, successor):
    return lambda: user_deactivate(actor=company.admin, user_id=head.pk, hand_over_to=successor.pk)


def _moving_the_agent_out(company):
    (ann,) = signed_in_administrators("ann")
    url = reverse("admin:accounts_user_change", args=[company.agent.pk])
    data = change_form_data(ann.get(url), department=company.west.pk)
    return lambda: ann.post(url, data).status_code


def _nobody_holds(ticket: Ticket) -> None:
    stored = Ticket.objects.get(pk=ticket.pk)
    assert (stored.assignee_id, stored.owner_id) == (None, None)


def test_the_last_agent_moved_out_as_a_manager_hands_a_ticket_over_puts_it_back(
    company, monkeypatch
):
    head, successor, ticket = _managers_and_ticket(company)
    # Held once the ticket is the successor's, before the deactivation's audit row.
    hold = hold_before(monkeypatch, accounts_services, "audit_record", thread="deactivation")
    results = second_waits_for_first(
        _manager_leaving(company, head, successor),
        _moving_the_agent_out(company),
        hold,
        names=("deactivation", "page"),
    )
    assert results["deactivation"][0] == "ok", results["deactivation"][-1]
    assert results["page"] == ("ok", 302), results["page"][-1]
    assert User.objects.get(pk=company.agent.pk).department_id == company.west.pk
    _nobody_holds(ticket)


def test_a_manager_handing_a_ticket_over_as_the_last_agent_moves_out_puts_it_back(
    company, monkeypatch
):
    head, successor, ticket = _managers_and_ticket(company)
    # Held once the agent's move is saved, before the managers' tickets are looked at.
    hold = hold_before(monkeypatch, service_services, "tickets_out_of_sight_release", thread="page")
    results = second_waits_for_first(
        _moving_the_agent_out(company),
        _manager_leaving(company, head, successor),
        hold,
        names=("page", "deactivation"),
        or_finishes=True,
    )
    assert results["page"] == ("ok", 302), results["page"][-1]
    assert results["deactivation"][0] == "ok", results["deactivation"][-1]
    _nobody_holds(ticket)


def test_a_manager_handing_a_ticket_over_as_the_last_agent_leaves_puts_it_back(
    company, monkeypatch
):
    head, successor, ticket = _managers_and_ticket(company)
    # Held once the ticket is the successor's, before the deactivation's audit row.
    hold = hold_before(monkeypatch, accounts_services, "audit_record", thread="manager")
    results = second_waits_for_first(
        _manager_leaving(company, head, successor),
        lambda: user_deactivate(actor=company.admin, user_id=company.agent.pk, hand_over_to=POOL),
        hold,
        names=("manager", "agent"),
    )
    assert results["manager"][0] == "ok", results["manager"][-1]
    assert results["agent"][0] == "ok", results["agent"][-1]
    _nobody_holds(ticket)
