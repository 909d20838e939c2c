"""Customer lifecycle stages, purchase cycles and when a customer counts as won.

The stages are rungs of the loyalty ladder (Raphel & Raphel 1995, "Up the Loyalty Ladder";
Christopher, Payne & Ballantyne 1991, "Relationship Marketing"): a *suspect* is known but has
never been in contact; *expectation* is a contact who has not bought (again); then *first
purchase*, *repeat purchase*, and *advocate*, a repeat customer who also recommends the
company (a referral, a promoter score in a survey, praise). Advocacy sits above repeat
buying on the ladder, so a first-time buyer who praises the company is still a first-time
buyer.

A *purchase cycle* is a run of purchase days with no gap longer than ``cycle_days`` between
consecutive ones: the first purchase opens a cycle, and a purchase more than ``cycle_days``
after the previous one opens a new cycle. The cycle is *open* while the last purchase is at
most ``cycle_days`` old; after that the customer has lapsed and is back to expectation, and
their next purchase starts a new cycle. Several purchases on one day count as one.

A customer counts as *won* on the second purchase day of a cycle — not at the first order,
which may be a one-off trial — so a customer can be won again after lapsing, but only once
they come back and buy twice.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ._checks import as_bools, as_floats, fail, same_length

STAGES = {
    "suspect": "Suspect",
    "expectation": "Expectation",
    "first_purchase": "First purchase",
    "repeat_purchase": "Repeat purchase",
    "advocate": "Advocate",
}


def _check_cycle_days(cycle_days: float) -> float:
    cycle_days = float(cycle_days)
    if not (np.isfinite(cycle_days) and cycle_days > 0):
        raise ValueError(f"cycle_days must be a positive number of days, not {cycle_days}")
    return cycle_days


def lifecycle_stages(
    has_contact: ArrayLike,
    purchase_days: ArrayLike,
    repeat_in_current_cycle: ArrayLike,
    advocacy: ArrayLike,
    days_since_last_purchase: ArrayLike,
    *,
    cycle_days: float,
) -> np.ndarray:
    """The stage (a key of :data:`STAGES`) of each customer.

    ``purchase_days`` counts distinct purchase days ever; ``days_since_last_purchase`` is NaN
    for customers who never bought. A buyer whose last purchase is more than ``cycle_days``
    ago has lapsed and is in expectation again, whatever came before (having bought, they are
    known to be in contact). ``repeat_in_current_cycle`` needs at least two purchase days.
    """
    contact = as_bools("has_contact", has_contact)
    days = as_floats("purchase_days", purchase_days)
    repeat = as_bools("repeat_in_current_cycle", repeat_in_current_cycle)
    advocate = as_bools("advocacy", advocacy)
    since = as_floats("days_since_last_purchase", days_since_last_purchase, allow_nan=True)
    same_length(
        has_contact=contact,
        purchase_days=days,
        repeat_in_current_cycle=repeat,
        advocacy=advocate,
        days_since_last_purchase=since,
    )
    cycle_days = _check_cycle_days(cycle_days)
    bad = (days < 0) | (days != np.round(days))
    if bad.any():
        fail("purchase_days", bad, days, "be a whole number, 0 or more")
    bought = days > 0
    if (repeat & (days < 2)).any():
        fail(
            "repeat_in_current_cycle",
            repeat & (days < 2),
            repeat,
            "be false for customers with fewer than two purchase days",
        )
    bad = bought & ~(since >= 0)  # NaN fails the comparison too
    if bad.any():
        fail("days_since_last_purchase", bad, since, "be 0 or more for customers who bought")

    active = bought & (since <= cycle_days)
    stage = np.where(contact | bought, "expectation", "suspect").astype("<U15")
    stage[active] = "first_purchase"
    stage[active & repeat] = "repeat_purchase"
    stage[active & repeat & advocate] = "advocate"
    return stage


@dataclass(frozen=True)
class PurchaseCycles:
    """Each customer's purchase history as of a date, in terms of cycles."""

    purchase_days: np.ndarray  # distinct purchase days up to the date
    current_cycle_days: np.ndarray  # purchase days in the open cycle (0 if none is open)
    repeat_in_current_cycle: np.ndarray  # the open cycle has two purchase days or more
    days_since_last_purchase: np.ndarray  # NaN for customers who never bought
    won_on: np.ndarray  # second purchase day of the open cycle; NaT if none


