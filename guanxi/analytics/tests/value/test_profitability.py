"""Activity-based cost to serve, profit and the whale curve."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from guanxi.analytics.value.profitability import cost_to_serve, profit, whale_curve

UNIT_COSTS = {"calls": 4.0, "visits": 50.0, "tickets": 12.5, "emails": 0.2}


def test_cost_to_serve_adds_up_the_activities_at_their_unit_costs():
    costs = cost_to_serve(
        {"calls": [2, 0, 5], "visits": [1, 0, 0], "tickets": [0, 3, 1]}, UNIT_COSTS
    )
    # 2·4 + 1·50 = 58; 3·12.5 = 37.5; 5·4 + 12.5 = 32.5. Emails did not happen: not needed.
    assert costs.tolist() == [58.0, 37.5, 32.5]


def test_a_missing_unit_cost_names_the_activity():
    with pytest.raises(ValueError, match="no unit cost for activity 'webinars'"):
        cost_to_serve({"calls": [1], "webinars": [2]}, UNIT_COSTS)


def test_cost_to_serve_checks_its_input():
    with pytest.raises(ValueError, match="visits has 1 elements but calls has 2"):
        cost_to_serve({"calls": [1, 2], "visits": [1]}, UNIT_COSTS)
    with pytest.raises(ValueError, match="tickets must be 0 or more; customer #0"):
        cost_to_serve({"tickets": [-1, 2]}, UNIT_COSTS)
    with pytest.raises(ValueError, match="calls must be finite"):
        cost_to_serve({"calls": [np.nan]}, UNIT_COSTS)
    with pytest.raises(ValueError, match="unit cost of 'calls' must be finite and 0 or more"):
        cost_to_serve({"calls": [1]}, {"calls": -4.0})
    with pytest.raises(ValueError, match="activity_counts is empty"):
        cost_to_serve({}, UNIT_COSTS)


def test_cost_to_serve_of_no_customers_is_empty():
    assert cost_to_serve({"calls": []}, UNIT_COSTS).tolist() == []


def test_profit_is_margin_less_cost():
    assert profit([100.0, 20.0], [58.0, 37.5]).tolist() == [42.0, -17.5]
    with pytest.raises(ValueError, match="cost has 1 elements but gross_margin has 2"):
        profit([1.0, 2.0], [1.0])


def test_whale_curve_by_hand():
    curve = whale_curve([100.0, -50.0, 300.0, 0.0, -30.0, 80.0])
    # Best first: 300, 100, 80, 0, -30, -50; total 400.
    assert curve.order.tolist() == [2, 0, 5, 3, 4, 1]
    assert curve.cumulative_profit.tolist() == [0, 300, 400, 480, 480, 450, 400]
    assert curve.profit_share.tolist() == [0, 0.75, 1.0, 1.2, 1.2, 1.125, 1.0]
    assert curve.customer_share.tolist() == pytest.approx([0, 1 / 6, 2 / 6, 0.5, 4 / 6, 5 / 6, 1])
    assert curve.total_profit == 400.0
    assert curve.peak_height == 1.2
    assert curve.peak_customer_share == 0.5  # the first of the two points at 120 %
    assert curve.loss_making_share == pytest.approx(1 / 3)
    # 20 % of six customers is 1.2 customers: a fifth of the way from 75 % to 100 %.
    assert curve.profit_share_of_top(0.2) == pytest.approx(0.8)


def test_whale_summary_numbers_and_sentence():
    summary = whale_curve([100.0, -50.0, 300.0, 0.0, -30.0, 80.0]).summary()
    assert summary.top_customer_share == 0.2
    assert summary.top_profit_share == pytest.approx(0.8)
    assert str(summary) == (
        "The top 20% of customers make 80% of total profit; cumulative profit peaks at 120% "
        "of the total with the top 50% of customers; 33% of customers lose money."
    )


@pytest.mark.parametrize("profits", [[10.0, -30.0], [5.0, -5.0], [0.0, 0.0, 0.0]])
def test_without_positive_total_profit_shares_are_nan(profits):
    curve = whale_curve(profits)
    assert np.isnan(curve.profit_share).all()
    assert np.isnan(curve.peak_height)
    assert np.isnan(curve.profit_share_of_top(0.2))
    assert "profit shares are undefined" in str(curve.summary())


def test_the_peak_is_still_located_when_total_profit_is_negative():
    curve = whale_curve([10.0, -30.0])
    assert curve.cumulative_profit.tolist() == [0.0, 10.0, -20.0]
    assert curve.total_profit == -20.0
    assert curve.peak_customer_share == 0.5
    assert curve.loss_making_share == 0.5


def test_all_zero_profits_peak_at_the_origin_and_lose_nothing():
    curve = whale_curve([0.0, 0.0, 0.0])
    assert curve.peak_customer_share == 0.0
    assert curve.loss_making_share == 0.0


def test_whale_curve_of_no_customers():
    curve = whale_curve([])
    assert curve.customer_share.tolist() == [0.0]
    assert curve.cumulative_profit.tolist() == [0.0]
    assert curve.total_profit == 0.0
    for share in (curve.peak_height, curve.peak_customer_share, curve.loss_making_share):
        assert np.isnan(share)
    assert str(curve.summary()) == "No customers."


def test_whale_curve_checks_its_input():
    with pytest.raises(ValueError, match="profits must be finite"):
        whale_curve([1.0, np.inf])
    with pytest.raises(ValueError, match="share must be between 0 and 1"):
        whale_curve([1.0]).profit_share_of_top(1.5)


# Whole amounts, so the cumulative sums are exact and the peak is where the algebra puts it.
@given(st.lists(st.integers(-(10**6), 10**6).map(float), min_size=1, max_size=80))
def test_whale_curve_properties(profits):
    curve = whale_curve(profits)
    profits = np.array(profits)
    n = len(profits)
    assert curve.customer_share[0] == 0 and curve.customer_share[-1] == 1
    assert curve.cumulative_profit[0] == 0
    assert sorted(curve.order.tolist()) == list(range(n))
    assert curve.loss_making_share == np.count_nonzero(profits < 0) / n
    if curve.total_profit > 0:
        assert curve.profit_share[-1] == 1.0  # exactly: it ends at 100 %
        assert curve.peak_height >= 1.0
        # It rises while profits are positive and peaks once they are used up.
        assert curve.peak_customer_share == np.count_nonzero(profits > 0) / n
    else:
        assert np.isnan(curve.peak_height)
