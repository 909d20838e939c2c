"""The similar cases offered while a ticket is written: published articles and past resolved or
closed tickets like the text, the most alike first, never a ticket the user cannot see."""

import pytest

from guanxi.knowledge import search
from guanxi.knowledge.selectors import similar_cases, similar_cases_for_ticket
from guanxi.knowledge.services import article_create
from guanxi.service.models import Ticket

from .conftest import open_ticket, resolve

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(company, refund_ticket):
    """What the desk has seen: an article and resolved tickets about late refunds (one of the
    rep's customer, one of the west rep's), one about a late installer, a refund complaint still
    open, and a draft article about refunds."""
    article = article_create(
        actor=company.agent,
        data={
            "title": "退款没到账怎么办",
            "problem": "客户申请退款后很久没到账。",
            "solution": "请财务查询退款状态，银行一般三个工作日内到账。",
        },
    )
    draft = article_create(
        actor=company.agent,
        data={
            "title": "退款到账慢（草稿）",
            "problem": "退款没到账",
            "solution": "未完成",
            "is_published": False,
        },
    )
    west = resolve(
        company.rep_west,
        open_ticket(company.rep_west, company.west_customer, "退款一直没到账", "退款两周还没到账"),
        "已重新发起退款。",
    )
    installer = resolve(
        company.agent,
        open_ticket(company.agent, company.rep_customer, "安装师傅迟到", "师傅迟到三个小时"),
        "已向客户道歉并补偿。",
    )
    still_open = open_ticket(company.agent, company.rep_customer, "退款没到账", "退款还没到账")
    return type(
        "History",
        (),
        {
            "article": article,
            "draft": draft,
            "refund": refund_ticket,
            "west": west,
            "installer": installer,
            "still_open": still_open,
        },
    )


def _items(cases):
    return [case.article if case.kind == "article" else case.ticket for case in cases]


def test_new_similar_text_brings_up_the_article_and_the_similar_ticket(company, history):
    cases = similar_cases(user=company.rep, text="客户说退款还没到账", limit=10)
    items = _items(cases)
    assert history.article in items
    assert history.refund in items
    # Not the installer, not a ticket still open, not a draft, not the west rep's customer's.
    assert history.installer not in items and history.still_open not in items
    assert history.draft not in items and history.west not in items
    assert [case.score for case in cases] == sorted((case.score for case in cases), reverse=True)
    assert all(case.score > 0 for case in cases)


def test_tickets_come_only_from_customers_the_user_can_see(company, history):
    west_items = _items(similar_cases(user=company.rep_west, text="退款还没到账", limit=10))
    assert history.west in west_items and history.article in west_items
    assert history.refund not in west_items
    # The rep of team B sees neither customer; the article is for everyone.
    assert _items(similar_cases(user=company.rep_b, text="退款还没到账", limit=10)) == [
        history.article
    ]


def test_the_same_category_ranks_first_among_equals(company, refund_category):
    in_category = resolve(
        company.agent,
        open_ticket(
            company.agent,
            company.agent_customer,
            "Parcel lost in transit",
            category_id=refund_category.pk,
        ),
        "Refunded the parcel.",
    )
    newer = resolve(
        company.agent,
        open_ticket(company.agent, company.agent_customer, "Parcel lost in transit"),
        "Sent a replacement.",
    )
    # Equally alike: the newer first, unless the agent chose the other one's category.
    assert _items(similar_cases(user=company.agent, text="parcel lost")) == [newer, in_category]
    assert _items(
        similar_cases(user=company.agent, text="parcel lost", category_id=refund_category.pk)
    ) == [in_category, newer]
    # A category id that is not a number is no category at all rather than an error.
    assert _items(similar_cases(user=company.agent, text="parcel lost", category_id="x")) == [
        newer,
        in_category,
    ]


def test_a_tickets_panel_shows_others_like_it_but_not_itself(company, history):
    items = _items(similar_cases_for_ticket(user=company.agent, ticket_id=history.still_open.pk))
    assert history.article in items and history.refund in items and history.west in items
    assert history.still_open not in items and history.installer not in items
    with pytest.raises(Ticket.DoesNotExist):
        similar_cases_for_ticket(user=company.rep_west, ticket_id=history.refund.pk)


def test_a_tickets_stored_tokens_are_those_its_text_gives(company):
    """The ticket panel compares a ticket by the tokens it stored instead of tokenising its
    text again, which is only right while the two are the same."""
    ticket = open_ticket(
        company.agent,
        company.rep_customer,
        "Refund 退款 still missing",
        "The refund of order ERP-0042 has not arrived; 客户很着急。" * 60,
    )
    text = f"{ticket.subject}\n{ticket.description[:2000]}"
    assert ticket.search_text == search.build_search_text(text)


def test_nothing_to_compare_gives_nothing(company, history):
    assert similar_cases(user=company.agent, text="") == []
    assert similar_cases(user=company.agent, text="!!! the and") == []
    assert similar_cases(user=company.agent, text="完全无关的内容") == []
