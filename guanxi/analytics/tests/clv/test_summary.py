"""Turning transactions into the per-customer summary (frequency, recency, T, monetary value)."""

import numpy as np
import pytest

from guanxi.analytics.clv.summary import SummaryError, check_summary, summarise_transactions
from guanxi.analytics.tests import cdnow


def summarise(rows, end, unit="day"):
    ids, dates, amounts = zip(*rows, strict=True)
    return summarise_transactions(
        np.array(ids),
        np.array(dates, dtype="datetime64[D]"),
        np.array(amounts, dtype=float),
        calibration_end=np.datetime64(end),
        time_unit=unit,
    )


def as_rows(summary):
    return {
        customer.item() if hasattr(customer, "item") else customer: (f, r, t, m)
        for customer, f, r, t, m in zip(
            summary.customer_ids,
            summary.frequency,
            summary.recency,
            summary.age,
            summary.monetary_value,
            strict=True,
        )
    }


def test_purchases_on_the_same_day_count_once_and_their_amounts_add_up():
    summary = summarise(
        [
            (7, "2024-01-01", 10.0),
            (7, "2024-01-01", 5.0),  # same day as the first purchase: part of it
            (7, "2024-01-05", 20.0),
            (7, "2024-01-05", 4.0),  # one repeat purchase day worth 24
            (7, "2024-01-11", 6.0),
        ],
        "2024-01-31",
    )
    assert as_rows(summary) == {7: (2.0, 10.0, 30.0, 15.0)}  # mean of 24 and 6


def test_a_single_purchase_has_no_frequency_recency_or_monetary_value():
    summary = summarise([(1, "2024-01-10", 99.0)], "2024-01-31")
    assert as_rows(summary) == {1: (0.0, 0.0, 21.0, 0.0)}


def test_first_purchase_on_the_last_day_has_zero_age():
    summary = summarise([(1, "2024-01-31", 5.0), (1, "2024-01-31", 6.0)], "2024-01-31")
    assert as_rows(summary) == {1: (0.0, 0.0, 0.0, 0.0)}


def test_a_last_purchase_on_the_calibration_end_makes_recency_equal_to_age():
    summary = summarise([(1, "2024-01-01", 5.0), (1, "2024-01-31", 8.0)], "2024-01-31")
    assert as_rows(summary) == {1: (1.0, 30.0, 30.0, 8.0)}


def test_orders_after_the_calibration_end_are_left_out():
    summary = summarise(
        [
            (1, "2024-01-01", 5.0),
            (1, "2024-02-02", 50.0),  # hold-out period
            (2, "2024-02-05", 9.0),  # first purchase after the end: not a customer yet
        ],
        "2024-01-31",
    )
    assert as_rows(summary) == {1: (0.0, 0.0, 30.0, 0.0)}


def test_nothing_before_the_end_gives_an_empty_summary():
    summary = summarise([(1, "2024-03-01", 5.0)], "2024-01-31")
    assert len(summary) == 0


def test_weeks_are_calendar_weeks_from_monday():
    # 2024-01-01 is a Monday; 2024-01-07 the Sunday of the same week; 2024-01-08 the next Monday.
    summary = summarise(
        [
            (1, "2024-01-01", 10.0),
            (1, "2024-01-07", 10.0),  # same week as the first purchase
            (1, "2024-01-08", 3.0),
            (2, "2024-01-07", 1.0),
            (2, "2024-01-08", 2.0),  # Sunday then Monday: two weeks
        ],
        "2024-01-31",  # a Wednesday, in the fifth week
        unit="week",
    )
    assert as_rows(summary) == {1: (1.0, 1.0, 4.0, 3.0), 2: (1.0, 1.0, 4.0, 2.0)}


def test_string_ids_and_unordered_input_give_the_same_summary():
    rows = [
        ("b", "2024-01-03", 1.0),
        ("a", "2024-01-05", 2.0),
        ("b", "2024-01-01", 3.0),
        ("a", "2024-01-02", 4.0),
        ("b", "2024-01-09", 5.0),
    ]
    summary = summarise(rows, "2024-01-10")
    assert as_rows(summary) == {"a": (1.0, 3.0, 8.0, 2.0), "b": (2.0, 8.0, 9.0, 3.0)}
    assert list(summary.customer_ids) == ["a", "b"]


