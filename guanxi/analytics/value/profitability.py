"""Customer profitability: activity-based cost to serve, profit, and the whale curve.

Gross margin says what a customer's purchases earn; it does not say what serving them costs.
Activity-based costing (Kaplan & Cooper 1998, "Cost & Effect"; Kaplan & Anderson 2004,
"Time-driven activity-based costing", Harvard Business Review) charges each customer for the
activities they cause — calls and visits, support tickets, orders handled — at a cost per
unit of activity, so that profit = gross margin − cost to serve.

Ranked from most to least profitable, the cumulative profit of the customers plotted against
their cumulative share of the customer base is the *whale curve* (Kaplan & Narayanan 2001,
"Measuring and managing customer profitability", Journal of Cost Management). Because the
unprofitable customers come last, it rises above 100 % of total profit and falls back to
100 % at the end; a typical finding is that the most profitable 20 % of customers earn 150 to
300 % of the total, the middle 70 % about break even and the least profitable 10 % lose
50 to 200 % of it again (Kaplan & Cooper 1998).
"""

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ._checks import as_floats, fail, same_length


def cost_to_serve(
    activity_counts: Mapping[str, ArrayLike], unit_costs: Mapping[str, float]
) -> np.ndarray:
    """Σ over activities of (activity count × unit cost), per customer.

    ``activity_counts`` maps an activity name to one count per customer; every activity in it
    needs a unit cost in ``unit_costs`` (a ValueError names the ones missing), while unit
    costs of activities that did not happen are simply not used. Counts and unit costs must
    be finite and 0 or more.
    """
    if not activity_counts:
        raise ValueError("activity_counts is empty: at least one activity is needed")
    missing = [name for name in activity_counts if name not in unit_costs]
    if missing:
        raise ValueError(f"no unit cost for activity {', '.join(map(repr, missing))}")
    counts = {name: as_floats(name, values) for name, values in activity_counts.items()}
    n = same_length(**counts)
    total = np.zeros(n)
    for name, count in counts.items():
        if (count < 0).any():
            fail(name, count < 0, count, "be 0 or more")
        unit_cost = float(unit_costs[name])
        if not (np.isfinite(unit_cost) and unit_cost >= 0):
            raise ValueError(f"unit cost of {name!r} must be finite and 0 or more: {unit_cost}")
        total += count * unit_cost
    return total


def profit(gross_margin: ArrayLike, cost: ArrayLike) -> np.ndarray:
    """Customer profit: gross margin less cost to serve."""
    margin = as_floats("gross_margin", gross_margin)
    cost = as_floats("cost", cost)
    same_length(gross_margin=margin, cost=cost)
    return margin - cost


@dataclass(frozen=True)
class WhaleSummary:
    """The whale curve in a few numbers (shares as fractions; NaN where undefined)."""

    top_customer_share: float
    top_profit_share: float  # of total profit, earned by the top customers
    peak_height: float  # highest cumulative profit, as a share of total profit
    peak_customer_share: float  # the share of customers (best first) at which it peaks
    loss_making_share: float  # customers with negative profit
    total_profit: float

    def __str__(self) -> str:
        if np.isnan(self.loss_making_share):
            return "No customers."
        losing = f"{self.loss_making_share:.0%} of customers lose money."
        peak = f"the top {self.peak_customer_share:.0%} of customers"
        if not self.total_profit > 0:
            return (
                f"Total profit is {self.total_profit:,.2f}, so profit shares are undefined; "
                f"cumulative profit is highest with {peak}; {losing}"
            )
        return (
            f"The top {self.top_customer_share:.0%} of customers make "
            f"{self.top_profit_share:.0%} of total profit; cumulative profit peaks at "
            f"{self.peak_height:.0%} of the total with {peak}; {losing}"
        )


@dataclass(frozen=True)
class WhaleCurve:
    """Points of the whale curve, starting at the origin: element k is the top k customers.

    ``customer_share`` and ``cumulative_profit`` have n + 1 elements; ``profit_share`` is
    cumulative profit over total profit and ends at exactly 1. When total profit is 0 or
    less a share of it means nothing, so ``profit_share`` and ``peak_height`` are NaN; the
    absolute curve and the peak's position are still given. With no customers the curve is
    the origin alone and every share is NaN.
    """

    order: np.ndarray  # customer positions, most profitable first
    customer_share: np.ndarray
    cumulative_profit: np.ndarray
    profit_share: np.ndarray
    total_profit: float
    peak_height: float
    peak_customer_share: float
    loss_making_share: float

    def profit_share_of_top(self, share: float) -> float:
        """Share of total profit earned by the top ``share`` of customers, interpolating
        linearly between customers."""
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"share must be between 0 and 1, not {share}")
        if not self.total_profit > 0:
            return float("nan")
        return float(np.interp(share, self.customer_share, self.profit_share))

    def summary(self, top_share: float = 0.2) -> WhaleSummary:
        return WhaleSummary(
            top_customer_share=top_share,
            top_profit_share=self.profit_share_of_top(top_share),
            peak_height=self.peak_height,
            peak_customer_share=self.peak_customer_share,
            loss_making_share=self.loss_making_share,
            total_profit=self.total_profit,
        )


def whale_curve(profits: ArrayLike) -> WhaleCurve:
    """The whale curve of the customers' profits."""
    profits = as_floats("profits", profits)
    n = len(profits)
    order = np.argsort(-profits, kind="stable")
    cumulative = np.concatenate([[0.0], np.cumsum(profits[order])])
    # The last cumulative value is the total, so the curve ends at exactly 100 %.
    total = float(cumulative[-1])
    if n == 0:
        nan = float("nan")
        return WhaleCurve(order, np.zeros(1), cumulative, np.full(1, nan), 0.0, nan, nan, nan)
    customer_share = np.arange(n + 1) / n
    peak = int(np.argmax(cumulative))  # the first peak, should the curve plateau
    if total > 0:
        profit_share = cumulative / total
        peak_height = float(profit_share[peak])
    else:
        profit_share = np.full(n + 1, np.nan)
        peak_height = float("nan")
    return WhaleCurve(
        order=order,
        customer_share=customer_share,
        cumulative_profit=cumulative,
        profit_share=profit_share,
        total_profit=total,
        peak_height=peak_height,
        peak_customer_share=float(customer_share[peak]),
        loss_making_share=float(np.count_nonzero(profits < 0) / n),
    )
