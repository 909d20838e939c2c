"""Numbers typed into free text (a customer's and an interaction's notes, a ticket's subject and
messages) as the pages and the API show them: masked as the customer's card masks them to
whoever sees the card masked, as written to whoever may see numbers in full, and stored as
written either way."""

from __future__ import annotations

import pytest
from django.test import Client

from guanxi.customers.models import Customer
from guanxi.interactions.models import Interaction
from guanxi.interactions.services import interaction_log
from guanxi.service import services
from guanxi.service.models import TicketMessage
from guanxi.tests.test_authorization_walk import _token_client

pytestmark = pytest.mark.django_db

MOBILE = "13890417762"
ID_NUMBER = "11010519491231002X"
SUBJECT = f"Call back on {MOBILE}"
NOTES = f"客户身份证号 {ID_NUMBER}，手机 138 9041 7762。Delivered 2026-12-05, ¥13,812.00, T-000123"
MESSAGE = f"Thanks,\nWang Xiaoming\n{MOBILE}"
HOSTILE = f"<script>alert(1)</script><b>{MOBILE}</b>"
FULL = ("13890417762", "138 9041 7762", ID_NUMBER)
MASKED = ("138****7762", "138 **** 7762", "1****************X")
# What is no number and stays as written for everyone.
OTHER = ("2026-12-05", "¥13,812.00", "T-000123")


@pytest.fixture
def world(company):
    rep, customer = company.rep, company.rep_customer
    # The customer's own notes, shown on their page and in the API's read of them.
    Customer.objects.filter(pk=customer.pk).update(notes=f"{SUBJECT}\n{NOTES}")
    interaction = interaction_log(
        actor=rep,
        customer_id=customer.pk,
        data={"channel": "phone", "direction": "inbound", "subject": SUBJECT, "notes": NOTES},
    )
    ticket = services.ticket_create(
        actor=rep,
        customer_id=customer.pk,
        data={"type": "inquiry", "subject": SUBJECT, "description": NOTES},
    )
    services.ticket_note(actor=rep, ticket_id=ticket.pk, body=MESSAGE)
    services.ticket_note(actor=rep, ticket_id=ticket.pk, body=HOSTILE)
    return {"customer": customer, "ticket": ticket, "interaction": interaction}


PAGES = {
    "timeline": lambda w: f"/customers/{w['customer'].pk}/timeline/",
    "customer": lambda w: f"/customers/{w['customer'].pk}/",
    "interactions": lambda w: "/interactions/",
    "tickets": lambda w: "/service/tickets/",
    "ticket": lambda w: f"/service/tickets/{w['ticket'].pk}/",
}
APIS = {
    "customer": lambda w: f"/api/v1/customers/{w['customer'].pk}",
    "timeline": lambda w: f"/api/v1/customers/{w['customer'].pk}/interactions",
    "interactions": lambda w: "/api/v1/interactions",
    "tickets": lambda w: "/api/v1/tickets",
    "ticket": lambda w: f"/api/v1/tickets/{w['ticket'].pk}",
}


def _full_in(body: str) -> list[str]:
    return [number for number in FULL if number in body]


@pytest.mark.parametrize("page", sorted(PAGES))
def test_a_page_shows_whoever_sees_numbers_masked_the_numbers_in_text_masked(
    client, company, world, page
):
    assert not company.rep.may_view_sensitive()
    client.force_login(company.rep)
    response = client.get(PAGES[page](world))
    assert response.status_code == 200
    body = response.content.decode()
    assert _full_in(body) == []
    assert "138****7762" in body
    if page in ("timeline", "customer", "ticket"):
        assert "1****************X" in body
        for other in OTHER:
            assert other in body


@pytest.mark.parametrize("page", sorted(PAGES))
def test_a_page_shows_whoever_may_see_numbers_the_text_as_written(client, company, world, page):
    assert company.manager.may_view_sensitive()
    client.force_login(company.manager)
    body = client.get(PAGES[page](world)).content.decode()
    assert MOBILE in body
    assert "138****7762" not in body
    if page in ("timeline", "customer", "ticket"):
        assert ID_NUMBER in body


def test_the_ticket_page_masks_before_it_escapes(client, company, world):
    client.force_login(company.rep)
    body = client.get(f"/service/tickets/{world['ticket'].pk}/").content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;b&gt;138****7762&lt;/b&gt;" in body
    assert "<script>alert(1)" not in body
    assert f"<title>T-{world['ticket'].pk:06d} Call back on 138****7762" in body.replace("\n", "")


@pytest.mark.parametrize("api", sorted(APIS))
def test_the_api_answers_as_the_pages_show(company, world, api):
    for user, masked in ((company.rep, True), (company.manager, False)):
        client, headers = _token_client(user)
        response = client.get(APIS[api](world), headers=headers)
        assert response.status_code == 200, response.content
        data = response.json()
        text = repr(data)
        if masked:
            assert _full_in(text) == [], (api, text[:300])
            assert "138****7762" in text
        else:
            assert MOBILE in text
            assert "138****7762" not in text


