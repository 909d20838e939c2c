"""The knowledge base's pages and fragments as each kind of user meets them, and the two places
the service desk shows them: the new-ticket form and the ticket page."""

import pytest

from guanxi.knowledge.models import Article
from guanxi.knowledge.services import article_create, article_update
from guanxi.service.services import ticket_reply

from .conftest import REFUND_DESCRIPTION, open_ticket

pytestmark = pytest.mark.django_db

FORM = {
    "title": "Refund not received",
    "problem": "The customer was promised a refund two weeks ago.",
    "cause": "",
    "solution": "Finance sends it again; the bank needs three working days.",
    "category_id": "",
    "is_published": "on",
}


def _login(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def article(company):
    return article_create(
        actor=company.agent,
        data={
            "title": "退款迟迟不到账",
            "problem": "客户申请退款后两周，银行卡仍未收到。",
            "solution": "请财务重新发起退款。",
        },
    )


def test_the_list_searches_and_every_signed_in_user_reads_it(client, company, article):
    article_create(
        actor=company.agent,
        data={"title": "Installer late", "problem": "Late.", "solution": "Call dispatch."},
    )
    _login(client, company.analyst)
    response = client.get("/knowledge/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "退款迟迟不到账" in html and "Installer late" in html
    assert 'href="/knowledge/"' in html  # the navigation's entry
    assert "/knowledge/new/" not in html  # analysts read only
    found = client.get("/knowledge/", {"q": "迟迟"}).content.decode()
    assert "退款迟迟不到账" in found and "Installer late" not in found
    found = client.get("/knowledge/", {"q": "tuikuan"}).content.decode()
    assert "退款迟迟不到账" in found and "Installer late" not in found
    assert client.get("/knowledge/", {"category_id": "abc"}).status_code == 422
    assert client.get("/knowledge/", {"cursor": "garbage"}).status_code == 200
    _login(client, company.agent)
    assert "/knowledge/new/" in client.get("/knowledge/").content.decode()


def test_pages_need_a_login(client, article):
    for url in ("/knowledge/", f"/knowledge/{article.pk}/", "/knowledge/suggest/?text=x"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/")


def test_an_article_page_and_who_may_edit_it(client, company, article):
    _login(client, company.analyst)
    response = client.get(f"/knowledge/{article.pk}/")
    assert response.status_code == 200 and "请财务重新发起退款。" in response.content.decode()
    assert f"/knowledge/{article.pk}/edit/" not in response.content.decode()
    assert client.get(f"/knowledge/{article.pk}/edit/").status_code == 403
    assert client.get("/knowledge/999999/").status_code == 404
    draft = article_create(
        actor=company.agent,
        data={"title": "Draft", "problem": "p", "solution": "s", "is_published": False},
    )
    assert client.get(f"/knowledge/{draft.pk}/").status_code == 404
    _login(client, company.agent)
    assert client.get(f"/knowledge/{draft.pk}/").status_code == 200


def test_writing_an_article_by_hand(client, company):
    _login(client, company.analyst)
    assert client.get("/knowledge/new/").status_code == 403
    assert client.post("/knowledge/new/", FORM).status_code == 403
    _login(client, company.rep)
    response = client.get("/knowledge/new/")
    assert response.status_code == 200
    # Written by hand, an article is published unless the writer says otherwise.
    assert 'name="is_published" id="id_is_published" checked' in response.content.decode()
    response = client.post("/knowledge/new/", FORM)
    article = Article.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/knowledge/{article.pk}/"
    assert article.is_published and article.created_by == company.rep


def test_bad_input_is_shown_on_the_form_with_422(client, company):
    _login(client, company.agent)
    response = client.post("/knowledge/new/", {**FORM, "solution": "  "})
    assert response.status_code == 422
    assert "This field is required." in response.content.decode()
    response = client.post("/knowledge/new/", {**FORM, "category_id": "999999"})
    assert response.status_code == 422
    response = client.post("/knowledge/new/", {**FORM, "title": "x" * 201})
    assert response.status_code == 422
    assert not Article.objects.exists()


def test_turning_a_resolved_ticket_into_an_article(client, company, refund_ticket):
    url = f"/knowledge/new/?ticket={refund_ticket.pk}"
    _login(client, company.agent)
    response = client.get(url)
    html = response.content.decode()
    assert response.status_code == 200
    # Prefilled from the ticket: its description, the last reply, its category; a draft.
    assert REFUND_DESCRIPTION in html and "财务已重新发起退款" in html
    assert f'<option value="{refund_ticket.category_id}" selected>' in html
    assert '<input type="checkbox" name="is_published" id="id_is_published">' in html
    form = {**FORM, "title": "退款迟迟不到账", "category_id": str(refund_ticket.category_id)}
    response = client.post(url, form)
    article = Article.objects.get()
    assert response.status_code == 302
    assert article.source_ticket_id == refund_ticket.pk and article.solution == FORM["solution"]
    detail = client.get(f"/knowledge/{article.pk}/").content.decode()
    assert f"/service/tickets/{refund_ticket.pk}/" in detail


def test_a_ticket_not_resolved_or_out_of_reach_cannot_become_an_article(
    client, company, refund_ticket
):
    still_open = open_ticket(company.agent, company.rep_customer, "退款没到账")
    _login(client, company.agent)
    response = client.get(f"/knowledge/new/?ticket={still_open.pk}")
    assert response.status_code == 422
    assert "only a resolved or closed ticket can become an article" in response.content.decode()
    response = client.post(f"/knowledge/new/?ticket={still_open.pk}", FORM)
    assert response.status_code == 422 and not Article.objects.exists()
    assert client.get("/knowledge/new/?ticket=abc").status_code == 404
    _login(client, company.rep_west)
    assert client.get(f"/knowledge/new/?ticket={refund_ticket.pk}").status_code == 404
    assert client.post(f"/knowledge/new/?ticket={refund_ticket.pk}", FORM).status_code == 404
    _login(client, company.analyst)
    assert client.get(f"/knowledge/new/?ticket={refund_ticket.pk}").status_code == 403
    assert not Article.objects.exists()


def test_editing_refuses_a_stale_version_and_bad_input(client, company, article):
    url = f"/knowledge/{article.pk}/edit/"
    _login(client, company.rep)
    response = client.get(url)
    assert response.status_code == 200 and 'name="version" value="1"' in response.content.decode()
    form = {**FORM, "version": "1"}
    # Someone else saves first.
    article_update(
        actor=company.agent, article_id=article.pk, expected_version=1, data={"cause": "Bank."}
    )
    response = client.post(url, form)
    assert response.status_code == 409
    assert "Someone else saved this article" in response.content.decode()
    assert Article.objects.get(pk=article.pk).title == "退款迟迟不到账"
    response = client.post(url, {**form, "version": "2", "problem": ""})
    assert response.status_code == 422
    assert client.post(url, {**form, "version": "abc"}).status_code == 422
    response = client.post(url, {**form, "version": "2"})
    assert response.status_code == 302
    assert Article.objects.get(pk=article.pk).title == FORM["title"]


def test_suggestions_while_typing_a_ticket(client, company, refund_ticket, article):
    west = open_ticket(company.rep_west, company.west_customer, "退款一直没到账")
    ticket_reply(actor=company.rep_west, ticket_id=west.pk, body="已处理", status="resolved")
    _login(client, company.rep)
    response = client.get(
        "/knowledge/suggest/",
        {"subject": "退款没到账", "description": "客户说退款还没到", "category_id": ""},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert f"/knowledge/{article.pk}/" in html and refund_ticket.number in html
    assert west.number not in html
    assert (
        "No similar cases"
        in client.get("/knowledge/suggest/", {"text": "完全无关"}).content.decode()
    )
    assert client.get("/knowledge/suggest/", {"text": "", "category_id": "x"}).status_code == 200
    assert (
        client.get("/knowledge/suggest/", {"text": "退款", "category_id": "x"}).status_code == 200
    )
    # The panel beside a ticket asks by the ticket's id.
    panel = client.get("/knowledge/suggest/", {"ticket_id": refund_ticket.pk}).content.decode()
    assert f"/knowledge/{article.pk}/" in panel
    assert client.get("/knowledge/suggest/", {"ticket_id": west.pk}).status_code == 404
    assert client.get("/knowledge/suggest/", {"ticket_id": "abc"}).status_code == 404


def test_the_service_desk_pages_show_the_suggestions(client, company, refund_ticket):
    _login(client, company.agent)
    form = client.get(f"/service/customers/{company.rep_customer.pk}/new/").content.decode()
    assert 'hx-get="/knowledge/suggest/"' in form and "from:#id_description" in form
    page = client.get(f"/service/tickets/{refund_ticket.pk}/").content.decode()
    assert f'hx-get="/knowledge/suggest/?ticket_id={refund_ticket.pk}"' in page
    assert f'href="/knowledge/new/?ticket={refund_ticket.pk}"' in page
    # The analyst may read the ticket but not answer its customer: no button.
    _login(client, company.analyst)
    page = client.get(f"/service/tickets/{refund_ticket.pk}/").content.decode()
    assert "/knowledge/suggest/" in page and "/knowledge/new/" not in page
    # Nor is there one for a ticket still open.
    still_open = open_ticket(company.agent, company.rep_customer, "退款没到账")
    _login(client, company.agent)
    page = client.get(f"/service/tickets/{still_open.pk}/").content.decode()
    assert "/knowledge/new/" not in page


def test_the_list_and_the_suggestions_take_the_same_queries_however_many_articles(
    client, company, refund_category
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def counts():
        counted = []
        for url, params in (
            ("/knowledge/", {"q": "refund"}),
            ("/knowledge/suggest/", {"text": "refund late", "category_id": refund_category.pk}),
        ):
            with CaptureQueriesContext(connection) as queries:
                response = client.get(url, params)
            assert response.status_code == 200 and "Refund late" in response.content.decode()
            counted.append(len(queries))
        return counted

    _login(client, company.agent)
    data = {"title": "Refund late", "problem": "Refund", "solution": "Refund again"}
    article_create(actor=company.agent, data={**data, "category_id": refund_category.pk})
    before = counts()
    for _ in range(5):
        article_create(actor=company.agent, data={**data, "category_id": refund_category.pk})
    assert counts() == before
