"""Churn early warnings: which customers look lost, why, and how much value is at stake.

Three signals, any of which raises a warning:

- ``p_alive_low``: the BG/NBD probability that the customer is still active (see
  :mod:`guanxi.analytics.clv.bgnbd`) is below a threshold. It weighs the silence since the
  last purchase against the customer's own past rhythm and the population's, so it is the
  better signal when the model fits;
- ``overdue``: the days since the last purchase exceed ``overdue_margin`` times the customer's
  mean inter-purchase time. A plain rule of thumb a sales rep can check by hand, and a
  safeguard when the model is off for some part of the base. It needs two purchases at
  least: customers with a single purchase have no inter-purchase time (pass NaN);
- ``no_repeat``: a customer with a single purchase has not come back after ``no_repeat_days``
  (:func:`no_repeat_days`: a high percentile of the days the customers who did buy again took
  from their first purchase to their second, times a margin). Neither signal above can catch
  them: BG/NBD counts no one as lost before a repeat purchase (its ``p_alive`` is 1 for a
  single purchase) and there is no rhythm to be overdue against, yet the customer who bought
  once two years ago and never again is the one an early warning is for. With too few repeat
  buyers there is no threshold (NaN) and no one is flagged: nothing says yet how long a second
  purchase takes.

A purchase, for these three signals, is a completed order in any currency (cancelled and
refunded orders are none, as everywhere): they ask whether the customer is still buying, and a
customer who bought in CNY two years ago and in USD last week is. So the days since the last
purchase, the number of purchase days, the mean inter-purchase time and the first-to-second
gaps behind ``no_repeat_days`` count every currency, while the money (lifetime value, margins,
value at risk, tiers) stays in the settings currency, unconverted. P(alive) is the exception:
it comes from the purchase model, fitted on the settings currency's purchases like every value
figure, and refitting it on other inputs would change them all. It is kept, but says nothing
of a customer who has bought since the last purchase the model saw (``p_alive_saw_last``
false): its low probability is then about a silence that has already ended. A customer who
buys only in other currencies is judged by the other two signals, with nothing at risk.

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

from guanxi.analytics.clv.lifetime_value import MIN_REPEAT_BUYERS

from ._checks import as_bools, as_floats, as_labels, check_share, fail, same_length

REASONS = {
    "": "No warning",
    "p_alive_low": "Probably no longer active",
    "overdue": "Next purchase overdue",
    "p_alive_low+overdue": "Probably no longer active, and next purchase overdue",
    "no_repeat": "No second purchase in the usual time",
    "p_alive_low+no_repeat": "Probably no longer active, and no second purchase in the usual time",
    "complaints": "Open or repeated complaints",
    "poor_survey": "Poor satisfaction after service",
    "complaints+poor_survey": "Open or repeated complaints, and poor satisfaction after service",
}
# The longest reason key; the stored column holds 25 characters.
REASON_LENGTH = max(len(key) for key in REASONS)

# The windows the service signals look back over, in days up to and including the as-of day.
COMPLAINT_WINDOW_DAYS = 90
SURVEY_WINDOW_DAYS = 180

# The repeat buyers needed before their first-to-second gaps say how long a second purchase
# takes: as many as the lifetime value models need to be fitted at all. A 90th percentile of a
# handful of gaps is one customer's whim.
NO_REPEAT_MIN_REPEAT_BUYERS = MIN_REPEAT_BUYERS


@dataclass(frozen=True)
class ChurnWarnings:
    flagged: np.ndarray  # bool
    reason: np.ndarray  # a key of REASONS; "" when not flagged
    value_at_risk: np.ndarray


def no_repeat_days(
    first_repeat_gaps: ArrayLike,
    *,
    percentile: float = 90.0,
    margin: float = 1.5,
    min_repeat_buyers: int = NO_REPEAT_MIN_REPEAT_BUYERS,
) -> float:
    """The days after a single purchase beyond which a customer who has not bought again is
    flagged ``no_repeat``: the ``percentile`` of ``first_repeat_gaps`` (one per customer who
    bought again: the days from their first purchase day to their second) times ``margin``;
    NaN, which flags no one, with fewer than ``min_repeat_buyers`` gaps.

    The percentile is interpolated between the nearest gaps (numpy's default). The margin
    allows for the gaps running short: only the returns that fit in the history so far are
    seen, and a customer who would come back after longer has not yet.
    """
    gaps = as_floats("first_repeat_gaps", first_repeat_gaps)
    if not (np.isfinite(percentile) and 0 < percentile <= 100):
        raise ValueError(f"percentile must be more than 0 and at most 100, not {percentile}")
    if not (np.isfinite(margin) and margin > 0):
        raise ValueError(f"margin must be a positive number, not {margin}")
    if min_repeat_buyers < 1:
        raise ValueError(f"min_repeat_buyers must be 1 or more, not {min_repeat_buyers}")
    if (gaps <= 0).any():
        fail("first_repeat_gaps", gaps <= 0, gaps, "be positive (a second purchase day is later)")
    if len(gaps) < min_repeat_buyers:
        return float("nan")
    return float(np.percentile(gaps, percentile)) * margin


def churn_warnings(
    p_alive: ArrayLike,
    days_since_last: ArrayLike,
    mean_interpurchase_days: ArrayLike,
    value: ArrayLike,
    *,
    p_alive_threshold: float = 0.5,
    overdue_margin: float = 1.5,
    no_repeat_days: float = float("nan"),
    p_alive_saw_last: ArrayLike | None = None,
) -> ChurnWarnings:
    """Flag customers with ``p_alive`` strictly below the threshold, with strictly more than
    ``overdue_margin`` × their mean inter-purchase days since their last purchase, or, with a
    single purchase (NaN mean inter-purchase days), strictly more than ``no_repeat_days``
    since it (NaN, the default: no threshold, no such warning; infinity flags no one either).

    ``p_alive_saw_last`` (default: true for everyone) says whose ``p_alive`` was computed from
    a history that ends with their latest purchase; where it is false the customer has bought
    since, and ``p_alive`` raises no warning (see the module's docstring).

    A customer exactly at any limit is not flagged.
    """
    alive = as_floats("p_alive", p_alive)
    since = as_floats("days_since_last", days_since_last)
    gap = as_floats("mean_interpurchase_days", mean_interpurchase_days, allow_nan=True)
    value = as_floats("value", value)
    same_length(p_alive=alive, days_since_last=since, mean_interpurchase_days=gap, value=value)
    if p_alive_saw_last is None:
        saw_last = np.ones(len(alive), dtype=bool)
    else:
        saw_last = as_bools("p_alive_saw_last", p_alive_saw_last)
        same_length(p_alive=alive, p_alive_saw_last=saw_last)
    check_share("p_alive_threshold", p_alive_threshold)
    if not (np.isfinite(overdue_margin) and overdue_margin > 0):
        raise ValueError(f"overdue_margin must be a positive number, not {overdue_margin}")
    # Infinity is a wait no one has outlasted: a margin the settings accept can make the
    # percentile times the margin overflow, and that must flag no one, not stop the refresh.
    if not (np.isnan(no_repeat_days) or no_repeat_days > 0):
        raise ValueError(f"no_repeat_days must be a positive number or NaN, not {no_repeat_days}")
    if ((alive < 0) | (alive > 1)).any():
        fail("p_alive", (alive < 0) | (alive > 1), alive, "be a probability between 0 and 1")
    if (since < 0).any():
        fail("days_since_last", since < 0, since, "be 0 or more")
    if (gap <= 0).any():  # NaN compares false, as it should: one purchase only
        fail("mean_interpurchase_days", gap <= 0, gap, "be positive (or NaN)")

    low = (alive < p_alive_threshold) & saw_last
    overdue = since > overdue_margin * gap  # NaN gaps compare false: never overdue
    # A NaN threshold compares false: no one-time buyer is flagged without one.
    no_repeat = np.isnan(gap) & (since > no_repeat_days)
    reason = np.full(len(alive), "", dtype=f"<U{REASON_LENGTH}")
    reason[low] = "p_alive_low"
    reason[overdue] = "overdue"
    reason[no_repeat] = "no_repeat"
    reason[low & overdue] = "p_alive_low+overdue"
    reason[low & no_repeat] = "p_alive_low+no_repeat"
    flagged = low | overdue | no_repeat
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
