"""The Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV: using iso-value curves
for customer base analysis", Journal of Marketing Research 42(4); Fader & Hardie 2013, "The
Gamma-Gamma model of monetary value").

Each of a customer's transactions is worth z ~ Gamma(p, rate ν); across customers
ν ~ Gamma(q, rate v). What is observed per customer is the mean value m of their x repeat
transactions, so the model is fitted on customers with x > 0 (and m > 0), and predicts each
customer's expected spend per transaction, shrinking their own mean towards the population
mean p·v/(q−1) the fewer purchases it rests on. It assumes spend does not depend on how often
a customer buys.
"""

from dataclasses import dataclass

import numpy as np
from scipy.special import digamma, gammaln

from .fitting import (
    DEFAULT_MAX_ITERATIONS,
    FitDiagnostics,
    minimise_in_log_space,
    weighted_sum,
)
from .summary import SummaryError, check_summary

PARAMETER_NAMES = ("p", "q", "v")


@dataclass(frozen=True)
class GammaGammaParameters:
    p: float
    q: float
    v: float

    def as_dict(self) -> dict[str, float]:
        return {"p": self.p, "q": self.q, "v": self.v}

    @property
    def population_mean_spend(self) -> float:
        """p·v/(q−1); infinite when q ≤ 1 (the model's mean spend does not exist then)."""
        return self.p * self.v / (self.q - 1) if self.q > 1 else np.inf


@dataclass(frozen=True)
class GammaGammaFit:
    """A fitted model with its verdict. Check ``diagnostics.converged`` before trusting it."""

    parameters: GammaGammaParameters
    log_likelihood: float
    customers: int  # customers the model was fitted on (those with repeat purchases)
    diagnostics: FitDiagnostics
    standard_errors: GammaGammaParameters | None

    @property
    def converged(self) -> bool:
        return self.diagnostics.converged


def repeat_customers(frequency, monetary_value) -> np.ndarray:
    """Mask of the customers the model is fitted on: repeat purchases with a positive mean."""
    x = np.asarray(frequency, dtype=np.float64)
    m = np.asarray(monetary_value, dtype=np.float64)
    return (x > 0) & (m > 0)


class _Spends:
    """The repeat customers' data, with every parameter-free sum worked out once per fit.

    As in the BG/NBD likelihood, the special functions of p·x are evaluated once per distinct
    frequency; per customer only ln(v + x·m) and 1/(v + x·m) remain.
    """

    def __init__(self, frequency, monetary_value, weights):
        x = np.atleast_1d(np.asarray(frequency, dtype=np.float64))
        m = np.atleast_1d(np.asarray(monetary_value, dtype=np.float64))
        if x.shape != m.shape or x.ndim != 1:
            raise SummaryError("frequency and monetary_value must be 1-D arrays of equal length")
        check_summary(x, np.zeros_like(x), np.zeros_like(x), m)
        w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=np.float64)
        if w.shape != x.shape or not np.all(np.isfinite(w)) or np.any(w < 0):
            raise SummaryError("weights must be finite, 0 or more, one per customer")
        keep = repeat_customers(x, m) & (w > 0)
        self.x, self.m, self.w = x[keep], m[keep], w[keep]
        self.customers = int(keep.sum())
        self.total_weight = float(self.w.sum())
        self.distinct_x, inverse = np.unique(self.x, return_inverse=True)
        self.weight_per_x = np.bincount(inverse, weights=self.w, minlength=len(self.distinct_x))
        self.spend_total = self.x * self.m  # x·m, the customer's total repeat spend
        self.weight_x = self.w * self.x
        log_m = np.log(self.m)
        # Σ w·x·(ln m + ln x) and Σ w·ln m: the parameter-free pieces of the density.
        self.sum_x_log_mx = weighted_sum(self.weight_x, log_m + np.log(self.x))
        self.sum_log_m = weighted_sum(self.w, log_m)


def _objective(log_parameters: np.ndarray, data: _Spends) -> tuple[float, np.ndarray]:
    """Mean negative log-likelihood per customer and its gradient in log-parameters.

    ln f(m | x) = ln Γ(px+q) − ln Γ(px) − ln Γ(q) + q ln v + px·(ln m + ln x) − ln m
                  − (px+q)·ln(v + x·m)
    """
    p, q, v = np.exp(log_parameters)
    xs, nx = data.distinct_x, data.weight_per_x
    total = data.total_weight
    pxs = p * xs
    psi_sum = digamma(pxs + q)
    log_v = np.log(v)
    value = weighted_sum(nx, gammaln(pxs + q) - gammaln(pxs)) + total * (q * log_v - gammaln(q))
    grad_p = weighted_sum(nx * xs, psi_sum - digamma(pxs)) + data.sum_x_log_mx
    grad_q = weighted_sum(nx, psi_sum) + total * (log_v - digamma(q))
    grad_v = total * q / v

    spend_plus_v = v + data.spend_total
    log_spend_plus_v = np.log(spend_plus_v)
    reciprocal = 1.0 / spend_plus_v
    sum_log = weighted_sum(data.w, log_spend_plus_v)
    sum_x_log = weighted_sum(data.weight_x, log_spend_plus_v)
    value += p * data.sum_x_log_mx - data.sum_log_m - p * sum_x_log - q * sum_log
    grad_p -= sum_x_log
    grad_q -= sum_log
    grad_v -= p * weighted_sum(data.weight_x, reciprocal) + q * weighted_sum(data.w, reciprocal)

    gradient = np.array([grad_p * p, grad_q * q, grad_v * v])
    return -value / total, -gradient / total


