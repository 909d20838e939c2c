"""A customer who bought, but only in other currencies than the settings' (CNY here), is not one
who never bought: the money figures hold none of their purchases, yet the value tier's name on
their page and on the churn list, the tier chart and its download, the tier rule and the count
of customers without a lifetime value say what they are, apart from those who never bought.

The rep's customer bought in USD only, 400, 370 and 340 days before AS_OF (so they are warned:
next purchase overdue); nobody else bought anything."""

import datetime as dt

import pytest

from guanxi.analytics.models import CustomerValue
from guanxi.analytics.refresh import analytics_refresh
from guanxi.analytics.tests.conftest import AS_OF, book, contact, page_as
from guanxi.analytics.tests.test_dashboard_pages import download, tier_counts
from guanxi.interactions.models import Interaction

pytestmark = pytest.mark.django_db

OTHER_UNTIERED = "Not tiered (bought only in other currencies)"
NEVER_UNTIERED = "Not tiered (never bought, no cost to serve)"


def _bought_in_usd_only(company):
    """Refresh with the rep's customer's USD purchases (the handling of which the figures do
    not charge them for, as they hold none of the purchases: without a contact they cost
    nothing, and are untiered rather than lead)."""
    for days in (400, 370, 340):
        book(
            company.rep_customer,
            AS_OF - dt.timedelta(days=days),
            "100.00",
            margin="30",
            currency="USD",
        )
    return analytics_refresh(as_of=AS_OF)


def _value_card(html: str) -> str:
    return html[html.index('id="value-h"') :]


def test_the_customer_page_names_the_untiered_by_what_they_did(client, company):
    run = _bought_in_usd_only(company)
    usd = CustomerValue.objects.get(run=run, customer=company.rep_customer)
    assert usd.pareto_tier == "" and usd.bought_only_in_other_currencies
    never = CustomerValue.objects.get(run=run, customer=company.teammate_customer)
    assert never.pareto_tier == "" and not never.bought_only_in_other_currencies

    card = _value_card(page_as(client, company.rep, f"/customers/{company.rep_customer.pk}/"))
    assert OTHER_UNTIERED in card and "never bought" not in card
    card = _value_card(page_as(client, company.rep, f"/customers/{company.teammate_customer.pk}/"))
    assert NEVER_UNTIERED in card and "other currencies" not in card

    card = _value_card(
        page_as(client, company.rep, f"/customers/{company.rep_customer.pk}/", chinese=True)
    )
    assert "未分层（仅以其他币种购买）" in card
    assert "从未购买" not in card


def test_the_tier_chart_counts_them_apart_from_those_who_never_bought(client, company):
    _bought_in_usd_only(company)
    client.force_login(company.analyst)
    assert tier_counts(download(client, "tiers")) == {
        "gold": 0,
        "iron": 0,
        "lead": 0,
        "untiered": 5,
        "untiered_other_currencies": 1,
    }
    response = client.get("/analytics/")
    html = response.content.decode()
    tiers = html[html.index('id="chart-tiers"') : html.index('id="chart-whale"')]
    assert f"{NEVER_UNTIERED} 5" in tiers and f"{OTHER_UNTIERED} 1" in tiers
    # The tier movement's columns tell the two kinds apart as the tier chart does.
    movement = html[html.index('id="chart-movement"') :]
    assert NEVER_UNTIERED in movement and OTHER_UNTIERED in movement
    # The rep's customer is warned, and the churn list names their tier as the page does.
    [row] = response.context["charts"]["churn"].extra["shown"]
    assert row["id"] == company.rep_customer.pk and row["tier_label"] == OTHER_UNTIERED
    # The customers without a lifetime value: five never bought, one bought in USD only.
    clv = html[html.index('id="chart-clv"') :]
    assert "6 customers have no lifetime value and are not in the bars." in clv
    assert "5 of them never bought." in clv
    assert "1 of them bought only in other currencies, which the models do not count." in clv


def test_as_lead_they_are_not_counted_among_those_who_never_bought(client, company):
    # A call costs 15 (the default) and the figures hold none of their purchases, nor the
    # handling of their USD orders: the rep's customer is lead, for contacting them has cost
    # something.
    contact(company.rep_customer, Interaction.Channel.PHONE, AS_OF - dt.timedelta(days=30))
    run = _bought_in_usd_only(company)
    usd = CustomerValue.objects.get(run=run, customer=company.rep_customer)
    assert usd.pareto_tier == "lead" and usd.cost_to_serve == 15
    html = page_as(client, company.analyst, "/analytics/")
    assert (
        "Customers who bought only in other currencies than the settings&#x27; (CNY) are "
        "treated the same way: the figures count neither their purchases nor the handling of "
        "their orders in other currencies." in html
    )
    clv = html[html.index('id="chart-clv"') :]
    assert "5 of them never bought." in clv
    assert "who never bought is lead" not in clv and "who never bought are lead" not in clv
    # Why they are lead, as the tier chart's caption has it: the handling of their orders in
    # other currencies is not what made them so.
    assert (
        "1 customer who bought only in other currencies is lead in the tier chart, as the "
        "figures count what serving them cost but neither their purchases nor the handling of "
        "their orders in other currencies." in clv
    )

    html = page_as(client, company.analyst, "/analytics/", chinese=True)
    clv = html[html.index('id="chart-clv"') :]
    assert "其中 5 个从未购买。" in clv
    assert (
        "仅以其他币种购买的客户中有 1 个在分层图中为铅，因为数据计入了服务他们的成本，"
        "却既不计入他们的购买，也不计入处理他们其他币种订单的成本。" in clv
    )
