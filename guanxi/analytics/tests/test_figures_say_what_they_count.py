"""Each figure of the value card and the dashboard says what it counts, in both languages:
P(alive) of a customer seen buying once (1 by the model's construction, so it tells nothing),
the untiered and the customers without a lifetime value (who never bought, and of them who is
lead), and the tier movement's first tierings apart from real changes.

On the book of orders (see conftest) before the models can be fitted: the rep's customer and
Team B's bought twice or more, the teammate's customer once; the West customer never bought
but was called (lead: serving them cost more than they brought); two customers have nothing."""

import pytest

from guanxi.analytics.models import CustomerValue
from guanxi.analytics.refresh import analytics_refresh
from guanxi.analytics.tests.conftest import AS_OF, page_as

pytestmark = pytest.mark.django_db


@pytest.fixture
def refreshed(book_of_orders):
    analytics_refresh(as_of=AS_OF)
    return book_of_orders


def _with_p_alive(company):
    """P(alive) as the purchase model gives it once fitted: 1 for the customer seen buying
    once (no repeat purchase: the model counts no one as lost before one), below 1 for a
    repeat buyer."""
    values = CustomerValue.objects.filter(run__is_current=True)
    values.filter(customer=company.teammate_customer).update(p_alive=1.0)
    values.filter(customer=company.rep_b_customer).update(p_alive=0.8)


@pytest.mark.parametrize(
    ("chinese", "one_purchase"),
    [
        (False, "One purchase only: the model cannot tell yet"),
        (True, "仅购买过一次：模型尚无法判断"),
    ],
)
def test_p_alive_of_a_customer_seen_buying_once_is_not_shown_as_certain(
    client, refreshed, chinese, one_purchase
):
    company = refreshed
    _with_p_alive(company)
    once = page_as(client, company.teammate, f"/customers/{company.teammate_customer.pk}/", chinese)
    card = once[once.index('id="value-h"') :]
    assert one_purchase in card
    assert "100.0 %" not in card
    repeat = page_as(client, company.rep_b, f"/customers/{company.rep_b_customer.pk}/", chinese)
    card = repeat[repeat.index('id="value-h"') :]
    assert "80.0 %" in card and one_purchase not in card


def test_the_untiered_are_named_for_what_they_are_and_the_caption_states_the_rule(
    client, refreshed
):
    html = page_as(client, refreshed.analyst, "/analytics/")
    assert "Not tiered (no purchases)" not in html
    assert "Not tiered (never bought, no cost to serve)" in html
    assert (
        "Customers who never bought are lead when serving them (contacts, service tickets, "
        "orders cancelled or refunded) has cost something, and otherwise not tiered." in html
    )
    html = page_as(client, refreshed.analyst, "/analytics/", chinese=True)
    assert "未分层（从未购买，也无服务成本）" in html
    assert (
        "从未购买的客户若服务他们（联系、服务工单、已取消或已退款的订单）已产生成本则为铅，"
        "否则不分层。" in html
    )


def test_the_customers_without_a_lifetime_value_are_told_apart(client, refreshed):
    # Fewer than 20 repeat buyers: no model, so no lifetime value for anyone. Three never
    # bought, one of them lead; three bought and have none because the models were not fitted.
    html = page_as(client, refreshed.analyst, "/analytics/")
    assert "never bought, or the models could not be fitted" not in html
    assert "6 customers have no lifetime value and are not in the bars." in html
    assert "3 of them never bought." in html
    assert (
        "1 customer who never bought is lead in the tier chart, as serving them has cost "
        "something." in html
    )
    assert "3 of them bought, but the models could not be fitted." in html
    html = page_as(client, refreshed.analyst, "/analytics/", chinese=True)
    assert "6 个客户没有终身价值，未计入柱形图。" in html
    assert "其中 3 个从未购买。" in html
    assert "从未购买的客户中有 1 个在分层图中为铅，因为服务他们已产生成本。" in html
    assert "其中 3 个购买过，但模型无法拟合。" in html


def test_once_fitted_the_customers_without_a_lifetime_value_are_those_who_never_bought(
    client, refreshed
):
    values = CustomerValue.objects.filter(run__is_current=True, purchase_days__gt=0)
    values.update(clv=10.0)
    html = page_as(client, refreshed.analyst, "/analytics/")
    assert "3 customers have no lifetime value and are not in the bars." in html
    assert "3 of them never bought." in html
    assert "models could not be fitted" not in html


@pytest.mark.parametrize(
    ("chinese", "first", "changed"),
    [
        (False, "4 customers were tiered for the first time", "0 customers changed tier"),
        (True, "4 个客户首次分层", "0 个客户变更了层级"),
    ],
)
def test_the_first_refresh_tiers_customers_for_the_first_time_and_changes_none(
    client, refreshed, chinese, first, changed
):
    html = page_as(client, refreshed.analyst, "/analytics/", chinese)
    movement = html[html.index('id="chart-movement"') :]
    assert first in movement and changed in movement
    chart = client.get("/analytics/").context["charts"]["movement"]
    assert chart.extra["moved"] == 0 and chart.extra["first_tiered"] == 4