def log_likelihood(parameters: GammaGammaParameters, frequency, monetary_value) -> np.ndarray:
    """Each repeat customer's log-likelihood (customers without repeats are left out)."""
    data = _Spends(frequency, monetary_value, None)
    p, q, v = parameters.p, parameters.q, parameters.v
    x, m = data.x, data.m
    return (
        gammaln(p * x + q)
        - gammaln(p * x)
        - gammaln(q)
        + q * np.log(v)
        + (p * x - 1) * np.log(m)
        + p * x * np.log(x)
        - (p * x + q) * np.log(v + x * m)
    )


def fit(
    frequency,
    monetary_value,
    *,
    weights=None,
    max_iterations: int = DEFAULT_MAX_ITERATIONS,
    start: GammaGammaParameters | None = None,
) -> GammaGammaFit:
    """Fit the Gamma-Gamma model on the customers with repeat purchases.

    Pass every customer: the ones without repeats (or with a mean of 0) are left out here.
    Raises :class:`SummaryError` when fewer than two customers remain. Always returns
    otherwise; ``fit.converged`` says whether to believe it.
    """
    data = _Spends(frequency, monetary_value, weights)
    if data.customers < 2:
        raise SummaryError(
            "the spend model needs at least two customers with repeat purchases and a "
            f"positive monetary_value; there are {data.customers}"
        )

    def objective(log_parameters):
        return _objective(log_parameters, data)

    if start is None:
        # p = 1 and q = 2 put the population mean spend at v; match it to the data's mean.
        mean_spend = weighted_sum(data.w, data.m) / data.total_weight
        initial = np.log([1.0, 2.0, mean_spend])
    else:
        initial = np.log([start.p, start.q, start.v])
    optimum = minimise_in_log_space(
        objective,
        initial,
        names=PARAMETER_NAMES,
        total_weight=data.total_weight,
        max_iterations=max_iterations,
    )
    values = np.exp(optimum.log_parameters)
    errors = None
    if optimum.log_standard_errors is not None:
        # Delta method: d(e^φ) = e^φ dφ.
        errors = GammaGammaParameters(*(float(e) for e in values * optimum.log_standard_errors))
    return GammaGammaFit(
        parameters=GammaGammaParameters(*(float(v) for v in values)),
        log_likelihood=-optimum.mean_negative_log_likelihood * data.total_weight,
        customers=data.customers,
        diagnostics=optimum.diagnostics,
        standard_errors=errors,
    )


def expected_average_spend(
    parameters: GammaGammaParameters, frequency, monetary_value
) -> np.ndarray:
    """E[spend per transaction | x, m] = (p·(v + x·m)) / (p·x + q − 1).

    A weighted mean of the population mean and the customer's own mean, with more weight on
    the latter the more purchases it rests on; customers without repeats get the population
    mean. Needs q > 1 (the population mean exists): raises :class:`SummaryError` otherwise.
    """
    x = np.asarray(frequency, dtype=np.float64)
    m = np.asarray(monetary_value, dtype=np.float64)
    p, q, v = parameters.p, parameters.q, parameters.v
    if q <= 1:
        raise SummaryError(
            f"q = {q:.4g} ≤ 1: under this fit the mean spend is infinite, so no expected spend "
            "can be given (too few or too uneven repeat purchases)"
        )
    m = np.where(repeat_customers(x, m), m, 0.0)
    x = np.where(m > 0, x, 0.0)
    return p * (v + x * m) / (p * x + q - 1)


def pooled_average_spend(frequency, monetary_value) -> np.ndarray:
    """Expected spend per transaction when the model cannot be fitted: every customer gets the
    mean of all repeat transactions, Σ x·m / Σ x.

    This is the model's own limit as the heterogeneity between customers vanishes. With the
    population mean μ = p·v/(q−1) held fixed, E[spend | x, m] = (p·(v + x·m))/(p·x + q − 1) is
    the weighted mean of μ and m with weight (q − 1)/(p·x + q − 1) on μ (Fader & Hardie 2013,
    "The Gamma-Gamma model of monetary value"; Fader, Hardie & Lee 2005); as q → ∞ (every
    customer's ν the same) that weight goes to 1 whatever x and m. All transactions then come
    from one Gamma(p, ν), whose mean p/ν is estimated by the mean of them all. Spend that
    barely differs between customers is exactly when the fit finds no finite maximum (q, or p
    and v together, run off), so this is the estimate to use then, rather than none at all; it
    is never more confident about a customer than the data are, since it ignores their own mean.
    Customers without repeats get the same mean, as they do from a fitted model.
    """
    x = np.asarray(frequency, dtype=np.float64)
    m = np.asarray(monetary_value, dtype=np.float64)
    repeat = repeat_customers(x, m)
    if not repeat.any():
        raise SummaryError("no customer has a repeat purchase with a positive amount")
    mean = weighted_sum(x[repeat], m[repeat]) / float(x[repeat].sum())
    return np.full(x.shape, mean)
