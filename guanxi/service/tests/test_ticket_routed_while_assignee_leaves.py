"""A new ticket routed to someone while they are deleted or deactivated. Routing locks the user
it chooses (as the database's check of the ticket's assignee and owner would only as it
commits), before the customer, so it waits for the deletion or deactivation under way and then
passes them over for the next agent in routing's order, rather than failing on its commit with
a database error (a server error on the page and the API), leaving the ticket with someone who
has left after their tickets were handed over, or holding the customer while a deactivation
handing it over waits for it. Real concurrency needs PostgreSQL (SQLite has one writer at a
time)."""

import datetime as dt

from guanxi.accounts import services as accounts_services
from guanxi.accounts.models import User
from guanxi.core.testing.factories import UserFactory
from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import hold_before, second_waits_for_first
from guanxi.customers.models import Customer
from guanxi.service import intake, services
from guanxi.service.models import AgentProfile, Ticket

pytestmark = CONCURRENT


def _next_in_line_and_leaving(company, desk) -> User:
    """A third refund agent, whom routing chooses first (nobody else has fewer open tickets);
    the desk's second agent comes next, the company's agent handling no refunds."""
    company.agent.agent_profile.skills.clear()
    leaving = UserFactory(username="agent3", role="service_agent", department=company.service)
    AgentProfile.objects.create(user=leaving).skills.add(desk.refund)
    held = services.ticket_create(
        actor=company.admin,
        customer_id=company.unowned_customer.pk,
        data={"type": "inquiry", "subject": "发票", "category_id": desk.refund.pk},
    )
    Ticket.objects.filter(pk=held.pk).update(assignee=desk.second)
    return leaving


def _opening(company, desk):
    return lambda: services.ticket_create(
        actor=company.admin,
        customer_id=company.rep_customer.pk,
        data={"type": "complaint", "subject": "退款未到账", "category_id": desk.refund.pk},
    )


def _opened(result) -> Ticket:
    assert result[0] == "ok", result[-1]
    return Ticket.objects.get(pk=result[1].pk)


def test_a_ticket_routed_to_someone_being_deleted_waits_and_goes_to_the_next(
    company, desk, monkeypatch
):
    leaving = _next_in_line_and_leaving(company, desk)
    # Held with the user locked, before their row goes.
    hold = hold_before(monkeypatch, accounts_services, "user_access_as_stored", thread="deletion")
    results = second_waits_for_first(
        lambda: accounts_services.users_delete(actor=company.admin, user_ids=[leaving.pk]),
        _opening(company, desk),
        hold,
        names=("deletion", "opening"),
    )
    assert results["deletion"] == ("ok", 1), results["deletion"][-1]
    ticket = _opened(results["opening"])
    assert (ticket.assignee_id, ticket.owner_id) == (desk.second.pk, desk.second.pk)


def test_a_ticket_routed_to_someone_being_deactivated_waits_and_goes_to_the_next(
    company, desk, monkeypatch
):
    leaving = _next_in_line_and_leaving(company, desk)
    # Held with the user locked, before they are made inactive.
    hold = hold_before(
        monkeypatch, accounts_services, "user_deactivation_problems", thread="deactivation"
    )
    results = second_waits_for_first(
        lambda: accounts_services.user_deactivate(actor=company.admin, user_id=leaving.pk),
        _opening(company, desk),
        hold,
        names=("deactivation", "opening"),
    )
    assert results["deactivation"][0] == "ok", results["deactivation"][-1]
    ticket = _opened(results["opening"])
    assert (ticket.assignee_id, ticket.owner_id) == (desk.second.pk, desk.second.pk)
    assert not Ticket.objects.filter(assignee=leaving).exists()


def test_a_gold_customers_request_while_their_account_manager_leaves_does_not_deadlock(
    company, desk, monkeypatch
):
    from guanxi.analytics.models import AnalyticsRun, CustomerValue

    run = AnalyticsRun.objects.create(
        as_of=dt.date(2026, 12, 1), status=AnalyticsRun.Status.SUCCEEDED, is_current=True
    )
    CustomerValue.objects.create(run=run, customer=company.rep_customer, pareto_tier="gold")
    # Held with the account manager locked, before their customers are handed to the pool:
    # the request routed to them must not hold the customer meanwhile.
    hold = hold_before(
        monkeypatch, accounts_services, "user_deactivation_problems", thread="deactivation"
    )
    results = second_waits_for_first(
        lambda: accounts_services.user_deactivate(
            actor=company.admin, user_id=company.rep.pk, hand_over_to="pool"
        ),
        _opening(company, desk),
        hold,
        names=("deactivation", "opening"),
    )
    assert results["deactivation"][0] == "ok", results["deactivation"][-1]
    ticket = _opened(results["opening"])
    assert ticket.assignee_id in (company.agent.pk, desk.second.pk)
    assert ticket.owner_id == ticket.assignee_id
    assert Customer.objects.get(pk=company.rep_customer.pk).owner_id is None


def test_a_request_from_the_web_form_routed_to_someone_being_deleted_goes_to_the_next(
    company, desk, monkeypatch
):
    leaving = _next_in_line_and_leaving(company, desk)
    hold = hold_before(monkeypatch, accounts_services, "user_access_as_stored", thread="deletion")
    results = second_waits_for_first(
        lambda: accounts_services.users_delete(actor=company.admin, user_ids=[leaving.pk]),
        lambda: intake.request_from_customer(
            name="赵磊",
            email="zhaolei@new.example.cn",
            data={"type": "complaint", "subject": "退款未到账", "category_id": desk.refund.pk},
            channel=Ticket.Channel.WEB_FORM,
            acknowledge=False,
        ),
        hold,
        names=("deletion", "request"),
    )
    assert results["deletion"] == ("ok", 1), results["deletion"][-1]
    ticket = _opened(results["request"])
    assert (ticket.assignee_id, ticket.owner_id) == (desk.second.pk, desk.second.pk)
