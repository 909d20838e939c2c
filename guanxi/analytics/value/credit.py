"""Credit ratings from payment behaviour, and which customers need approval before an order.

A rating summarises how a customer has paid their invoices: the share paid on time, the
worst delay, and whether what they owe exceeds their credit limit. The bands follow the
usual ageing buckets of receivables (current, 1-30, 31-60, 61-90 and over 90 days past due),
with over 90 days the customary mark of a doubtful debt. The defaults, all parameters:

- D: under 50 % paid on time, or anything more than 90 days overdue, or the amount
  outstanding above the credit limit;
- A: (not D and) at least 95 % paid on time and nothing more than 30 days overdue;
- B: (not D and) at least 80 % paid on time and nothing more than 60 days overdue;
- C: everyone else.

A customer without invoices has no payment record: pass NaN as their on-time share and they
are ``"unrated"`` — not punished as D, not trusted as A. The credit limit still applies to
them, so an unrated customer owing more than their limit is D.
"""

import numpy as np
from numpy.typing import ArrayLike

from ._checks import as_bools, as_floats, as_labels, fail, same_length

RATINGS = {
    "A": "A (pays reliably)",
    "B": "B (minor delays)",
    "C": "C (frequent or long delays)",
    "D": "D (high risk)",
    "unrated": "Unrated (no invoices yet)",
}


def credit_ratings(
    on_time_share: ArrayLike,
    max_days_overdue: ArrayLike,
    outstanding: ArrayLike,
    credit_limit: ArrayLike | None = None,
    *,
    a_on_time: float = 0.95,
    a_max_days: float = 30,
    b_on_time: float = 0.80,
    b_max_days: float = 60,
    d_on_time: float = 0.50,
    d_max_days: float = 90,
) -> np.ndarray:
    """The rating (a key of :data:`RATINGS`) of each customer.

    ``on_time_share`` is the share of invoices paid by their due date (NaN without
    invoices); ``max_days_overdue`` the longest delay, paid or still open. ``credit_limit``
    is optional, and NaN in it means no limit for that customer. A share at the threshold
    passes (≥), a delay at the threshold passes (≤), an amount at the limit passes.
    """
    on_time = as_floats("on_time_share", on_time_share, allow_nan=True)
    overdue = as_floats("max_days_overdue", max_days_overdue)
    owed = as_floats("outstanding", outstanding)
    n = same_length(on_time_share=on_time, max_days_overdue=overdue, outstanding=owed)
    if credit_limit is None:
        limit = np.full(n, np.nan)
    else:
        limit = as_floats("credit_limit", credit_limit, allow_nan=True)
        same_length(on_time_share=on_time, credit_limit=limit)
    if not 0 <= d_on_time <= b_on_time <= a_on_time <= 1:
        raise ValueError(
            "on-time thresholds must satisfy 0 ≤ d_on_time ≤ b_on_time ≤ a_on_time ≤ 1, not "
            f"{d_on_time}, {b_on_time}, {a_on_time}"
        )
    if not 0 <= a_max_days <= b_max_days <= d_max_days:
        raise ValueError(
            "day thresholds must satisfy 0 ≤ a_max_days ≤ b_max_days ≤ d_max_days, not "
            f"{a_max_days}, {b_max_days}, {d_max_days}"
        )
    bad = (on_time < 0) | (on_time > 1)
    if bad.any():
        fail("on_time_share", bad, on_time, "be a share between 0 and 1 (or NaN)")
    if (overdue < 0).any():
        fail("max_days_overdue", overdue < 0, overdue, "be 0 or more")

    unrated = np.isnan(on_time)
    over_limit = owed > limit  # NaN limits compare false: no limit
    worst = over_limit | (~unrated & ((on_time < d_on_time) | (overdue > d_max_days)))
    rating = np.full(n, "C", dtype="<U7")
    rating[(on_time >= b_on_time) & (overdue <= b_max_days)] = "B"
    rating[(on_time >= a_on_time) & (overdue <= a_max_days)] = "A"
    rating[unrated] = "unrated"
    rating[worst] = "D"
    return rating


def needs_approval(
    rating: ArrayLike, blacklisted: ArrayLike, *, unrated_needs_approval: bool = False
) -> np.ndarray:
    """Whether an order from each customer needs a manager's approval: rating D or on the
    blacklist. Unrated customers do not by default (a new customer's first order would always
    stall otherwise); set ``unrated_needs_approval`` to change that."""
    rating = as_labels("rating", rating)
    blocked = as_bools("blacklisted", blacklisted)
    same_length(rating=rating, blacklisted=blocked)
    unknown = ~np.isin(rating, list(RATINGS))
    if unknown.any():
        fail("rating", unknown, rating, f"be one of {', '.join(RATINGS)}")
    approval = (rating == "D") | blocked
    if unrated_needs_approval:
        approval |= rating == "unrated"
    return approval
