"""The test company's service department and the tickets its manager holds, for the tests of
what an agent leaving, given another role or moved to another department does to them: the
manager sees every customer only while an active service agent is in the department."""

from guanxi.accounts.models import User
from guanxi.accounts.roles import Role
from guanxi.core.testing.factories import UserFactory
from guanxi.service.models import Ticket


def new_ticket(customer, *, assignee=None, owner=None, status=Ticket.Status.OPEN) -> Ticket:
    return Ticket.objects.create(
        type=Ticket.Type.INQUIRY,
        subject=f"About {customer.name}",
        customer=customer,
        assignee=assignee,
        owner=owner,
        status=status,
    )


def managers_tickets(company) -> tuple[User, Ticket, Ticket, Ticket]:
    """The department's manager, holding an open ticket on a sales rep's customer, which they
    see only through the agent, one on a pool customer, which they see anyway, and a closed
    one on another department's customer."""
    head = UserFactory(username="head", role=Role.MANAGER, department=company.service)
    unseen = new_ticket(company.rep_customer, assignee=head, owner=head)
    seen = new_ticket(company.unowned_customer, assignee=head, owner=head)
    closed = new_ticket(company.west_customer, assignee=head, status=Ticket.Status.CLOSED)
    return head, unseen, seen, closed


def second_agent_and_managers_ticket(company) -> tuple[User, User, Ticket]:
    """A second agent in the department, and its manager holding an open ticket on a sales
    rep's customer, which they see only while one of the two agents is left."""
    other_agent = UserFactory(
        username="agent_2", role=Role.SERVICE_AGENT, department=company.service
    )
    head = UserFactory(username="head", role=Role.MANAGER, department=company.service)
    return other_agent, head, new_ticket(company.rep_customer, assignee=head, owner=head)
