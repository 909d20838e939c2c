"""Credit ratings and order approval."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from guanxi.analytics.value.credit import RATINGS, credit_ratings, needs_approval

ORDER = {"A": 0, "B": 1, "C": 2, "D": 3}


def test_ratings_at_and_around_the_default_thresholds():
    # (on-time share, most days overdue, expected rating)
    customers = [
        (1.0, 0, "A"),
        (0.95, 30, "A"),  # both at the A limits: still A
        (0.949, 10, "B"),
        (0.95, 31, "B"),
        (0.80, 60, "B"),
        (0.79, 10, "C"),
        (0.90, 61, "C"),
        (0.50, 90, "C"),  # both at the D limits: not yet D
        (0.49, 0, "D"),
        (1.0, 91, "D"),
        (np.nan, 0, "unrated"),
    ]
    on_time, overdue, expected = zip(*customers, strict=True)
    ratings = credit_ratings(on_time, overdue, np.zeros(len(customers)))
    assert ratings.tolist() == list(expected)
    assert set(ratings.tolist()) == set(RATINGS)


def test_the_credit_limit():
    ratings = credit_ratings(
        on_time_share=[1.0, 1.0, 1.0, np.nan, np.nan],
        max_days_overdue=[0, 0, 0, 0, 0],
        outstanding=[100.0, 100.01, 1e9, 50.0, 50.0],
        credit_limit=[100.0, 100.0, np.nan, 40.0, np.nan],
    )
    # At the limit passes; a cent over is D; NaN is no limit; unrated over the limit is D.
    assert ratings.tolist() == ["A", "D", "A", "D", "unrated"]


def test_thresholds_are_parameters():
    ratings = credit_ratings(
        [0.9, 0.9, 0.9],
        [0, 20, 45],
        [0, 0, 0],
        a_on_time=0.9,
        a_max_days=10,
        b_max_days=30,
        d_max_days=40,
    )
    assert ratings.tolist() == ["A", "B", "D"]
    with pytest.raises(ValueError, match="on-time thresholds must satisfy"):
        credit_ratings([1.0], [0], [0], b_on_time=0.99)
    with pytest.raises(ValueError, match="day thresholds must satisfy"):
        credit_ratings([1.0], [0], [0], d_max_days=20)


def test_credit_input_is_checked():
    with pytest.raises(ValueError, match="on_time_share must be a share between 0 and 1"):
        credit_ratings([1.5], [0], [0])
    with pytest.raises(ValueError, match="max_days_overdue must be finite"):
        credit_ratings([1.0], [np.nan], [0])
    with pytest.raises(ValueError, match="max_days_overdue must be 0 or more"):
        credit_ratings([1.0], [-3], [0])
    with pytest.raises(ValueError, match="credit_limit has 2 elements but on_time_share has 1"):
        credit_ratings([1.0], [0], [0], credit_limit=[1.0, 2.0])
    assert credit_ratings([], [], []).tolist() == []


@given(
    st.floats(0, 1),
    st.floats(0, 1),
    st.floats(0, 200),
    st.floats(0, 200),
)
def test_paying_better_never_lowers_the_rating(share_a, share_b, days_a, days_b):
    better = credit_ratings([max(share_a, share_b)], [min(days_a, days_b)], [0.0])[0]
    worse = credit_ratings([min(share_a, share_b)], [max(days_a, days_b)], [0.0])[0]
    assert ORDER[better] <= ORDER[worse]


def test_approval_for_d_and_the_blacklist():
    ratings = ["A", "D", "unrated", "B", "C"]
    blacklisted = [False, False, False, True, False]
    assert needs_approval(ratings, blacklisted).tolist() == [False, True, False, True, False]
    strict = needs_approval(ratings, blacklisted, unrated_needs_approval=True)
    assert strict.tolist() == [False, True, True, True, False]


def test_approval_input_is_checked():
    with pytest.raises(ValueError, match="rating must be one of A, B, C, D, unrated"):
        needs_approval(["E"], [False])
    with pytest.raises(ValueError, match="blacklisted has 2 elements but rating has 1"):
        needs_approval(["A"], [False, True])
    assert needs_approval([], []).tolist() == []
