"""Per-customer predictions and the discounted lifetime value."""

import numpy as np
import pytest

from guanxi.analytics.clv import bgnbd, gamma_gamma
from guanxi.analytics.clv.bgnbd import BgNbdParameters
from guanxi.analytics.clv.gamma_gamma import GammaGammaParameters
from guanxi.analytics.clv.lifetime_value import DAYS_PER_MONTH, customer_value
from guanxi.analytics.clv.summary import SummaryError
from guanxi.analytics.tests import cdnow

WEEKLY = BgNbdParameters(r=0.243, alpha=4.414, a=0.793, b=2.426)
SPEND = GammaGammaParameters(p=6.25, q=3.74, v=15.44)


@pytest.fixture(scope="module")
def summary():
    return cdnow.load_summary()


def predict(summary, **options):
    return customer_value(
        WEEKLY,
        SPEND,
        summary["frequency"],
        summary["recency"],
        summary["T"],
        summary["monetary_value"],
        time_unit="week",
        **options,
    )


def test_lifetime_value_is_the_discounted_sum_of_monthly_expected_purchases(summary):
    value = predict(summary, months=12, monthly_discount_rate=0.02)
    month = DAYS_PER_MONTH / 7
    spend = gamma_gamma.expected_average_spend(
        SPEND, summary["frequency"], summary["monetary_value"]
    )
    expected = np.zeros(len(spend))
    for k in range(1, 13):
        this_month = bgnbd.expected_purchases(
            WEEKLY, k * month, summary["frequency"], summary["recency"], summary["T"]
        ) - bgnbd.expected_purchases(
            WEEKLY, (k - 1) * month, summary["frequency"], summary["recency"], summary["T"]
        )
        expected += spend * this_month / 1.02**k
    assert np.allclose(value.lifetime_value, expected, rtol=1e-12)
    assert np.allclose(value.expected_average_spend, spend)
    assert np.allclose(
        value.probability_alive,
        bgnbd.probability_alive(WEEKLY, summary["frequency"], summary["recency"], summary["T"]),
    )
    assert np.allclose(
        value.expected_purchases,
        bgnbd.expected_purchases(
            WEEKLY, 12 * month, summary["frequency"], summary["recency"], summary["T"]
        ),
    )


def test_without_discounting_it_is_expected_purchases_times_spend(summary):
    value = predict(summary, months=6, monthly_discount_rate=0.0)
    assert np.allclose(
        value.lifetime_value, value.expected_purchases * value.expected_average_spend
    )
    assert np.all(
        predict(summary, months=6, monthly_discount_rate=0.05).lifetime_value < value.lifetime_value
    )


def test_days_and_weeks_give_the_same_value(summary):
    """The same customers measured in days, with α in days, are worth the same."""
    daily = BgNbdParameters(WEEKLY.r, WEEKLY.alpha * 7, WEEKLY.a, WEEKLY.b)
    in_days = customer_value(
        daily,
        SPEND,
        summary["frequency"],
        summary["recency"] * 7,
        summary["T"] * 7,
        summary["monetary_value"],
        time_unit="day",
    )
    assert np.allclose(in_days.lifetime_value, predict(summary).lifetime_value, rtol=1e-10)


def test_customers_who_stopped_are_worth_less_than_those_still_buying():
    value = customer_value(
        WEEKLY, SPEND, [10, 10, 0], [5, 38, 0], [38, 38, 38], [30.0, 30.0, 0.0], time_unit="week"
    )
    gone, active, newcomer = value.lifetime_value
    assert gone < newcomer < active
    assert np.all(np.isfinite(value.lifetime_value))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"months": 0}, "horizon"),
        ({"months": 2.5}, "horizon"),
        ({"monthly_discount_rate": -1.5}, "discount"),
        ({"time_unit": "fortnight"}, "time unit"),
    ],
)
def test_bad_options_are_refused(summary, options, message):
    arguments = {"time_unit": "week", **options}
    with pytest.raises(SummaryError, match=message):
        customer_value(WEEKLY, SPEND, [1], [1], [2], [10.0], **arguments)


def test_without_a_spend_model_purchases_are_valued_at_the_pooled_mean(summary):
    fitted = predict(summary)
    pooled = customer_value(
        WEEKLY,
        None,
        summary["frequency"],
        summary["recency"],
        summary["T"],
        summary["monetary_value"],
        time_unit="week",
    )
    mean = gamma_gamma.pooled_average_spend(summary["frequency"], summary["monetary_value"])
    assert pooled.expected_average_spend == pytest.approx(mean)
    # Only the price of a purchase changes, not how many are expected.
    assert pooled.expected_purchases == pytest.approx(fitted.expected_purchases)
    assert pooled.lifetime_value == pytest.approx(
        fitted.lifetime_value / fitted.expected_average_spend * mean
    )
