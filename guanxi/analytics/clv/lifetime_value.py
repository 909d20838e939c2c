"""Per-customer predictions and the discounted lifetime value, from the two fitted models.

The lifetime value over a horizon of H months is the usual discounted sum of expected
purchases (as in Fader, Hardie & Lee's iso-value paper, on a monthly grid):

    CLV = Σ_{k=1..H}  spend · (E[Y(k months)] − E[Y(k−1 months)]) / (1 + d)^k

with E[Y(t)] the BG/NBD expected purchases in the next t, ``spend`` the Gamma-Gamma expected
spend per purchase and d the monthly discount rate. It is revenue, not margin: multiply by a
margin to get profit. A month is 365.25/12 days.
"""

from dataclasses import dataclass

import numpy as np

from . import gamma_gamma
from .bgnbd import BgNbdParameters, expected_purchases_if_alive, probability_alive
from .gamma_gamma import GammaGammaParameters, expected_average_spend, pooled_average_spend
from .summary import TIME_UNITS, SummaryError, check_summary

DAYS_PER_MONTH = 365.25 / 12
# Fewer customers than this who bought more than once, and no predictions are made (the refresh
# does not even fit). BG/NBD has four parameters and Gamma-Gamma three, learnt from the repeat
# buyers; a handful of histories cannot pin them down, and whether the optimiser then happens to
# stop on a "maximum" (r and alpha in the millions, say) depends on rounding that differs from
# one processor to the next. The simulated 400-customer base of the tests has 245.
MIN_REPEAT_BUYERS = 20


# Which spend model priced the purchases: the fitted Gamma-Gamma, or the mean of all repeat
# purchases (:func:`.gamma_gamma.pooled_average_spend`) when the fit cannot be used.
GAMMA_GAMMA = "gamma_gamma"
POOLED_MEAN = "pooled_mean"


@dataclass(frozen=True)
class SpendModel:
    """The Gamma-Gamma fit (None when it could not be made) and, when it cannot price the
    purchases, why not."""

    fitted: gamma_gamma.GammaGammaFit | None
    problem: str = ""

    @property
    def parameters(self) -> GammaGammaParameters | None:
        """What :func:`customer_value` takes: the fit's parameters, or None for the mean."""
        return None if self.problem or self.fitted is None else self.fitted.parameters

    @property
    def name(self) -> str:
        return GAMMA_GAMMA if self.parameters is not None else POOLED_MEAN

    @property
    def converged(self) -> bool:
        """Whether the fit is reported as converged, by the refresh and the file command alike:
        only when it prices the purchases. A fit that stopped at q ≤ 1 found a maximum, but of
        a model with an infinite mean spend, which no one could use."""
        return self.parameters is not None


def fit_spend_model(frequency, monetary_value) -> SpendModel:
    """Fit Gamma-Gamma and say whether it prices the purchases.

    It does when it converged with q > 1 (a finite mean spend). Otherwise — no maximum, as
    when spend barely differs between customers, or a fit that fails outright — the purchases
    are priced at the mean repeat purchase, the model's own limit for that case, rather than
    no lifetime value being given at all. The database refresh and the file command both
    decide here, so the same data are valued the same way by either.
    """
    try:
        fitted = gamma_gamma.fit(frequency, monetary_value)
    except Exception as error:  # whatever stops the fit leaves the mean, not no values
        return SpendModel(None, f"{type(error).__name__}: {error}")
    if not fitted.converged:
        return SpendModel(fitted, fitted.diagnostics.message)
    if fitted.parameters.q <= 1:
        return SpendModel(fitted, "q ≤ 1: the mean spend is infinite")
    return SpendModel(fitted)


@dataclass(frozen=True)
class CustomerValue:
    """Predictions, one element per customer."""

    probability_alive: np.ndarray
    expected_purchases: np.ndarray  # repeat purchases over the horizon
    expected_average_spend: np.ndarray  # per purchase
    lifetime_value: np.ndarray  # discounted, over the horizon


def customer_value(
    purchases: BgNbdParameters,
    spend: GammaGammaParameters | None,
    frequency,
    recency,
    age,
    monetary_value,
    *,
    months: int = 12,
    monthly_discount_rate: float = 0.01,
    time_unit: str = "day",
) -> CustomerValue:
    """Predict every customer's next ``months`` months; recency and age are in ``time_unit``.

    ``spend`` None means the spend model could not be fitted: every purchase is then valued
    at the mean of all repeat purchases (see :func:`.gamma_gamma.pooled_average_spend`).
    Vectorised over customers; the only loop is over the months of the horizon.
    """
    if time_unit not in TIME_UNITS:
        raise SummaryError(f"time unit must be one of {', '.join(TIME_UNITS)}, not {time_unit!r}")
    if int(months) != months or months < 1:
        raise SummaryError(f"the horizon must be a whole number of months, 1 or more: {months}")
    if not np.isfinite(monthly_discount_rate) or monthly_discount_rate <= -1:
        raise SummaryError(f"the discount rate must be above -1: {monthly_discount_rate}")
    x, t_x, t, m = check_summary(frequency, recency, age, monetary_value)
    month = DAYS_PER_MONTH / TIME_UNITS[time_unit]

    alive = probability_alive(purchases, x, t_x, t)
    per_purchase = (
        pooled_average_spend(x, m) if spend is None else expected_average_spend(spend, x, m)
    )
    discounted_purchases = np.zeros_like(x)
    previous = np.zeros_like(x)
    for k in range(1, int(months) + 1):
        cumulative = expected_purchases_if_alive(purchases, k * month, x, t)
        discounted_purchases += (cumulative - previous) / (1 + monthly_discount_rate) ** k
        previous = cumulative
    return CustomerValue(
        probability_alive=alive,
        expected_purchases=alive * previous,
        expected_average_spend=per_purchase,
        lifetime_value=alive * discounted_purchases * per_purchase,
    )