def test_matches_a_plain_reference_on_random_data():
    """Against a direct dictionary-based computation, on ids that are far apart (the
    renumbering path) and on compact ids (the direct path), by day and by week."""
    rng = np.random.default_rng(5)
    size = 3000
    days = rng.integers(0, 120, size)
    dates = np.datetime64("2024-01-01") + days
    amounts = np.round(rng.gamma(2.0, 30.0, size), 2)
    end = np.datetime64("2024-03-31")
    for ids in (rng.integers(0, 300, size), rng.integers(0, 300, size) * 10**12):
        for unit, width in (("day", 1), ("week", 7)):
            summary = summarise_transactions(
                ids, dates, amounts, calibration_end=end, time_unit=unit
            )
            periods: dict = {}
            for customer, day, amount in zip(ids, days, amounts, strict=True):
                if np.datetime64("2024-01-01") + day > end:
                    continue
                period = (int(day) + 0) // width  # 2024-01-01 is a Monday
                periods.setdefault(int(customer), {}).setdefault(period, 0.0)
                periods[int(customer)][period] += amount
            end_period = int((end - np.datetime64("2024-01-01")).astype(int)) // width
            expected = {}
            for customer, totals in periods.items():
                ordered = sorted(totals)
                repeats = [totals[p] for p in ordered[1:]]
                expected[customer] = (
                    float(len(repeats)),
                    float(ordered[-1] - ordered[0]),
                    float(end_period - ordered[0]),
                    float(np.mean(repeats)) if repeats else 0.0,
                )
            got = as_rows(summary)
            assert set(got) == set(expected)
            for customer, (f, r, t, m) in expected.items():
                assert got[customer][:3] == (f, r, t)
                assert got[customer][3] == pytest.approx(m, rel=1e-12)


def test_reproduces_the_published_cdnow_summary():
    """Summarising the CDNOW sample by day up to 1997-09-30 and converting to weeks gives the
    summary Fader, Hardie & Lee fitted (x, t_x, T to two decimals, mean repeat spend)."""
    ids, dates, amounts = cdnow.load_transactions()
    published = cdnow.load_summary()
    # The sample has customers with several orders on one day: the rule is exercised.
    same_day = len(ids) - len(np.unique(np.stack([ids, dates.astype(np.int64)]), axis=1)[0])
    assert same_day > 100

    summary = summarise_transactions(
        ids, dates, amounts, calibration_end=cdnow.CALIBRATION_END, time_unit="day"
    )
    assert len(summary) == 2357
    assert np.array_equal(summary.customer_ids, published["customer_id"])
    assert np.array_equal(summary.frequency, published["frequency"])
    assert np.allclose(summary.recency / 7, published["recency"], atol=0.005 + 1e-9)
    assert np.allclose(summary.age / 7, published["T"], atol=0.005 + 1e-9)
    assert np.allclose(summary.monetary_value, published["monetary_value"], atol=0.005 + 1e-9)


@pytest.mark.parametrize(
    ("frequency", "recency", "age", "field", "index"),
    [
        ([1, -1], [1, 0], [2, 2], "frequency", 1),
        ([1, 1.5], [1, 1], [2, 2], "frequency", 1),
        ([1, 2], [1, 3], [2, 2], "recency", 1),
        ([0, 0], [0, 1], [2, 2], "recency", 1),
        ([0, 0], [0, 0], [2, np.nan], "T", 1),
        ([0, 0], [0, 0], [np.inf, 2], "T", 0),
    ],
)
def test_a_bad_summary_names_the_field_and_the_customer(frequency, recency, age, field, index):
    with pytest.raises(SummaryError) as caught:
        check_summary(frequency, recency, age)
    assert caught.value.field == field
    assert caught.value.index == index
    assert field in str(caught.value) and f"#{index + 1}" in str(caught.value)


def test_arrays_of_different_lengths_are_refused():
    with pytest.raises(SummaryError, match="equal length"):
        check_summary([1, 2], [0, 0], [3])
