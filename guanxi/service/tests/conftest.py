import datetime as dt

import pytest
from django.utils import timezone

from guanxi.accounts.models import Team
from guanxi.service.models import AgentProfile, TicketCategory


class Clock:
    """A settable "now" for the whole process: services, the sweep and a live server thread
    all read ``django.utils.timezone.now``."""

    def __init__(self, start: dt.datetime):
        self.current = start

    def __call__(self) -> dt.datetime:
        return self.current

    def advance(self, **delta) -> dt.datetime:
        self.current += dt.timedelta(**delta)
        return self.current


@pytest.fixture
def clock(monkeypatch):
    # A Wednesday, 10:00 in Beijing.
    frozen = Clock(dt.datetime(2026, 12, 2, 2, 0, tzinfo=dt.UTC))
    monkeypatch.setattr(timezone, "now", frozen)
    return frozen


@pytest.fixture
def desk(company):
    """A service team led by a lead, in the Customer Service department managed by a manager,
    with two agents skilled in refunds."""
    from guanxi.core.testing.factories import UserFactory

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
    return type(
        "Desk", (), {"lead": lead, "head": head, "team": team, "second": second, "refund": refund}
    )
