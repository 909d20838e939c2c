"""A manager's ticket given to a fellow manager in a team of their department while the
department's last service agent is deactivated. The assignment locks the ticket and then shares
the assignee's team; the deactivation locks the department and then every ticket its managers
hold. Sharing the team shared its department too (the query joined it, teams being ordered by
their department's name): the assignment, holding the ticket, waited for the department the
deactivation held while the deactivation waited for the ticket, and the database broke one of
them off. Now the team's row alone is shared. Real concurrency needs PostgreSQL (SQLite has one
writer at a time)."""

from guanxi.accounts.models import Team
from guanxi.accounts.roles import Role
from guanxi.accounts.services import POOL, user_deactivate
from guanxi.accounts.tests.service_department import new_ticket
from guanxi.core.testing.factories import UserFactory
from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import hold_before, second_waits_for_first
from guanxi.service import services
from guanxi.service.models import Ticket

pytestmark = CONCURRENT


def test_a_managers_ticket_given_to_a_team_as_the_last_agent_leaves_does_not_deadlock(
    company, monkeypatch
):
    head = UserFactory(username="head", role=Role.MANAGER, department=company.service)
    fellow = UserFactory(
        username="head_2",
        role=Role.MANAGER,
        department=company.service,
        team=Team.objects.create(name="Desk", department=company.service),
    )
    # On a sales rep's customer, which the managers see only while the agent is there.
    ticket = new_ticket(company.rep_customer, assignee=head, owner=head)
    # Held with the ticket locked and the fellow manager judged, before their team is shared.
    hold = hold_before(monkeypatch, services, "key_shared", thread="assignment")
    results = second_waits_for_first(
        lambda: services.ticket_assign(
            actor=company.admin, ticket_id=ticket.pk, assignee_id=fellow.pk
        ),
        lambda: user_deactivate(actor=company.admin, user_id=company.agent.pk, hand_over_to=POOL),
        hold,
        names=("assignment", "deactivation"),
    )
    assert results["assignment"][0] == "ok", results["assignment"][-1]
    assert results["deactivation"][0] == "ok", results["deactivation"][-1]
    # Given to the fellow manager, and then put back in the queue: with no agent left, they
    # no longer see the customer.
    stored = Ticket.objects.get(pk=ticket.pk)
    assert stored.assignee_id is None
