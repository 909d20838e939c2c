"""Lifecycle stages, purchase cycles and when a customer counts as won."""

import datetime

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from guanxi.analytics.value.lifecycle import (
    STAGES,
    lifecycle_stages,
    newly_won,
    purchase_cycles,
)

NAT = np.datetime64("NaT")


def test_stages_by_hand():
    # (has_contact, purchase_days, repeat, advocacy, days_since_last, expected stage)
    customers = [
        (False, 0, False, False, np.nan, "suspect"),
        (True, 0, False, False, np.nan, "expectation"),
        (True, 1, False, False, 10, "first_purchase"),
        (True, 3, True, False, 10, "repeat_purchase"),
        (True, 3, True, True, 10, "advocate"),
        (True, 1, False, True, 10, "first_purchase"),  # praise does not skip a rung
        (True, 4, True, True, 200, "expectation"),  # lapsed: back to expectation
        (True, 1, False, False, 90, "first_purchase"),  # exactly one cycle: still open
        (True, 1, False, False, 91, "expectation"),
        (False, 1, False, False, 5, "first_purchase"),  # buying is contact enough
    ]
    *columns, expected = zip(*customers, strict=True)
    stages = lifecycle_stages(*columns, cycle_days=90)
    assert stages.tolist() == list(expected)
    assert set(stages.tolist()) == set(STAGES)


def test_stages_of_no_customers():
    assert lifecycle_stages([], [], [], [], [], cycle_days=30).tolist() == []


def test_stage_input_is_checked():
    def stages(**changes):
        arguments = {
            "has_contact": [True],
            "purchase_days": [1],
            "repeat_in_current_cycle": [False],
            "advocacy": [False],
            "days_since_last_purchase": [3.0],
            "cycle_days": 30,
        }
        return lifecycle_stages(**(arguments | changes))

    with pytest.raises(
        ValueError, match="repeat_in_current_cycle must be false for customers with fewer"
    ):
        stages(repeat_in_current_cycle=[True])
    with pytest.raises(ValueError, match="days_since_last_purchase must be 0 or more for"):
        stages(days_since_last_purchase=[np.nan])
    with pytest.raises(ValueError, match="purchase_days must be a whole number"):
        stages(purchase_days=[1.5])
    with pytest.raises(ValueError, match="cycle_days must be a positive number"):
        stages(cycle_days=0)
    with pytest.raises(ValueError, match="advocacy has 2 elements but has_contact has 1"):
        stages(advocacy=[True, False])
    with pytest.raises(ValueError, match="has_contact must be true/false"):
        stages(has_contact=[2])


HISTORIES = [
    ["2024-01-01", "2024-01-10", "2024-01-10", "2024-06-20"],  # won in January, back once
    ["2024-06-01", "2024-06-15"],  # won on 15 June
    [],  # never bought
    ["2024-03-01", "2024-03-20"],  # won in March, lapsed since
    ["2024-05-01", "2024-05-31", "2024-07-05"],  # a 30-day gap keeps the cycle; July is later
    ["2024-06-30"],  # bought on the day itself
]


def test_purchase_cycles_as_of_a_date():
    cycles = purchase_cycles(HISTORIES, cycle_days=30, as_of=np.datetime64("2024-06-30"))
    assert cycles.purchase_days.tolist() == [3, 2, 0, 2, 2, 1]
    # 20 March to 30 June: 11 + 30 + 31 + 30 = 102 days.
    assert cycles.days_since_last_purchase.tolist() == pytest.approx(
        [10, 15, np.nan, 102, 30, 0], nan_ok=True
    )
    assert cycles.current_cycle_days.tolist() == [1, 2, 0, 0, 2, 1]
    assert cycles.repeat_in_current_cycle.tolist() == [False, True, False, False, True, False]
    assert cycles.won_on.tolist() == [
        None, datetime.date(2024, 6, 15), None, None, datetime.date(2024, 5, 31), None,
    ]  # fmt: skip