def test_what_the_api_answers_to_a_note_or_an_interaction_written_through_it(company, world):
    """The answer to a write shows the text as the writer may read it (they typed it, but an
    answer about a ticket carries the whole conversation)."""
    client, headers = _token_client(company.rep)
    ticket = world["ticket"]
    note = client.post(
        f"/api/v1/tickets/{ticket.pk}/notes",
        {"body": f"Also reachable on {MOBILE}"},
        content_type="application/json",
        headers=headers,
    )
    assert note.status_code == 201, note.content
    assert note.json()["body"] == "Also reachable on 138****7762"
    status = client.patch(
        f"/api/v1/tickets/{ticket.pk}",
        {"version": ticket.version, "priority": "high"},
        content_type="application/json",
        headers=headers,
    )
    assert status.status_code == 200, status.content
    assert _full_in(repr(status.json())) == []
    logged = client.post(
        f"/api/v1/customers/{world['customer'].pk}/interactions",
        {"channel": "phone", "subject": SUBJECT, "notes": NOTES},
        content_type="application/json",
        headers=headers,
    )
    assert logged.status_code == 201, logged.content
    assert logged.json()["subject"] == "Call back on 138****7762"
    assert _full_in(repr(logged.json())) == []


def test_the_stored_text_keeps_what_was_typed(company, world):
    Client().force_login(company.rep)
    interaction = Interaction.objects.get(pk=world["interaction"].pk)
    assert (interaction.subject, interaction.notes) == (SUBJECT, NOTES)
    assert TicketMessage.objects.filter(body=MESSAGE).exists()


def test_similar_cases_are_not_found_by_numbers_for_whoever_sees_them_masked(company, world):
    """The similar cases offered while a ticket is written: a number typed in full (or the
    middle group of a landline) must not tell a rep which case holds it."""
    from guanxi.knowledge.selectors import similar_cases
    from guanxi.service.models import Ticket

    Ticket.objects.filter(pk=world["ticket"].pk).update(status=Ticket.Status.RESOLVED)
    text = f"{MOBILE} 9041"
    assert [c.ticket.pk for c in similar_cases(user=company.manager, text=text)] == [
        world["ticket"].pk
    ]
    assert similar_cases(user=company.rep, text=text) == []


def test_an_article_drafted_from_a_ticket_keeps_the_numbers_masked(client, company, world):
    """An article is read by every writer and reader of the knowledge base, whatever they may
    see of the customer it came from: the draft has the customer's numbers masked whoever
    writes it, so one published unchanged shows no reader what the customer's card hides."""
    from guanxi.service.models import Ticket

    Ticket.objects.filter(pk=world["ticket"].pk).update(status=Ticket.Status.RESOLVED)
    for user in (company.rep, company.manager):
        client.force_login(user)
        response = client.get("/knowledge/new/", {"ticket": world["ticket"].pk})
        assert response.status_code == 200, response.content[:300]
        # The form's fields (the subtitle names the ticket as its reader sees it).
        form = response.content.decode().partition('id="article-form"')[2]
        assert _full_in(form) == []
        assert "138****7762" in form


def test_an_article_published_from_a_ticket_shows_nobody_the_numbers(client, company, world):
    from guanxi.knowledge.services import article_from_ticket
    from guanxi.service.models import Ticket

    Ticket.objects.filter(pk=world["ticket"].pk).update(status=Ticket.Status.RESOLVED)
    article = article_from_ticket(
        actor=company.manager,
        ticket_id=world["ticket"].pk,
        data={"solution": "Replaced the kettle.", "is_published": True},
    )
    assert _full_in(" ".join((article.title, article.problem, article.solution))) == []
    client.force_login(company.rep)
    response = client.get(f"/knowledge/{article.pk}/")
    assert response.status_code == 200, response.content[:300]
    assert _full_in(response.content.decode()) == []


def test_a_ticket_sent_back_as_read_through_the_api_keeps_its_numbers(company, world):
    """A client that reads a ticket masked and sends its subject and description back with a
    change of priority must not write the stars over the numbers."""
    ticket = world["ticket"]
    client, headers = _token_client(company.rep)
    read = client.get(f"/api/v1/tickets/{ticket.pk}", headers=headers).json()
    assert MOBILE not in read["subject"]
    answer = client.patch(
        f"/api/v1/tickets/{ticket.pk}",
        data={
            "version": read["version"],
            "subject": read["subject"],
            "description": read["description"],
            "priority": "high",
        },
        content_type="application/json",
        headers=headers,
    )
    assert answer.status_code == 200, answer.content
    ticket.refresh_from_db()
    assert (ticket.subject, ticket.description, ticket.priority) == (SUBJECT, NOTES, "high")


def test_a_ticket_text_changed_around_numbers_seen_masked_is_refused_naming_the_field(
    company, world
):
    ticket = world["ticket"]
    client, headers = _token_client(company.rep)
    read = client.get(f"/api/v1/tickets/{ticket.pk}", headers=headers).json()
    answer = client.patch(
        f"/api/v1/tickets/{ticket.pk}",
        data={"version": read["version"], "subject": "Urgent: " + read["subject"]},
        content_type="application/json",
        headers=headers,
    )
    assert answer.status_code == 422
    assert [e["field"] for e in answer.json()["errors"]] == ["subject"]
    ticket.refresh_from_db()
    assert ticket.subject == SUBJECT


def test_a_ticket_text_rewritten_without_the_masked_numbers_is_taken(company, world):
    ticket = world["ticket"]
    client, headers = _token_client(company.rep)
    read = client.get(f"/api/v1/tickets/{ticket.pk}", headers=headers).json()
    answer = client.patch(
        f"/api/v1/tickets/{ticket.pk}",
        data={"version": read["version"], "subject": "Call back this afternoon"},
        content_type="application/json",
        headers=headers,
    )
    assert answer.status_code == 200
    ticket.refresh_from_db()
    assert ticket.subject == "Call back this afternoon"
