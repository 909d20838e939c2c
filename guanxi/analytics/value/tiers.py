"""Customer tiers: by value (the customer pyramid), by business volume, by current and
potential value, and the movements between tiers from one run to the next.

The gold/iron/lead pyramid is from Zeithaml, Rust & Lemon (2001), "The customer pyramid:
creating and serving profitable customers", California Management Review 43(4): rank customers
by profitability (or lifetime value), serve the top differently from the bottom, and treat
customers who cost more than they bring (lead) as a group of their own. The current/potential
value quadrant follows the usual two-by-two of current value against growth potential.

Rankings treat ties alike everywhere in this package: equal values get the same tier, placed
by the middle of the ranking positions the tied customers jointly occupy (see
:func:`._checks.tie_midpoints`). With distinct values every share is met exactly.
"""

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ._checks import (
    as_bools,
    as_floats,
    as_labels,
    check_share,
    count_of,
    same_length,
    tie_midpoints,
)

PARETO_TIERS = {"gold": "Gold", "iron": "Iron", "lead": "Lead"}
VOLUME_TIERS = {"high": "High volume", "medium": "Medium volume", "low": "Low volume"}
QUADRANTS = {
    "keep": "Keep (high current, high potential)",
    "invest": "Invest (low current, high potential)",
    "maintain": "Maintain (high current, low potential)",
    "minimise": "Minimise (low current, low potential)",
}


def _top_and_bottom(
    values: np.ndarray, top_share: float, bottom_share: float
) -> tuple[np.ndarray, np.ndarray]:
    """Masks of the top ``top_share`` and bottom ``bottom_share`` of customers by value.

    Counts are share × n rounded half up; when both round up past n the top keeps its count
    and the bottom gets what is left, so no customer is in both.
    """
    n = len(values)
    top = count_of(top_share, n)
    bottom = min(count_of(bottom_share, n), n - top)
    twice_middle = tie_midpoints(values, descending=True)
    return twice_middle < 2 * top, twice_middle >= 2 * (n - bottom)


def pareto_tiers(
    values: ArrayLike,
    gold_share: float = 0.2,
    lead_share: float = 0.3,
    *,
    ranked: ArrayLike | None = None,
    losing: ArrayLike | None = None,
) -> np.ndarray:
    """Gold, iron or lead for each customer, by value (profit or lifetime value).

    Only the ``ranked`` customers (default: all) are placed in the pyramid: the top
    ``gold_share`` of them by value are gold, the bottom ``lead_share`` lead, the rest iron.
    A customer with no purchase among the values (who never bought, or bought only in
    currencies the values leave out) has no value to rank, and counting the many such
    customers would make the bottom of the pyramid a block of tied zeros: they stay untiered
    (""). Which of the two an untiered customer is, the caller knows and says.

    Any ``losing`` customer (default: a negative value) is lead whatever their rank, ranked
    or not: the pyramid's lead tier is about customers who cost more than they bring, and a
    base where most customers are unprofitable should not call its least bad ones gold. Ties
    follow the module's rule, so a tie across the gold cut-off is gold or iron as a group.
    """
    values = as_floats("values", values)
    check_share("gold_share", gold_share)
    check_share("lead_share", lead_share)
    ranked = np.ones(len(values), dtype=bool) if ranked is None else as_bools("ranked", ranked)
    losing = values < 0 if losing is None else as_bools("losing", losing)
    same_length(values=values, ranked=ranked, losing=losing)
    tiers = np.full(len(values), "", dtype="<U4")
    gold, lead = _top_and_bottom(values[ranked], gold_share, lead_share)
    tiers[ranked] = np.where(lead, "lead", np.where(gold, "gold", "iron"))
    tiers[losing] = "lead"
    return tiers


def volume_tiers(
    sales: ArrayLike,
    volume: ArrayLike,
    high_share: float = 0.2,
    low_share: float = 0.5,
    *,
    head_sales_share: float = 0.8,
) -> np.ndarray:
    """High, medium or low business volume for each customer, by sales and order count.

    The *sales head* are the customers who, taken from the largest sales down, make up the
    first ``head_sales_share`` (80 %) of total sales: a customer is in it when the customers
    with strictly larger sales add up to less than that share, so the customer who crosses the
    line is in and equal sales are all in or all out. Then:

    - high: in the sales head and among the top ``high_share`` (20 %) of customers by volume;
    - low: outside the sales head and among the bottom ``low_share`` (50 %) by volume;
    - medium: everyone else (big accounts that order rarely, small ones that order often).

    Both conditions are needed because each alone misleads: one large order makes a big
    account of a customer seen once, and many tiny orders make a busy one of a small account.
    With total sales of 0 or less there is no share of sales to speak of, so no one is in the
    head (no one is high).
    """
    sales = as_floats("sales", sales)
    volume = as_floats("volume", volume)
    same_length(sales=sales, volume=volume)
    for name, share in (
        ("high_share", high_share),
        ("low_share", low_share),
        ("head_sales_share", head_sales_share),
    ):
        check_share(name, share)

    distinct, inverse = np.unique(-sales, return_inverse=True)  # largest sales first
    group_totals = np.bincount(inverse.reshape(-1), weights=sales, minlength=len(distinct))
    sales_before = np.cumsum(group_totals) - group_totals
    total = group_totals.sum()
    head = (sales_before < head_sales_share * total)[inverse.reshape(-1)] & (total > 0)

    busiest, quietest = _top_and_bottom(volume, high_share, low_share)
    return np.where(head & busiest, "high", np.where(~head & quietest, "low", "medium"))


def value_quadrant(
    current_value: ArrayLike,
    potential_value: ArrayLike,
    current_cut: float | None = None,
    potential_cut: float | None = None,
) -> np.ndarray:
    """Invest, keep, maintain or minimise for each customer.

    Current value is high when strictly above ``current_cut`` and potential value likewise;
    a customer exactly at a cut counts as low. Cuts default to the medians of the values
    given, so with distinct values about half the customers are high on each axis.
    """
    current = as_floats("current_value", current_value)
    potential = as_floats("potential_value", potential_value)
    n = same_length(current_value=current, potential_value=potential)
    if n == 0:
        return np.zeros(0, dtype="<U8")
    if current_cut is None:
        current_cut = float(np.median(current))
    if potential_cut is None:
        potential_cut = float(np.median(potential))
    for name, cut in (("current_cut", current_cut), ("potential_cut", potential_cut)):
        if not np.isfinite(cut):
            raise ValueError(f"{name} must be a finite number, not {cut}")
    high_current = current > current_cut
    high_potential = potential > potential_cut
    return np.where(
        high_potential,
        np.where(high_current, "keep", "invest"),
        np.where(high_current, "maintain", "minimise"),
    )


@dataclass(frozen=True)
class TierChanges:
    """The customers (by position) whose tier changed, with their old and new tiers."""

    indices: np.ndarray
    previous: np.ndarray
    current: np.ndarray

    def __len__(self) -> int:
        return len(self.indices)

    def pairs(self) -> list[tuple[int, str, str]]:
        """(position, from, to) for each change, ready to be written as movement records."""
        return [
            (int(i), str(a), str(b))
            for i, a, b in zip(self.indices, self.previous, self.current, strict=True)
        ]


def tier_changes(previous: ArrayLike, current: ArrayLike) -> TierChanges:
    """Compare two tier assignments of the same customers, in the same order."""
    previous = as_labels("previous", previous)
    current = as_labels("current", current)
    same_length(previous=previous, current=current)
    changed = np.flatnonzero(previous != current)
    return TierChanges(changed, previous[changed], current[changed])
