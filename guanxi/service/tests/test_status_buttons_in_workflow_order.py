"""The ticket page offers the statuses a ticket may go to next in the order of the workflow."""

import re

import pytest

from guanxi.service import services

pytestmark = pytest.mark.django_db


def status_buttons(html: str) -> list[str]:
    return re.findall(r'<button class="button" type="submit" name="status" value="([a-z_]+)"', html)


def test_a_new_ticket_offers_open_pending_resolved_then_closed(client, company, desk, clock):
    # They came sorted by their codes: "Closed" first, before "Open", and after "Pending
    # customer" in English but before it in Chinese.
    ticket = services.ticket_create(
        actor=company.agent,
        customer_id=company.rep_customer.pk,
        data={"type": "inquiry", "subject": "发票什么时候寄出"},
    )
    client.force_login(company.agent)
    html = client.get(f"/service/tickets/{ticket.pk}/").content.decode()
    assert status_buttons(html) == ["open", "pending_customer", "resolved", "closed"]

    services.ticket_set_status(actor=company.agent, ticket_id=ticket.pk, status="resolved")
    html = client.get(f"/service/tickets/{ticket.pk}/").content.decode()
    assert status_buttons(html) == ["open", "closed"]
