"""What the refresh tests about the service desk share: a clock the services read, set to the
moment each ticket is opened, and opening one."""

import datetime as dt

import pytest
from django.utils import timezone

from guanxi.service import services


@pytest.fixture
def moment(monkeypatch):
    """``timezone.now`` for the services: each ticket is opened at the moment set here."""
    clock = type("Clock", (), {"current": timezone.now()})()
    monkeypatch.setattr(timezone, "now", lambda: clock.current)
    return clock


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """A moment of a day in the site's time zone."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def open_ticket(moment, company, customer, when, kind="complaint"):
    """A ticket of ``kind`` opened by the company's agent for the customer at ``when``."""
    moment.current = when
    return services.ticket_create(
        actor=company.agent, customer_id=customer.pk, data={"type": kind, "subject": "来信"}
    )
