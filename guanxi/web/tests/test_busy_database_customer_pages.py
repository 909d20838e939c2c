"""The page saying the database is busy, met on a page for customers (the service desk's form,
a ticket's status page, its survey), offers to try that page again, not a way into the staff's
pages, which customers cannot open. The lock is real: another connection, on a thread of its
own, holds the tickets table (SQLite's test database in memory answers at once that the table
is locked)."""

import threading

import pytest
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from guanxi.core.testing.threads import in_thread
from guanxi.service import mail, services
from guanxi.service.models import SatisfactionSurvey, Ticket

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "sqlite",
        reason="SQLite's table locks of its shared in-memory database",
    ),
]

BUSY = "The database is busy. Try again in a moment."


class TicketsHeld:
    """Another connection writing to the tickets table, its transaction open until the block
    ends."""

    def __init__(self, ticket: Ticket):
        self.ticket = ticket

    def __enter__(self):
        holding, self.go = threading.Event(), threading.Event()
        self.results: dict = {}

        def hold():
            with transaction.atomic():
                Ticket.objects.filter(pk=self.ticket.pk).update(updated_at=timezone.now())
                holding.set()
                assert self.go.wait(30)

        self.thread = in_thread(hold, self.results, "holder")
        assert holding.wait(30), self.results
        return self

    def __exit__(self, *exc):
        self.go.set()
        self.thread.join(30)
        assert self.results["holder"][0] == "ok", self.results["holder"][-1]


def _ticket(company) -> Ticket:
    return services.ticket_create(
        actor=company.agent,
        customer_id=company.rep_customer.pk,
        data={"type": "complaint", "subject": "Parcel arrived damaged", "language": "en"},
    )


def _busy_page(url: str, ticket: Ticket) -> str:
    with TicketsHeld(ticket):
        response = Client().get(url)
    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    return response.content.decode()


def test_a_busy_status_page_offers_to_try_it_again(company):
    ticket = _ticket(company)
    url = reverse("service:public_status", args=[mail.status_link_token(ticket.pk)])

    html = _busy_page(url, ticket)

    assert BUSY in html
    assert f'href="{url}"' in html
    assert "Back to customers" not in html
    assert f'href="{reverse("home")}"' not in html


def test_a_busy_survey_offers_to_try_it_again(company):
    ticket = _ticket(company)
    SatisfactionSurvey.objects.create(ticket=ticket)
    url = reverse("service:public_survey", args=[mail.survey_token(ticket.pk)]) + "?score=5"

    html = _busy_page(url, ticket)

    assert f'href="{url}"' in html
    assert "Back to customers" not in html


def test_a_busy_staff_page_still_leads_back_to_the_customers(company):
    ticket = _ticket(company)
    client = Client()
    client.force_login(company.agent)

    with TicketsHeld(ticket):
        response = client.get(reverse("service:detail", args=[ticket.pk]))

    assert response.status_code == 503
    assert "Back to customers" in response.content.decode()
