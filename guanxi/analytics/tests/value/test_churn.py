"""Churn warnings and the order to follow them up in."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from guanxi.analytics.value.churn import REASONS, churn_warnings, warning_order


def test_warnings_by_hand():
    # (p_alive, days since last purchase, mean days between purchases, value, reason)
    customers = [
        (0.9, 10, 20, 1000.0, ""),
        (0.3, 10, 20, 500.0, "p_alive_low"),
        (0.8, 100, 30, 800.0, "overdue"),  # 100 > 1.5 × 30
        (0.2, 100, np.nan, 300.0, "p_alive_low"),  # one purchase: judged by p_alive only
        (0.5, 10, np.nan, 200.0, ""),  # exactly at the threshold
        (0.7, 45, 30, 50.0, ""),  # exactly 1.5 × 30 days
        (0.1, 100, 20, 90.0, "p_alive_low+overdue"),
        (0.9, 5000, np.nan, 70.0, ""),  # long silence, but no rhythm to be overdue against
    ]
    *columns, reasons = zip(*customers, strict=True)
    warnings = churn_warnings(*columns)
    assert warnings.reason.tolist() == list(reasons)
    assert warnings.flagged.tolist() == [bool(reason) for reason in reasons]
    assert warnings.value_at_risk.tolist() == [0, 500, 800, 300, 0, 0, 90, 0]
    assert set(reasons) <= set(REASONS)


def test_thresholds_are_parameters():
    warnings = churn_warnings(
        [0.6, 0.9], [50, 50], [30, 40], [1.0, 2.0], p_alive_threshold=0.7, overdue_margin=1.3
    )
    # 0.6 < 0.7; 50 > 1.3 × 30 = 39 but not > 1.3 × 40 = 52.
    assert warnings.reason.tolist() == ["p_alive_low+overdue", ""]


def test_p_alive_says_nothing_of_a_customer_who_bought_after_what_the_model_saw():
    # The same low P(alive) and long silence twice; the second customer has bought since, in a
    # currency the model does not count, so only the rhythm (measured on every purchase) speaks.
    warnings = churn_warnings(
        [0.2, 0.2, 0.2],
        [100, 100, 5],
        [30, 30, 30],
        [50.0, 60.0, 70.0],
        p_alive_saw_last=[True, False, False],
    )
    assert warnings.reason.tolist() == ["p_alive_low+overdue", "overdue", ""]
    assert warnings.value_at_risk.tolist() == [50, 60, 0]
    with pytest.raises(ValueError, match="p_alive_saw_last has 1 elements but p_alive has 3"):
        churn_warnings([0.2, 0.2, 0.2], [1, 1, 1], [1, 1, 1], [1, 1, 1], p_alive_saw_last=[True])


def test_no_customers_no_warnings():
    warnings = churn_warnings([], [], [], [])
    assert warnings.flagged.tolist() == warnings.reason.tolist() == []
    assert warnings.value_at_risk.tolist() == []


def test_churn_input_is_checked():
    with pytest.raises(ValueError, match="p_alive must be a probability between 0 and 1"):
        churn_warnings([1.2], [1], [1], [1])
    with pytest.raises(ValueError, match="p_alive must be finite"):
        churn_warnings([np.nan], [1], [1], [1])
    with pytest.raises(ValueError, match="mean_interpurchase_days must be positive"):
        churn_warnings([0.5], [1], [0], [1])
    with pytest.raises(ValueError, match="days_since_last must be 0 or more"):
        churn_warnings([0.5], [-1], [1], [1])
    with pytest.raises(ValueError, match="value must be finite"):
        churn_warnings([0.5], [1], [1], [np.nan])
    with pytest.raises(ValueError, match="value has 2 elements but p_alive has 1"):
        churn_warnings([0.5], [1], [1], [1, 2])
    with pytest.raises(ValueError, match="p_alive_threshold must be between 0 and 1"):
        churn_warnings([0.5], [1], [1], [1], p_alive_threshold=2)
    with pytest.raises(ValueError, match="overdue_margin must be a positive number"):
        churn_warnings([0.5], [1], [1], [1], overdue_margin=0)


@given(
    st.lists(
        st.tuples(
            st.floats(0, 1),
            st.floats(0, 1000),
            st.one_of(st.just(np.nan), st.floats(0.5, 200)),
            st.floats(-1e6, 1e6),
        ),
        max_size=40,
    )
)
def test_value_at_risk_is_the_value_of_the_flagged(rows):
    columns = [np.array(column, dtype=float) for column in zip(*rows, strict=True)] or [[]] * 4
    warnings = churn_warnings(*columns)
    value = np.asarray(columns[3], dtype=float)
    assert np.array_equal(warnings.value_at_risk, np.where(warnings.flagged, value, 0.0))
    assert np.array_equal(warnings.flagged, warnings.reason != "")
    single = np.isnan(np.asarray(columns[2], dtype=float))
    assert not np.isin(warnings.reason[single], ["overdue", "p_alive_low+overdue"]).any()


def test_gold_first_then_value_at_risk():
    tier = ["iron", "gold", "lead", "gold", "iron"]
    at_risk = [500.0, 100.0, 900.0, 300.0, 500.0]
    # Gold by value at risk (3, 1), then the rest (2, then the tie 0 and 4 in order).
    assert warning_order(tier, at_risk).tolist() == [3, 1, 2, 0, 4]
    flagged = [True, False, True, True, True]
    assert warning_order(tier, at_risk, flagged).tolist() == [3, 2, 0, 4]


def test_warning_order_edge_cases():
    assert warning_order([], []).tolist() == []
    assert warning_order(["gold"], [0.0], [False]).tolist() == []
    with pytest.raises(ValueError, match="value_at_risk has 1 elements but tier has 2"):
        warning_order(["gold", "iron"], [1.0])
    with pytest.raises(ValueError, match="flagged has 1 elements but tier has 2"):
        warning_order(["gold", "iron"], [1.0, 2.0], [True])
