"""Customers who buy in several currencies: their cost to serve charges the handling of the
orders in the settings currency alone, the currency their margin, profit and tier count, while
every contact counts whole; the tier chart shows the row of those who bought only in other
currencies when there are any; and the tier movement's download names the untiered as the tier
chart's download does, the two kinds apart."""

import datetime as dt

import pytest

from guanxi.analytics import selectors
from guanxi.analytics.models import ORDER_HANDLED, CustomerValue, ValueSettings
from guanxi.analytics.refresh import analytics_refresh
from guanxi.analytics.tests.conftest import AS_OF, book, contact, page_as
from guanxi.analytics.tests.test_dashboard_pages import download, tier_counts
from guanxi.interactions.models import Interaction

pytestmark = pytest.mark.django_db

OTHER_UNTIERED = "Not tiered (bought only in other currencies)"


def _ago(days: int) -> dt.date:
    return AS_OF - dt.timedelta(days=days)


def test_cost_to_serve_charges_the_orders_of_the_currency_the_margin_counts(company):
    """With the default unit costs (20 an order handled, 15 a call): the rep's customer earned
    60 on one CNY order and bought three times in USD besides, and had a call. Charging all four
    orders (80 + 15) against the CNY margin made them lead at -35; charging the CNY order (20 +
    15) leaves a profit of 25, the best of the four CNY buyers: gold. The unowned customer
    bought in USD only, with no contact: nothing is charged, so they are not lead but
    untiered."""
    book(company.rep_customer, _ago(100), "200.00", margin="60")
    for days in (90, 60, 30):
        book(company.rep_customer, _ago(days), "500.00", margin="150", currency="USD")
    contact(company.rep_customer, Interaction.Channel.PHONE, _ago(50))
    for customer, margin in (
        (company.teammate_customer, "25"),
        (company.rep_b_customer, "22"),
        (company.west_customer, "21"),
    ):
        book(customer, _ago(100), "100.00", margin=margin)
    for days in (90, 60):
        book(company.unowned_customer, _ago(days), "100.00", margin="30", currency="USD")

    run = analytics_refresh(as_of=AS_OF)

    mixed = CustomerValue.objects.get(run=run, customer=company.rep_customer)
    assert mixed.gross_margin == pytest.approx(60)
    assert mixed.cost_to_serve == pytest.approx(35)
    assert mixed.profit == pytest.approx(25)
    assert mixed.pareto_tier == "gold"
    teammate = CustomerValue.objects.get(run=run, customer=company.teammate_customer)
    assert teammate.cost_to_serve == pytest.approx(20) and teammate.profit == pytest.approx(5)
    usd_only = CustomerValue.objects.get(run=run, customer=company.unowned_customer)
    assert usd_only.cost_to_serve == 0 and usd_only.pareto_tier == ""
    assert usd_only.bought_only_in_other_currencies
    assert run.figures["total_profit"] == pytest.approx(25 + 5 + 2 + 1)


def test_the_tier_chart_leaves_out_the_empty_row_of_other_currencies(
    client, book_of_orders, company
):
    analytics_refresh(as_of=AS_OF)
    client.force_login(company.analyst)
    rows = download(client, "tiers")
    assert [row["tier"] for row in rows] == ["gold", "iron", "lead", "untiered"]
    html = page_as(client, company.analyst, "/analytics/")
    tiers = html[html.index('id="chart-tiers"') : html.index('id="chart-whale"')]
    assert OTHER_UNTIERED not in tiers
    assert "Not tiered (never bought, no cost to serve)" in tiers

    # Once someone bought only in other currencies, the row is back, on the page and in the
    # download.
    book(company.unowned_customer, _ago(30), "100.00", margin="30", currency="USD")
    analytics_refresh(as_of=AS_OF)
    assert tier_counts(download(client, "tiers"))["untiered_other_currencies"] == 1
    html = page_as(client, company.analyst, "/analytics/")
    tiers = html[html.index('id="chart-tiers"') : html.index('id="chart-whale"')]
    assert f"{OTHER_UNTIERED} 1" in tiers


def _movement(client) -> dict[tuple[str, str], int]:
    return {
        (row["from_tier"], row["to_tier"]): int(row["customers"])
        for row in download(client, "movement")
    }


def test_the_tier_movement_download_names_the_untiered_as_the_tier_download(client, company):
    """The rep's customer buys in CNY, the teammate's in USD. Refreshed in CNY, then with the
    settings switched to USD: the rep's customer goes from iron to untiered for having bought
    only in other currencies, the teammate's from that to iron. Handling an order costs
    nothing here, so that no one is lead."""
    value_settings = ValueSettings.load()
    value_settings.unit_costs = {**value_settings.unit_costs, ORDER_HANDLED: 0.0}
    value_settings.save()
    for days in (200, 100):
        book(company.rep_customer, _ago(days), "100.00", margin="30")
        book(company.teammate_customer, _ago(days), "100.00", margin="30", currency="USD")
    analytics_refresh(as_of=AS_OF)
    client.force_login(company.analyst)
    first = _movement(client)
    assert {pair: count for pair, count in first.items() if count} == {
        ("new_or_untiered", "iron"): 1,
        ("new_or_untiered", "untiered"): 4,
        ("new_or_untiered", "untiered_other_currencies"): 1,
    }

    value_settings.refresh_from_db()
    value_settings.currency = "USD"
    value_settings.save()
    run = analytics_refresh(as_of=AS_OF)
    assert CustomerValue.objects.get(run=run, customer=company.rep_customer).pareto_tier == ""
    second = _movement(client)
    assert {pair: count for pair, count in second.items() if count} == {
        ("iron", "untiered_other_currencies"): 1,
        ("new_or_untiered", "iron"): 1,
        ("new_or_untiered", "untiered"): 4,
    }
    # Each "to" of the movement is a row of the tier download, with its customers.
    arrived: dict[str, int] = {}
    for (_from, to), count in second.items():
        arrived[to] = arrived.get(to, 0) + count
    assert arrived == tier_counts(download(client, "tiers"))

    # The page's table heads the columns with the tier chart's names; the drawing, short of
    # room, names the second kind by the currency they did not buy in.
    html = page_as(client, company.analyst, "/analytics/")
    movement = html[html.index('id="chart-movement"') :]
    assert f'<th class="numeric">{OTHER_UNTIERED}</th>' in movement
    assert '<th class="numeric">Not tiered (never bought, no cost to serve)</th>' in movement
    assert 'text-anchor="middle">Non-USD</text>' in movement

    # The selector reads the same moves with the value columns as without them.
    for user in (company.analyst, company.rep):
        values = selectors.value_columns_for_user(user)
        assert selectors.tier_movements_for_user(
            user, values=values
        ) == selectors.tier_movements_for_user(user)
    assert selectors.tier_movements_for_user(company.rep) == {
        ("iron", "untiered_other_currencies"): 1,
        ("", "iron"): 1,
    }
