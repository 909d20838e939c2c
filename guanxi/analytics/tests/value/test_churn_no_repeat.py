"""The one-time buyer's churn signal: a single purchase, and no second one long after the time
the customers who did come back took to do it."""

import numpy as np
import pytest

from guanxi.analytics.value.churn import REASONS, churn_warnings, no_repeat_days

# Twenty repeat buyers, who came back 10, 20, … 200 days after their first purchase.
GAPS = np.arange(10, 201, 10)


def test_the_threshold_is_a_percentile_of_the_first_to_second_gaps_times_the_margin():
    # The 90th percentile of 20 gaps lies 0.9 × 19 = 17.1 places up the sorted list: a tenth
    # of the way from 180 to 190, so 181; times 1.5.
    assert no_repeat_days(GAPS) == pytest.approx(181 * 1.5)
    assert no_repeat_days(GAPS, percentile=90, margin=1) == pytest.approx(181)
    # The median (between 100 and 110) times 2.
    assert no_repeat_days(GAPS, percentile=50, margin=2) == pytest.approx(210)
    # The order of the gaps does not matter.
    assert no_repeat_days(GAPS[::-1]) == no_repeat_days(GAPS)


def test_too_few_repeat_buyers_give_no_threshold_and_no_warning():
    assert np.isnan(no_repeat_days(GAPS[:19]))
    assert np.isnan(no_repeat_days([]))
    assert no_repeat_days(GAPS[:5], min_repeat_buyers=5) == pytest.approx(46 * 1.5)
    # Without a threshold a single purchase ten thousand days ago is no evidence of anything.
    warnings = churn_warnings([1.0], [10_000], [np.nan], [500.0], no_repeat_days=np.nan)
    assert warnings.reason.tolist() == [""] and not warnings.flagged.any()


def test_single_purchase_customers_past_the_threshold_are_flagged():
    # (p_alive, days since last purchase, mean days between purchases, value, reason)
    customers = [
        (1.0, 181, np.nan, 100.0, ""),  # exactly at the threshold
        (1.0, 182, np.nan, 200.0, "no_repeat"),
        (1.0, 181.5, np.nan, 250.0, "no_repeat"),
        (1.0, 30, np.nan, 300.0, ""),  # bought recently
        (0.9, 1000, 800, 400.0, ""),  # a repeat buyer within their own rhythm
        (0.9, 1000, 500, 500.0, "overdue"),  # ... or not: judged by their rhythm, not this
        (0.2, 400, np.nan, 600.0, "p_alive_low+no_repeat"),
        (0.2, 100, np.nan, 700.0, "p_alive_low"),
    ]
    *columns, reasons = zip(*customers, strict=True)
    warnings = churn_warnings(*columns, no_repeat_days=181)
    assert warnings.reason.tolist() == list(reasons)
    assert warnings.flagged.tolist() == [bool(reason) for reason in reasons]
    # The value at risk, as for the other signals: the value of the flagged.
    assert warnings.value_at_risk.tolist() == [0, 200, 250, 0, 0, 500, 600, 700]
    assert set(reasons) <= set(REASONS)
    assert max(map(len, REASONS)) <= 25


def test_without_a_threshold_nothing_changes():
    columns = ([1.0, 0.3, 0.8], [5000, 10, 100], [np.nan, 20, 30], [1.0, 2.0, 3.0])
    default = churn_warnings(*columns)
    assert default.reason.tolist() == ["", "p_alive_low", "overdue"]
    assert churn_warnings(*columns, no_repeat_days=np.nan).reason.tolist() == [
        "",
        "p_alive_low",
        "overdue",
    ]


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="first_repeat_gaps must be positive"):
        no_repeat_days([0, *GAPS])
    with pytest.raises(ValueError, match="first_repeat_gaps must be finite"):
        no_repeat_days([np.nan, *GAPS])
    with pytest.raises(ValueError, match="percentile must be more than 0 and at most 100"):
        no_repeat_days(GAPS, percentile=0)
    with pytest.raises(ValueError, match="percentile must be more than 0 and at most 100"):
        no_repeat_days(GAPS, percentile=101)
    with pytest.raises(ValueError, match="margin must be a positive number"):
        no_repeat_days(GAPS, margin=0)
    with pytest.raises(ValueError, match="min_repeat_buyers must be 1 or more"):
        no_repeat_days(GAPS, min_repeat_buyers=0)
    with pytest.raises(ValueError, match="no_repeat_days must be a positive number or NaN"):
        churn_warnings([1.0], [1], [np.nan], [1], no_repeat_days=0)


def test_a_wait_too_long_to_write_down_flags_no_one():
    # The settings take any margin from 0.01 up: one large enough makes the percentile times
    # the margin overflow to infinity, a wait that no customer has yet outlasted, not an error
    # that stops the whole refresh.
    endless = no_repeat_days(GAPS, margin=1e308)
    assert endless == float("inf")
    warnings = churn_warnings(
        [1.0, 0.2], [10_000, 10], [np.nan, np.nan], [500.0, 600.0], no_repeat_days=endless
    )
    assert warnings.reason.tolist() == ["", "p_alive_low"]
    assert warnings.flagged.tolist() == [False, True]
