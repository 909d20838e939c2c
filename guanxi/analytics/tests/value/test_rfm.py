"""RFM quintile scores and the segment grid."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from guanxi.analytics.value.rfm import (
    OTHER_CURRENCIES,
    SEGMENT_GRID,
    SEGMENTS,
    quintile_scores,
    rfm_scores,
    rfm_segments,
)

# The published ranges (R, then combined F/M) of each segment, as printed in the table the
# grid is taken from; written out again here so the grid is checked against the source.
PUBLISHED_RANGES = {
    "champions": ((4, 5), (4, 5)),
    "loyal": ((2, 5), (3, 5)),
    "potential_loyalist": ((3, 5), (1, 3)),
    "new_customer": ((4, 5), (1, 1)),
    "promising": ((3, 4), (1, 1)),
    "need_attention": ((2, 3), (2, 3)),
    "about_to_sleep": ((2, 3), (1, 2)),
    "at_risk": ((1, 2), (2, 5)),
    "cannot_lose": ((1, 1), (4, 5)),
    "hibernating": ((1, 2), (1, 2)),
    "lost": ((1, 2), (1, 2)),
}


def test_ten_distinct_values_make_five_quintiles_of_two():
    values = np.array([7.0, 3.0, 9.0, 1.0, 5.0, 10.0, 2.0, 8.0, 4.0, 6.0])
    assert quintile_scores(values).tolist() == [4, 2, 5, 1, 3, 5, 1, 4, 2, 3]


def test_seven_distinct_values_fill_quintiles_by_the_middle_of_each_rank():
    # Positions 0..6 have middles 0.5..6.5; the quintile cuts are at multiples of 7/5 = 1.4.
    assert quintile_scores(np.arange(7.0)).tolist() == [1, 2, 2, 3, 4, 4, 5]


def test_ties_share_the_score_of_the_middle_of_their_positions():
    # The three 2s occupy positions 1..3, middle 2.5 of 5: the third quintile.
    assert quintile_scores(np.array([1.0, 2.0, 2.0, 2.0, 3.0])).tolist() == [1, 3, 3, 3, 5]


def test_a_tie_across_a_quintile_boundary_moves_as_one():
    # Ten customers, the 4th to 6th (positions 3..5) tied: middle 4.5 is in the third quintile.
    values = np.array([1.0, 2.0, 3.0, 4.0, 4.0, 4.0, 7.0, 8.0, 9.0, 10.0])
    assert quintile_scores(values).tolist() == [1, 1, 2, 3, 3, 3, 4, 4, 5, 5]


@pytest.mark.parametrize("values", [[42.0], [5.0] * 8])
def test_one_customer_or_all_equal_score_in_the_middle(values):
    assert set(quintile_scores(np.array(values)).tolist()) == {3}


def test_scores_buyers_only_and_ranks_recency_in_reverse():
    scores = rfm_scores(
        recency_days=[5, 40, 10, np.nan, 80, 20],
        frequency=[6, 1, 3, 0, 1, 2],
        monetary=[500.0, 20.0, 120.0, np.nan, 20.0, 60.0],
    )
    # Five buyers, one per quintile, except the two tied at frequency 1 and spend 20, which
    # take the middle of positions 0 and 1 (score 2).
    assert scores.r.tolist() == [5, 2, 4, 0, 1, 3]
    assert scores.f.tolist() == [5, 2, 4, 0, 2, 3]
    assert scores.m.tolist() == [5, 2, 4, 0, 2, 3]
    segments = rfm_segments(scores.r, scores.f, scores.m)
    assert segments.tolist() == ["champions", "hibernating", "champions", "none", "lost", "loyal"]


def test_non_buyers_do_not_take_up_quintiles():
    with_non_buyers = rfm_scores([1, 2, 3, 0, 0], [1, 1, 1, 0, 0], [10, 20, 30, 0, 0])
    without = rfm_scores([1, 2, 3], [1, 1, 1], [10, 20, 30])
    assert with_non_buyers.m.tolist() == [*without.m.tolist(), 0, 0]
    assert with_non_buyers.r.tolist() == [*without.r.tolist(), 0, 0]


def test_empty_input_gives_empty_scores_and_segments():
    scores = rfm_scores([], [], [])
    assert len(scores.r) == len(scores.f) == len(scores.m) == 0
    assert rfm_segments(scores.r, scores.f, scores.m).tolist() == []


def test_no_buyers_at_all_score_zero():
    scores = rfm_scores([np.nan, np.nan], [0, 0], [np.nan, np.nan])
    assert scores.r.tolist() == scores.f.tolist() == scores.m.tolist() == [0, 0]


def test_every_grid_cell_lies_within_its_segment_s_published_ranges():
    used = set()
    for row, r in zip(SEGMENT_GRID, range(5, 0, -1), strict=True):
        for fm, segment in enumerate(row, start=1):
            (r_low, r_high), (fm_low, fm_high) = PUBLISHED_RANGES[segment]
            assert r_low <= r <= r_high, (r, fm, segment)
            assert fm_low <= fm <= fm_high, (r, fm, segment)
            used.add(segment)
    assert used == set(PUBLISHED_RANGES) == set(SEGMENTS) - {"none", OTHER_CURRENCIES}


@pytest.mark.parametrize(
    ("r", "f", "m", "segment"),
    [
        (5, 1, 1, "new_customer"),
        (5, 1, 2, "potential_loyalist"),  # F/M = 1.5, rounded half up to 2
        (4, 1, 1, "promising"),
        (5, 4, 5, "champions"),  # F/M = 4.5 → 5
        (5, 3, 4, "champions"),  # F/M = 3.5 → 4
        (3, 3, 2, "loyal"),  # F/M = 2.5 → 3
        (3, 2, 2, "need_attention"),
        (3, 1, 1, "about_to_sleep"),
        (2, 5, 5, "at_risk"),
        (1, 5, 4, "cannot_lose"),
        (1, 3, 3, "at_risk"),
        (2, 1, 1, "hibernating"),
        (1, 1, 2, "lost"),
        (0, 0, 0, "none"),
        (3, 0, 4, "none"),  # any 0 marks a non-buyer
    ],
)
def test_segment_of_scores(r, f, m, segment):
    assert rfm_segments([r], [f], [m]).tolist() == [segment]


def test_every_score_combination_has_a_labelled_segment():
    r, f, m = (axis.ravel() for axis in np.meshgrid(*[np.arange(1, 6)] * 3))
    segments = rfm_segments(r, f, m)
    assert len(segments) == 125
    assert set(segments.tolist()) <= set(SEGMENTS) - {"none", OTHER_CURRENCIES}


def test_unequal_lengths_name_the_argument():
    with pytest.raises(ValueError, match="monetary has 2 elements but recency_days has 3"):
        rfm_scores([1, 2, 3], [1, 1, 1], [5.0, 6.0])
    with pytest.raises(ValueError, match="m has 1 elements"):
        rfm_segments([1, 2], [1, 2], [1])


def test_bad_values_are_refused_with_the_argument_named():
    with pytest.raises(ValueError, match="frequency must be 0 or more; customer #1"):
        rfm_scores([1, 2], [1, -1], [5.0, 6.0])
    with pytest.raises(ValueError, match="recency_days must be a number for customers who"):
        rfm_scores([np.nan, 2], [1, 1], [5.0, 6.0])
    with pytest.raises(ValueError, match="monetary must be finite or NaN"):
        rfm_scores([1, 2], [1, 1], [np.inf, 6.0])
    with pytest.raises(ValueError, match="f must be a whole score from 0 to 5"):
        rfm_segments([1], [6], [1])
    with pytest.raises(ValueError, match="r must be a 1-D array"):
        rfm_segments(3, [1], [1])


@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=60, unique=True))
def test_distinct_values_fill_the_quintiles_evenly(values):
    scores = quintile_scores(np.array(values))
    counts = np.bincount(scores, minlength=6)[1:]
    n = len(values)
    assert counts.sum() == n
    assert all(n // 5 <= count <= -(-n // 5) for count in counts)


@given(st.lists(st.integers(0, 6), min_size=1, max_size=60))
def test_scores_never_decrease_with_the_value_and_ties_agree(values):
    values = np.array(values, dtype=float)
    scores = quintile_scores(values)
    order = np.argsort(values, kind="stable")
    assert np.all(np.diff(scores[order]) >= 0)
    for value in np.unique(values):
        assert len(set(scores[values == value].tolist())) == 1
    assert scores.min() >= 1 and scores.max() <= 5
