"""The customer page's value card after the customer changed in a way the nightly refresh has not
seen yet: a merge moved another customer's orders to it, or it bought for the first time. The
figures of the refresh are those of the customer as it was (one that never bought), so the card
says why they are missing until the next refresh, instead of "never bought" beside the live
count of purchases the orders card shows.

The rep's customer never bought; the teammate's customer bought three times before AS_OF."""

import datetime as dt

import pytest

from guanxi.analytics.refresh import analytics_refresh
from guanxi.analytics.tests.conftest import AS_OF, book, page_as
from guanxi.dedup.services import customer_merge_undo, customers_merge

pytestmark = pytest.mark.django_db

NEVER_UNTIERED = "Not tiered (never bought, no cost to serve)"


def _value_card(html: str) -> str:
    return html[html.index('id="value-h"') : html.index("</section>", html.index('id="value-h"'))]


@pytest.fixture
def refreshed(company):
    for days in (90, 60, 30):
        book(company.teammate_customer, AS_OF - dt.timedelta(days=days), "100.00", margin="30")
    analytics_refresh(as_of=AS_OF)
    return company


def test_the_card_of_a_survivor_does_not_say_never_bought_beside_its_purchases(client, refreshed):
    company = refreshed
    survivor = company.rep_customer
    path = f"/customers/{survivor.pk}/"
    assert NEVER_UNTIERED in _value_card(page_as(client, company.admin, path))

    merge = customers_merge(
        actor=company.admin, survivor_id=survivor.pk, merged_id=company.teammate_customer.pk
    )
    page = page_as(client, company.admin, path)
    assert "3 purchases" in page  # the orders card counts the moved orders at once
    card = _value_card(page)
    assert "never bought" not in card and "No purchases" not in card
    assert (
        "Merged with another customer since the analytics refresh of 2026-03-01: "
        "its figures come with the next refresh." in card
    )
    card = _value_card(page_as(client, company.admin, path, chinese=True))
    assert "从未购买" not in card and "合并" in card

    # Undone, the figures describe the customer again (the reader keeps Chinese).
    customer_merge_undo(actor=company.admin, merge_id=merge.pk)
    card = _value_card(page_as(client, company.admin, path))
    assert "未分层（从未购买" in card and "合并" not in card


def test_the_card_of_a_customer_who_bought_since_the_refresh_does_not_say_never_bought(
    client, refreshed
):
    company = refreshed
    customer = company.rep_customer
    book(customer, AS_OF + dt.timedelta(days=1), "50.00", margin="10")
    page = page_as(client, company.rep, f"/customers/{customer.pk}/")
    assert "1 purchase," in page
    card = _value_card(page)
    assert "never bought" not in card and "No purchases" not in card
    assert (
        "Bought since the analytics refresh of 2026-03-01, which counted no purchase: "
        "its figures come with the next refresh." in card
    )
