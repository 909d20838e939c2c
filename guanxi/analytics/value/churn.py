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

Two more signals come from the service desk, for every customer whether they bought or not
(:func:`service_signals`, added to the purchase warnings by :func:`with_service_signals`):

- ``complaints``: a complaint of the last 90 days is still open, or the customer made
  ``repeat_complaints`` (2) or more complaints in those 90 days;
- ``poor_survey``: the latest satisfaction survey the customer answered in the last 180 days
  scored ``poor_score`` (2) or less, out of 5.

A customer keeps one reason, stored in 25 characters, so the reasons do not all combine: a
service signal takes the place of a purchase reason, because it names something the account
manager can act on now (the complaint, the bad experience), where the purchase signals only
say that the customer has gone quiet.
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
    "complaints": "Open or repeated complaints",
    "poor_survey": "Poor satisfaction after service",
    "complaints+poor_survey": "Open or repeated complaints, and poor satisfaction after service",
}
# The longest reason key; the stored column holds 25 characters.
REASON_LENGTH = max(len(key) for key in REASONS)

# The windows the service signals look back over, in days up to and including the as-of day.
COMPLAINT_WINDOW_DAYS = 90
SURVEY_WINDOW_DAYS = 180


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
    reason = np.full(len(alive), "", dtype=f"<U{REASON_LENGTH}")
    reason[low] = "p_alive_low"
    reason[overdue] = "overdue"
    reason[low & overdue] = "p_alive_low+overdue"
    flagged = low | overdue
    return ChurnWarnings(flagged, reason, np.where(flagged, value, 0.0))


@dataclass(frozen=True)
class ServiceSignals:
    complaints: np.ndarray  # bool: an open or repeated recent complaint
    poor_survey: np.ndarray  # bool: the latest recent survey scored poorly


def service_signals(
    complaints: ArrayLike,
    open_complaints: ArrayLike,
    latest_score: ArrayLike,
    *,
    repeat_complaints: int = 2,
    poor_score: int = 2,
) -> ServiceSignals:
    """The service desk's signals from each customer's complaints of the complaint window
    (``complaints``, of which ``open_complaints`` are not yet resolved) and the score of the
    latest survey they answered in the survey window (``latest_score``, NaN without one).

    ``complaints`` is raised by one open complaint, or by ``repeat_complaints`` complaints
    whatever their status; ``poor_survey`` by a latest score of ``poor_score`` or less.
    """
    made = as_floats("complaints", complaints)
    still_open = as_floats("open_complaints", open_complaints)
    score = as_floats("latest_score", latest_score, allow_nan=True)
    same_length(complaints=made, open_complaints=still_open, latest_score=score)
    if repeat_complaints < 1:
        raise ValueError(f"repeat_complaints must be 1 or more, not {repeat_complaints}")
    if not 1 <= poor_score <= 5:
        raise ValueError(f"poor_score must be between 1 and 5, not {poor_score}")
    if (made < 0).any():
        fail("complaints", made < 0, made, "be 0 or more")
    if ((still_open < 0) | (still_open > made)).any():
        bad = (still_open < 0) | (still_open > made)
        fail("open_complaints", bad, still_open, "be between 0 and the complaints")
    if ((score < 1) | (score > 5)).any():  # NaN compares false: no survey answered
        fail("latest_score", (score < 1) | (score > 5), score, "be a score from 1 to 5 (or NaN)")
    return ServiceSignals(
        complaints=(still_open >= 1) | (made >= repeat_complaints),
        poor_survey=score <= poor_score,  # NaN compares false: no survey, no signal
    )


def with_service_signals(
    warnings: ChurnWarnings, signals: ServiceSignals, value: ArrayLike
) -> ChurnWarnings:
    """The purchase warnings with the service signals added: a customer with either signal is
    flagged with its reason in place of a purchase reason (see the module's docstring), and
    its ``value`` is at risk."""
    complaints = as_bools("complaints", signals.complaints)
    poor = as_bools("poor_survey", signals.poor_survey)
    value = as_floats("value", value)
    flagged = as_bools("flagged", warnings.flagged)
    same_length(
        flagged=flagged,
        reason=warnings.reason,
        complaints=complaints,
        poor_survey=poor,
        value=value,
    )
    service = complaints | poor
    reason = warnings.reason.astype(f"<U{REASON_LENGTH}")
    reason[complaints] = "complaints"
    reason[poor] = "poor_survey"
    reason[complaints & poor] = "complaints+poor_survey"
    at_risk = np.where(service, value, warnings.value_at_risk)
    return ChurnWarnings(flagged | service, reason, at_risk)


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