def test_purchase_cycles_feed_the_stages():
    cycles = purchase_cycles(HISTORIES, cycle_days=30, as_of=np.datetime64("2024-06-30"))
    stages = lifecycle_stages(
        has_contact=[True] * 6,
        purchase_days=cycles.purchase_days,
        repeat_in_current_cycle=cycles.repeat_in_current_cycle,
        advocacy=[False, True, False, True, False, False],
        days_since_last_purchase=cycles.days_since_last_purchase,
        cycle_days=30,
    )
    assert stages.tolist() == [
        "first_purchase", "advocate", "expectation", "expectation", "repeat_purchase",
        "first_purchase",
    ]  # fmt: skip


def test_dates_may_be_dates_strings_or_timestamps():
    histories = [
        [datetime.date(2024, 6, 1), datetime.date(2024, 6, 2)],
        np.array(["2024-06-01T23:59:59", "2024-06-02T00:00:01"], dtype="datetime64[s]"),
    ]
    cycles = purchase_cycles(histories, cycle_days=7, as_of="2024-06-05")
    assert cycles.won_on.tolist() == [datetime.date(2024, 6, 2)] * 2


def test_a_missing_date_is_refused():
    with pytest.raises(ValueError, match="purchase_dates of customer #1 contain a missing"):
        purchase_cycles([["2024-01-01"], ["2024-01-02", NAT]], cycle_days=7, as_of="2024-02-01")


def test_no_customers_have_no_cycles():
    cycles = purchase_cycles([], cycle_days=7, as_of="2024-02-01")
    assert len(cycles.purchase_days) == len(cycles.won_on) == 0
    assert newly_won([], cycle_days=7, start="2024-01-01", end="2024-01-31").tolist() == []


def test_newly_won_in_june():
    histories = [
        *HISTORIES,
        ["2024-06-10"],  # a first order in June is not a win
        ["2024-01-01", "2024-01-05", "2024-05-20", "2024-06-01"],  # won again on 1 June
        ["2024-06-30", "2024-06-30"],  # two orders, one day
        ["2024-06-29", "2024-06-30"],  # won on the last day
        ["2024-06-25", "2024-07-02"],  # won in July
    ]
    won = newly_won(histories, cycle_days=30, start="2024-06-01", end="2024-06-30")
    assert won.tolist() == [
        False, True, False, False, False, False,
        False, True, False, True, False,
    ]  # fmt: skip


def test_a_return_within_the_cycle_is_not_a_new_win():
    history = [["2024-01-01", "2024-01-15", "2024-02-10", "2024-02-20"]]
    # One cycle (no gap over 30 days), won on 15 January; later repeats are not new wins.
    assert newly_won(history, cycle_days=30, start="2024-01-01", end="2024-01-31").tolist() == [
        True
    ]
    assert newly_won(history, cycle_days=30, start="2024-02-01", end="2024-02-29").tolist() == [
        False
    ]


day_offsets = st.lists(st.integers(0, 400), max_size=12)


@given(st.lists(day_offsets, max_size=15), st.integers(1, 60), st.integers(0, 400))
def test_adjoining_periods_add_up_and_single_days_never_win(offsets, cycle_days, split):
    base = np.datetime64("2024-01-01")
    histories = [base + np.array(days, dtype="timedelta64[D]") for days in offsets]
    middle = base + np.timedelta64(split, "D")
    whole = newly_won(histories, cycle_days=cycle_days, start=base, end=base + 400)
    first = newly_won(histories, cycle_days=cycle_days, start=base, end=middle)
    second = newly_won(histories, cycle_days=cycle_days, start=middle + 1, end=base + 400)
    assert whole.tolist() == (first | second).tolist()
    for days, won in zip(offsets, whole, strict=True):
        if len(set(days)) < 2:
            assert not won
    # A customer whose open cycle has a win was won on that day.
    cycles = purchase_cycles(histories, cycle_days=cycle_days, as_of=middle)
    for index in np.flatnonzero(cycles.repeat_in_current_cycle):
        day = cycles.won_on[index]
        assert newly_won([histories[index]], cycle_days=cycle_days, start=day, end=day)[0]
