"""An agent escalates an inquiry from its page by raising its priority, and the page shows the
shorter deadline of the policy for urgent work."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from guanxi.core.testing.clock import frozen_clock
from guanxi.service import services
from guanxi.service.models import Ticket
from guanxi.service.tests.desk import build_desk

from .test_everyday_work import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def _shown(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def test_raising_a_tickets_priority_shows_its_new_deadline(page, company, monkeypatch):
    # Wednesday 2 December 2026, 10:00 in Beijing.
    frozen_clock(monkeypatch, dt.datetime(2026, 12, 2, 2, 0, tzinfo=dt.UTC))
    build_desk(company)
    ticket = services.ticket_create(
        actor=company.agent,
        customer_id=company.rep_customer.pk,
        data={"type": "inquiry", "subject": "发票什么时候寄出"},
    )
    sign_in(page, "agent")
    page.goto(f"/service/tickets/{ticket.pk}/")
    # Everything else: five office days' worth of hours, to the next Wednesday afternoon.
    expect(page.locator("#resolution-due")).to_have_text("2026-12-09 16:00")

    page.select_option("#change-priority", "high")
    page.get_by_role("button", name="Save changes").click()

    expect(page.get_by_text("Ticket changed.")).to_be_visible()
    raised = Ticket.objects.get(pk=ticket.pk)
    assert raised.priority == "high"
    assert raised.resolution_due < ticket.resolution_due
    # Urgent and high priority: eight office hours, Thursday morning.
    expect(page.locator("#resolution-due")).to_have_text("2026-12-03 10:00")
    assert _shown(raised.resolution_due) == "2026-12-03 10:00"
    expect(page.get_by_text("Urgent and high priority")).to_be_visible()
    expect(page.locator("#change-priority")).to_have_value("high")