def _distinct_purchase_days(
    purchase_dates: Sequence[ArrayLike], until: np.datetime64
) -> tuple[int, np.ndarray, np.ndarray]:
    """(customers, customer of each row, day of each row): the distinct purchase days up to
    ``until``, sorted by customer and then day."""
    # Converting each customer's dates is the one loop over customers; the rest is vectorised.
    arrays = [np.asarray(dates, dtype="datetime64[D]").reshape(-1) for dates in purchase_dates]
    n = len(arrays)
    counts = np.fromiter(map(len, arrays), dtype=np.int64, count=n)
    customer = np.repeat(np.arange(n), counts)
    dates = np.concatenate(arrays) if n else np.zeros(0, dtype="datetime64[D]")
    missing = np.isnat(dates)
    if missing.any():
        raise ValueError(
            f"purchase_dates of customer #{customer[missing][0]} contain a missing date (NaT)"
        )
    keep = dates <= until
    customer, days = customer[keep], dates[keep].astype(np.int64)
    order = np.lexsort((days, customer))
    customer, days = customer[order], days[order]
    distinct = np.ones(len(days), dtype=bool)
    distinct[1:] = (customer[1:] != customer[:-1]) | (days[1:] != days[:-1])
    return n, customer[distinct], days[distinct]


def _cycles(customer: np.ndarray, days: np.ndarray, cycle_days: float):
    """Per row: the index of its cycle, and its position (0, 1, ...) within the cycle; and
    the row at which each cycle starts."""
    opens = np.ones(len(days), dtype=bool)
    opens[1:] = (customer[1:] != customer[:-1]) | (np.diff(days) > cycle_days)
    starts = np.flatnonzero(opens)
    cycle = np.cumsum(opens) - 1
    return cycle, np.arange(len(days)) - starts[cycle], starts


def purchase_cycles(
    purchase_dates: Sequence[ArrayLike], *, cycle_days: float, as_of: np.datetime64
) -> PurchaseCycles:
    """Summarise each customer's purchase dates (one array of dates per customer) as of a
    date; purchases after ``as_of`` are left out."""
    cycle_days = _check_cycle_days(cycle_days)
    as_of = np.datetime64(as_of, "D")
    n, customer, days = _distinct_purchase_days(purchase_dates, as_of)
    cycle, _, starts = _cycles(customer, days, cycle_days)

    last = np.ones(len(days), dtype=bool)
    last[:-1] = customer[1:] != customer[:-1]
    who = customer[last]
    since = np.full(n, np.nan)
    since[who] = as_of.astype(np.int64) - days[last]
    cycle_length = np.bincount(cycle, minlength=len(starts))
    current = np.zeros(n, dtype=np.int64)
    current[who] = np.where(since[who] <= cycle_days, cycle_length[cycle[last]], 0)
    won_on = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    won = current >= 2
    second_rows = (starts[cycle[last]] + 1)[won[who]]  # customers in ascending order
    won_on[won] = days[second_rows].astype("datetime64[D]")
    return PurchaseCycles(
        purchase_days=np.bincount(customer, minlength=n),
        current_cycle_days=current,
        repeat_in_current_cycle=won,
        days_since_last_purchase=since,
        won_on=won_on,
    )


def newly_won(
    purchase_dates: Sequence[ArrayLike],
    *,
    cycle_days: float,
    start: np.datetime64,
    end: np.datetime64,
) -> np.ndarray:
    """Whether each customer was won between ``start`` and ``end`` (both included): whether
    the second purchase day of one of their cycles falls in that period.

    Purchases after ``end`` cannot change where earlier cycles begin, so they are ignored.
    """
    cycle_days = _check_cycle_days(cycle_days)
    start, end = np.datetime64(start, "D"), np.datetime64(end, "D")
    n, customer, days = _distinct_purchase_days(purchase_dates, end)
    _, position, _ = _cycles(customer, days, cycle_days)
    won = (position == 1) & (days >= start.astype(np.int64))
    result = np.zeros(n, dtype=bool)
    result[customer[won]] = True
    return result
