"""Churn early warnings: which customers look lost, why, and how much value is at stake.

Two signals, either of which raises a warning:

- ``p_alive_low``: the BG/NBD probability that the customer is still active (see
  :mod:`guanxi.analytics.clv.bgnbd`) is below a threshold. It weighs the silence since the
  last purchase against the customer's own past rhythm and the population's, so it is the
  better signal when the model fits;
- ``overdue``: the days since the last purchase exceed ``overdue_margin`` times the customer's
  mean inter-purchase time. A plain rule of thumb a sales rep can check by hand, and a
  safeguard when the model is off for some part of the base. It needs two purchases at
  least: customers with a single purchase have no inter-purchase time (pass NaN) and are
  judged by ``p_alive`` alone.

The value at risk of a flagged customer is the value passed in (a lifetime value, or the
margin of the last year); it is 0 for customers without a warning, so it sums to the value
at stake across the base.
"""

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ._checks import as_bools, as_floats, as_labels, check_share, fail, same_length

REASONS = {
    "": "No warning",
    "p_alive_low": "Probably no longer active",
    "overdue": "Next purchase overdue",
    "p_alive_low+overdue": "Probably no longer active, and next purchase overdue",
}


@dataclass(frozen=True)
class ChurnWarnings:
    flagged: np.ndarray  # bool
    reason: np.ndarray  # a key of REASONS; "" when not flagged
    value_at_risk: np.ndarray


def churn_warnings(
    p_alive: ArrayLike,
    days_since_last: ArrayLike,
    mean_interpurchase_days: ArrayLike,
    value: ArrayLike,
    *,
    p_alive_threshold: float = 0.5,
    overdue_margin: float = 1.5,
) -> ChurnWarnings:
    """Flag customers with ``p_alive`` strictly below the threshold, or with strictly more
    than ``overdue_margin`` × their mean inter-purchase days since their last purchase.

    A customer exactly at either limit is not flagged.
    """
    alive = as_floats("p_alive", p_alive)
    since = as_floats("days_since_last", days_since_last)
    gap = as_floats("mean_interpurchase_days", mean_interpurchase_days, allow_nan=True)
    value = as_floats("value", value)
    same_length(p_alive=alive, days_since_last=since, mean_interpurchase_days=gap, value=value)
    check_share("p_alive_threshold", p_alive_threshold)
    if not (np.isfinite(overdue_margin) and overdue_margin > 0):
        raise ValueError(f"overdue_margin must be a positive number, not {overdue_margin}")
    if ((alive < 0) | (alive > 1)).any():
        fail("p_alive", (alive < 0) | (alive > 1), alive, "be a probability between 0 and 1")
    if (since < 0).any():
        fail("days_since_last", since < 0, since, "be 0 or more")
    if (gap <= 0).any():  # NaN compares false, as it should: one purchase only
        fail("mean_interpurchase_days", gap <= 0, gap, "be positive (or NaN)")

    low = alive < p_alive_threshold
    overdue = since > overdue_margin * gap  # NaN gaps compare false: never overdue
    reason = np.full(len(alive), "", dtype="<U19")
    reason[low] = "p_alive_low"
    reason[overdue] = "overdue"
    reason[low & overdue] = "p_alive_low+overdue"
    flagged = low | overdue
    return ChurnWarnings(flagged, reason, np.where(flagged, value, 0.0))


def warning_order(
    tier: ArrayLike, value_at_risk: ArrayLike, flagged: ArrayLike | None = None
) -> np.ndarray:
    """Positions of the customers in the order to work through the warnings: gold customers
    first, then everyone else, each group by value at risk from largest down; equal values
    keep their original order.

    With ``flagged`` only the flagged customers are listed — without it every customer is, and
    an unflagged gold customer (value at risk 0) would come before any flagged iron one.
    """
    tier = as_labels("tier", tier)
    at_risk = as_floats("value_at_risk", value_at_risk)
    same_length(tier=tier, value_at_risk=at_risk)
    positions = np.arange(len(tier))
    if flagged is not None:
        mask = as_bools("flagged", flagged)
        same_length(tier=tier, flagged=mask)
        positions = positions[mask]
    # lexsort sorts by the last key first and is stable, so ties keep their positions.
    order = np.lexsort((-at_risk[positions], tier[positions] != "gold"))
    return positions[order]
