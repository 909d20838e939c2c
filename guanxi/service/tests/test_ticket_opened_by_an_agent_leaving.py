"""A service agent taking a request in (on the phone, at the counter) while they are
deactivated or deleted. The agent owns the ticket, holds it if routing gives it nobody, and is
named as its author: they are locked as routing locks whom it chooses, so the deactivation or
deletion under way is waited for and the request then refused as anything an inactive user
asks, rather than the ticket committing with someone who has left as its owner and assignee,
after their tickets were handed over, or its commit failing on a user gone (a server error).
Real concurrency needs PostgreSQL (SQLite has one writer at a time)."""

from guanxi.accounts import services as accounts_services
from guanxi.core.locking import ActorDeactivated
from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import hold_before, second_waits_for_first
from guanxi.service import services
from guanxi.service.models import Ticket

pytestmark = CONCURRENT


def _taking_in(company):
    # No category: routing gives it nobody, and the agent taking it in holds it.
    return lambda: services.ticket_create(
        actor=company.agent,
        customer_id=company.unowned_customer.pk,
        data={"type": "inquiry", "subject": "发票抬头"},
    )


def _refused(result) -> None:
    assert result[0] == "error", result
    assert isinstance(result[1], ActorDeactivated), result[-1]


def test_a_request_taken_in_by_an_agent_being_deactivated_is_refused(company, monkeypatch):
    hold = hold_before(
        monkeypatch, accounts_services, "user_deactivation_problems", thread="deactivation"
    )
    results = second_waits_for_first(
        lambda: accounts_services.user_deactivate(
            actor=company.admin, user_id=company.agent.pk, hand_over_to="pool"
        ),
        _taking_in(company),
        hold,
        names=("deactivation", "opening"),
    )
    assert results["deactivation"][0] == "ok", results["deactivation"][-1]
    _refused(results["opening"])
    assert not Ticket.objects.filter(owner=company.agent).exists()
    assert not Ticket.objects.filter(assignee=company.agent).exists()


def test_a_request_taken_in_by_an_agent_being_deleted_is_refused(company, monkeypatch):
    # Nothing names the agent yet but their customer, given to the pool first.
    company.agent_customer.owner = None
    company.agent_customer.save(update_fields=["owner"])
    hold = hold_before(monkeypatch, accounts_services, "user_access_as_stored", thread="deletion")
    results = second_waits_for_first(
        lambda: accounts_services.users_delete(actor=company.admin, user_ids=[company.agent.pk]),
        _taking_in(company),
        hold,
        names=("deletion", "opening"),
    )
    assert results["deletion"] == ("ok", 1), results["deletion"][-1]
    _refused(results["opening"])
