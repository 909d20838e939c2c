"""A small service desk on top of the test company, for the service tests and the browser
tests alike."""

from dataclasses import dataclass

from guanxi.accounts.models import Team, User
from guanxi.core.testing.factories import UserFactory
from guanxi.service import defaults, services
from guanxi.service.models import (
    AgentProfile,
    Notification,
    ServiceCalendar,
    SlaPolicy,
    Ticket,
    TicketCategory,
)


@dataclass
class Desk:
    lead: User  # leads the desk's team
    head: User  # manages the Customer Service department
    team: Team
    second: User  # a second agent, besides the company's agent
    refund: TicketCategory


def build_desk(company) -> Desk:
    """The company's agent and a second one in a team led by ``lead``, in the Customer Service
    department managed by ``head``; both agents handle refunds. The desk's defaults (categories,
    calendars, policies) are put back first if a transactional test emptied the database."""
    defaults.install(TicketCategory, ServiceCalendar, SlaPolicy)
    lead = UserFactory(username="lead", role="service_agent", department=company.service)
    head = UserFactory(username="head", role="manager", department=company.service)
    company.service.manager = head
    company.service.save()
    team = Team.objects.create(name="Desk", department=company.service, lead=lead)
    lead.team = team
    lead.save()
    company.agent.team = team
    company.agent.save()
    second = UserFactory(
        username="agent2", role="service_agent", department=company.service, team=team
    )
    refund = TicketCategory.objects.get(name="退款")
    for user in (company.agent, second):
        AgentProfile.objects.create(user=user).skills.add(refund)
    return Desk(lead=lead, head=head, team=team, second=second, refund=refund)


def complaint(company, customer=None) -> Ticket:
    """A complaint the company's agent opens for the representative's customer (or
    ``customer``)."""
    return services.ticket_create(
        actor=company.agent,
        customer_id=(customer or company.rep_customer).pk,
        data={"type": "complaint", "subject": "货物破损"},
    )


def notified(user) -> list[str]:
    """The texts of the user's notifications, oldest first."""
    return list(
        Notification.objects.filter(user=user).order_by("id").values_list("text", flat=True)
    )
