"""RFM scoring and segments: recency, frequency and monetary value, each scored 1 to 5.

RFM analysis (Hughes 1994, "Strategic Database Marketing") scores each customer on how
recently they bought, how often and how much, by quintile of the customer base, and reads
segments off the scores. Here:

- only customers who bought (frequency > 0) are scored; the others get 0 in all three scores
  and the segment ``"none"``, so that a large base of non-buyers does not squash the buyers
  into the top quintiles;
- scores are rank-based, so quintiles hold equal numbers of customers whatever the
  distribution of the values (spend is heavily skewed; cutting its range into five equal
  intervals would put nearly everyone in score 1);
- fewer days since the last purchase is better, so recency is ranked in reverse;
- ties: customers with equal values share a score, given by the quintile in which the middle
  of the positions they jointly occupy falls. With distinct values the quintiles differ in
  size by at most one; a tie only moves the customers of that tie. Everyone tied (one buyer,
  or all spending the same) scores 3, the middle.

Segments follow the eleven-segment table popularised by Putler ("RFM analysis for successful
customer segmentation") and reproduced in the vignette of the R package ``rfm`` (Hebbali),
which gives each segment a range of R and of F/M scores. Those ranges overlap (a customer
with R = 5 and F/M = 5 fits both "champions" and "loyal"), so :data:`SEGMENT_GRID` below gives
each (R, F/M) cell to one segment whose published ranges contain it. The combined F/M score
is the mean of F and M rounded half up.
"""

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ._checks import as_floats, fail, same_length, tie_midpoints

# Not given by the scores: the caller's segment for customers who bought, but not in the
# currency the frequency and money are counted in, so scored 0 like non-buyers.
OTHER_CURRENCIES = "other_currencies"

SEGMENTS = {
    "champions": "Champions",
    "loyal": "Loyal",
    "potential_loyalist": "Potential loyalist",
    "new_customer": "New customer",
    "promising": "Promising",
    "need_attention": "Needs attention",
    "about_to_sleep": "About to sleep",
    "at_risk": "At risk",
    "cannot_lose": "Cannot lose them",
    "hibernating": "Hibernating",
    "lost": "Lost",
    "none": "No purchases",
    OTHER_CURRENCIES: "Bought only in other currencies",
}

# Rows R = 5 down to R = 1, columns F/M = 1 to 5. Every cell lies inside the published R and
# F/M ranges of the segment it names (e.g. at_risk: R ≤ 2, F/M 2-5; cannot_lose: R ≤ 1,
# F/M 4-5, so it takes R = 1's best cells and at_risk the rest).
SEGMENT_GRID = (
    ("new_customer", "potential_loyalist", "potential_loyalist", "champions", "champions"),
    ("promising", "potential_loyalist", "potential_loyalist", "champions", "champions"),
    ("about_to_sleep", "need_attention", "loyal", "loyal", "loyal"),
    ("hibernating", "hibernating", "at_risk", "at_risk", "at_risk"),
    ("lost", "lost", "at_risk", "cannot_lose", "cannot_lose"),
)

# The lookup table indexed [R, F/M], with row and column 0 for non-buyers.
_LOOKUP = np.full((6, 6), "none", dtype="<U18")
_LOOKUP[1:, 1:] = np.array(SEGMENT_GRID[::-1])


@dataclass(frozen=True)
class RfmScores:
    """Scores 1..5 per customer (0 for customers without purchases)."""

    r: np.ndarray
    f: np.ndarray
    m: np.ndarray


def quintile_scores(values: np.ndarray) -> np.ndarray:
    """Scores 1..5 by quintile of rank, higher values scoring higher; ties share a score.

    A customer whose (tie group's) middle position p in [0, n) satisfies
    k·n/5 ≤ p < (k+1)·n/5 scores k + 1; in integers, with 2p from :func:`tie_midpoints`,
    that is ⌊5·2p / 2n⌋ + 1.
    """
    n = len(values)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    twice_middle = tie_midpoints(values, descending=False)
    return (5 * twice_middle) // (2 * n) + 1


def rfm_scores(recency_days: ArrayLike, frequency: ArrayLike, monetary: ArrayLike) -> RfmScores:
    """Score every customer's recency (days since the last purchase), frequency (number of
    purchases) and monetary value (spend) against the other buyers.

    Customers with frequency 0 are non-buyers and score 0 everywhere; their recency and
    monetary value are ignored and may be NaN.
    """
    recency = as_floats("recency_days", recency_days, allow_nan=True)
    frequency = as_floats("frequency", frequency)
    monetary = as_floats("monetary", monetary, allow_nan=True)
    n = same_length(recency_days=recency, frequency=frequency, monetary=monetary)
    if (frequency < 0).any():
        fail("frequency", frequency < 0, frequency, "be 0 or more")
    buyers = frequency > 0
    for name, values in (("recency_days", recency), ("monetary", monetary)):
        if np.isnan(values[buyers]).any():
            fail(name, buyers & np.isnan(values), values, "be a number for customers who bought")
    if (buyers & (recency < 0)).any():
        fail("recency_days", buyers & (recency < 0), recency, "be 0 or more")

    scores = []
    for values in (-recency, frequency, monetary):  # fewer days since buying is better
        score = np.zeros(n, dtype=np.int64)
        score[buyers] = quintile_scores(values[buyers])
        scores.append(score)
    return RfmScores(*scores)


def _as_scores(name: str, values: ArrayLike) -> np.ndarray:
    scores = as_floats(name, values)
    bad = (scores != np.round(scores)) | (scores < 0) | (scores > 5)
    if bad.any():
        fail(name, bad, scores, "be a whole score from 0 to 5")
    return scores.astype(np.int64)


def rfm_segments(r: ArrayLike, f: ArrayLike, m: ArrayLike) -> np.ndarray:
    """The segment key (a key of :data:`SEGMENTS`) of each customer, from their scores.

    A 0 in any score marks a customer without purchases: segment ``"none"``.
    """
    r, f, m = _as_scores("r", r), _as_scores("f", f), _as_scores("m", m)
    same_length(r=r, f=f, m=m)
    combined = (f + m + 1) // 2  # the mean of F and M, rounded half up
    combined[(f == 0) | (m == 0)] = 0
    return _LOOKUP[r, combined]
