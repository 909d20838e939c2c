"""The BG/NBD purchase model (Fader, Hardie & Lee 2005, "Counting your customers the easy way:
an alternative to the Pareto/NBD model", Marketing Science 24(2)).

While alive, a customer buys at a Poisson rate λ; after each repeat purchase they drop out for
good with probability p. Across customers λ ~ Gamma(r, rate α) and p ~ Beta(a, b). A
customer's history is summarised by x (repeat purchases), t_x (time of the last one) and T
(time since the first purchase), all in one time unit; ``alpha`` is in that unit too.

Numerics: the likelihood is summed in log space (``gammaln``/``betaln`` differences and a
``logaddexp`` of the two ways a history can end), so customers with thousands of purchases do
not overflow. The gradient is analytic. The conditional expectation needs a Gauss
hypergeometric function whose textbook form, ((α+T)/(α+T+t))^(r+x) · 2F1(r+x, b+x; a+b+x−1;
z), overflows or turns into NaN once r+x reaches a few hundred to a few thousand; it is
evaluated through Euler's transformation instead (see :func:`_expected_purchases_if_alive`),
which keeps the growing argument where it only speeds the series up; the result agrees with
60-digit evaluations of the textbook formula to 1e-9 and better in the tests. The few far
corners of the parameter space where double precision still gives up are redone in 40 digits.
"""

from dataclasses import dataclass

import mpmath
import numpy as np
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

from .fitting import (
    DEFAULT_MAX_ITERATIONS,
    FitDiagnostics,
    minimise_in_log_space,
    weighted_sum,
)
from .summary import SummaryError, check_summary

PARAMETER_NAMES = ("r", "alpha", "a", "b")


@dataclass(frozen=True)
class BgNbdParameters:
    r: float
    alpha: float
    a: float
    b: float

    def as_dict(self) -> dict[str, float]:
        return {"r": self.r, "alpha": self.alpha, "a": self.a, "b": self.b}


@dataclass(frozen=True)
class BgNbdFit:
    """A fitted model with its verdict. Check ``diagnostics.converged`` before trusting it."""

    parameters: BgNbdParameters
    log_likelihood: float
    customers: int
    diagnostics: FitDiagnostics
    # Standard errors of r, alpha, a, b from the observed information (delta method from the
    # log-parameters); None when the likelihood is too flat to give any.
    standard_errors: BgNbdParameters | None

    @property
    def converged(self) -> bool:
        return self.diagnostics.converged


class _Histories:
    """The data in the shape the likelihood wants, computed once per fit.

    Terms that depend on a customer only through x (``gammaln(r + x)`` and friends) are summed
    over the distinct values of x, weighted by how many customers have each: real data have a
    few hundred distinct frequencies for a million customers, so the expensive special
    functions run a few hundred times per evaluation instead of a million, and what is left
    per customer is a few logarithms and exponentials.
    """

    def __init__(self, frequency, recency, age, weights):
        x, t_x, t, _ = check_summary(frequency, recency, age)
        w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=np.float64)
        if w.shape != x.shape or not np.all(np.isfinite(w)) or np.any(w < 0):
            raise SummaryError("weights must be finite, 0 or more, one per customer")
        self.total_weight = float(w.sum())
        if self.total_weight <= 0:
            raise SummaryError("there are no customers to fit the model to")
        self.customers = len(x)
        self.distinct_x, inverse = np.unique(x, return_inverse=True)
        self.weight_per_x = np.bincount(inverse, weights=w, minlength=len(self.distinct_x))
        # Customers without repeats contribute only −r·ln(α+T) beyond the x-terms.
        # Weights stay None when every customer counts once: no multiplications by 1.
        no_repeat = x == 0
        self.age_no_repeat = t[no_repeat]
        self.weight_no_repeat = None if weights is None else w[no_repeat]
        repeat = ~no_repeat
        self.x = x[repeat]
        self.recency = t_x[repeat]
        self.age = t[repeat]
        self.weight = None if weights is None else w[repeat]
        self.x_index = inverse[repeat]


def _sum(weights: np.ndarray | None, values: np.ndarray) -> float:
    return float(values.sum()) if weights is None else weighted_sum(weights, values)


def _sum_product(weights: np.ndarray | None, first: np.ndarray, second: np.ndarray) -> float:
    return weighted_sum(first, second) if weights is None else weighted_sum(weights * first, second)


def _objective(log_parameters: np.ndarray, data: _Histories) -> tuple[float, np.ndarray]:
    """Mean negative log-likelihood per customer and its gradient in log-parameters.

    Per customer (FHL 2005, eq. 6), with u = −(r+x)·ln(α+T) and, when x > 0,
    v = ln a − ln(b+x−1) − (r+x)·ln(α+t_x):

        ln L = ln Γ(r+x) − ln Γ(r) + r ln α + ln B(a, b+x) − ln B(a, b) + logaddexp(u, v)

    and π = expit(v − u) is the weight of "dropped out after the last purchase".
    """
    r, alpha, a, b = np.exp(log_parameters)
    xs, nx = data.distinct_x, data.weight_per_x
    total = data.total_weight

    # Terms in x alone, summed over distinct frequencies.
    value = weighted_sum(
        nx, gammaln(r + xs) - gammaln(r) + r * np.log(alpha) + betaln(a, b + xs) - betaln(a, b)
    )
    psi_ab_x = digamma(a + b + xs)
    grad_r = weighted_sum(nx, digamma(r + xs) - digamma(r) + np.log(alpha))
    grad_alpha = total * r / alpha
    grad_a = weighted_sum(nx, digamma(a + b) - psi_ab_x)
    grad_b = weighted_sum(nx, digamma(b + xs) - psi_ab_x - digamma(b) + digamma(a + b))

    # Customers without repeat purchases: u only.
    if len(data.age_no_repeat):
        w0 = data.weight_no_repeat
        alive_end = data.age_no_repeat + alpha
        sum_log_end = _sum(w0, np.log(alive_end))
        value -= r * sum_log_end
        grad_r -= sum_log_end
        grad_alpha -= r * _sum(w0, np.reciprocal(alive_end, out=alive_end))

    # Customers with repeat purchases: u + softplus(v − u). This block is where a large fit
    # spends its time, so it is written to make as few passes and temporary arrays as it can.
    if len(data.x):
        w = data.weight
        shape = data.x + r
        alive_end = data.age + alpha
        last = data.recency + alpha
        log_alive_end = np.log(alive_end)
        gap = np.log(last)
        np.subtract(log_alive_end, gap, out=gap)  # ln(α+T) − ln(α+t_x) ≥ 0
        np.reciprocal(alive_end, out=alive_end)  # now 1/(α+T)
        np.reciprocal(last, out=last)  # now 1/(α+t_x)
        with np.errstate(divide="ignore", invalid="ignore"):  # x = 0 (b − 1 ≤ 0) is never used
            log_odds_table = np.log(a) - np.log(b + xs - 1)
        # d = v − u = ln(a/(b+x−1)) + (r+x)·gap
        d = gap * shape
        d += log_odds_table[data.x_index]
        small = np.abs(d)
        np.negative(small, out=small)
        np.exp(small, out=small)  # e^−|d| ∈ (0, 1]
        softplus = np.log1p(small)
        softplus += np.maximum(d, 0.0)  # softplus(d) = ln(1 + e^d), without overflow
        dropped = small + 1.0
        np.reciprocal(dropped, out=dropped)
        np.multiply(dropped, small, out=dropped, where=d < 0)  # π = expit(d)

        value += _sum(w, softplus) - _sum_product(w, shape, log_alive_end)
        # Σ (1−π)·ln(α+T) + π·ln(α+t_x) = Σ ln(α+T) − Σ π·gap
        grad_r -= _sum(w, log_alive_end) - _sum_product(w, dropped, gap)
        # Σ (r+x)·[(1−π)/(α+T) + π/(α+t_x)] = Σ (r+x)/(α+T) + Σ (r+x)·π·(1/(α+t_x) − 1/(α+T))
        last -= alive_end
        grad_alpha -= _sum_product(w, shape, alive_end) + _sum_product(w, shape * dropped, last)
        dropped_per_x = np.bincount(
            data.x_index, weights=dropped if w is None else w * dropped, minlength=len(xs)
        )
        grad_a += dropped_per_x.sum() / a
        repeat_x = xs > 0
        grad_b -= weighted_sum(dropped_per_x[repeat_x], 1.0 / (b + xs[repeat_x] - 1))

    gradient = np.array([grad_r * r, grad_alpha * alpha, grad_a * a, grad_b * b])
    return -value / total, -gradient / total


def log_likelihood(parameters: BgNbdParameters, frequency, recency, age) -> np.ndarray:
    """Each customer's log-likelihood under ``parameters`` (a plain, per-customer formula)."""
    x, t_x, t, _ = check_summary(frequency, recency, age)
    r, alpha, a, b = parameters.r, parameters.alpha, parameters.a, parameters.b
    u = -(r + x) * np.log(alpha + t)
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.log(a) - np.log(b + x - 1) - (r + x) * np.log(alpha + t_x)
    s = np.where(x > 0, np.logaddexp(u, np.where(x > 0, v, -np.inf)), u)
    return gammaln(r + x) - gammaln(r) + r * np.log(alpha) + betaln(a, b + x) - betaln(a, b) + s


def _starting_point(data: _Histories) -> np.ndarray:
    # r = 1 and α matching the average purchase rate; a and b at a mild drop-out. The fit does
    # not depend on this, it only saves iterations.
    repeat_purchases = weighted_sum(data.weight_per_x, data.distinct_x)
    exposure = _sum(data.weight, data.age) + _sum(data.weight_no_repeat, data.age_no_repeat)
    rate = repeat_purchases / exposure if repeat_purchases > 0 and exposure > 0 else 1.0
    return np.log([1.0, 1.0 / rate, 1.0, 2.0])


def fit(
    frequency,
    recency,
    age,
    *,
    weights=None,
    max_iterations: int = DEFAULT_MAX_ITERATIONS,
    start: BgNbdParameters | None = None,
) -> BgNbdFit:
    """Fit the BG/NBD model by maximum likelihood.

    ``weights`` (optional) counts the customers that share each row, for data condensed to
    distinct histories. Always returns; ``fit.converged`` says whether to believe it.
    """
    data = _Histories(frequency, recency, age, weights)

    def objective(log_parameters):
        return _objective(log_parameters, data)

    initial = (
        _starting_point(data) if start is None else np.log([start.r, start.alpha, start.a, start.b])
    )
    optimum = minimise_in_log_space(
        objective,
        initial,
        names=PARAMETER_NAMES,
        total_weight=data.total_weight,
        max_iterations=max_iterations,
    )
    values = np.exp(optimum.log_parameters)
    parameters = BgNbdParameters(*(float(v) for v in values))
    errors = None
    if optimum.log_standard_errors is not None:
        # Delta method: d(e^φ) = e^φ dφ.
        errors = BgNbdParameters(*(float(v) for v in values * optimum.log_standard_errors))
    return BgNbdFit(
        parameters=parameters,
        log_likelihood=-optimum.mean_negative_log_likelihood * data.total_weight,
        customers=data.customers,
        diagnostics=optimum.diagnostics,
        standard_errors=errors,
    )


def probability_alive(parameters: BgNbdParameters, frequency, recency, age) -> np.ndarray:
    """P(still active at T | x, t_x, T): 1 for customers without repeats (FHL 2005, eq. 11).

    Written as expit(−ln odds) with the odds' logarithm built from logarithms, so that
    ((α+T)/(α+t_x))^(r+x) cannot overflow for very frequent buyers.
    """
    x, t_x, t, _ = check_summary(frequency, recency, age)
    r, alpha, a, b = parameters.r, parameters.alpha, parameters.a, parameters.b
    repeat = x > 0
    log_odds_dropped = np.full_like(x, -np.inf)
    xr, t_xr, tr = x[repeat], t_x[repeat], t[repeat]
    log_odds_dropped[repeat] = (
        np.log(a) - np.log(b + xr - 1) + (r + xr) * np.log1p((tr - t_xr) / (alpha + t_xr))
    )
    return expit(-log_odds_dropped)


def _expected_purchases_if_alive(parameters, horizon, x, age) -> np.ndarray:
    """E[purchases in (T, T+t] | alive at T, x, T], via Euler's transformation.

    FHL 2005 eq. 10 without its P(alive) factor is
        (a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) · 2F1(r+x, b+x; a+b+x−1; z)],
    z = t/(α+T+t). Euler: 2F1(A, B; C; z) = (1−z)^(C−A−B) · 2F1(C−A, C−B; C; z), and
    1−z = (α+T)/(α+T+t), so the bracketed product equals
        ((α+T)/(α+T+t))^(a−1) · 2F1(a+b−1−r, a−1; a+b+x−1; z):
    the first two arguments no longer grow with x, the third does (which only speeds the
    series up), and the power no longer has r+x in it.
    """
    r, alpha, a, b = parameters.r, parameters.alpha, parameters.a, parameters.b
    horizon, x, age = np.broadcast_arrays(np.asarray(horizon, dtype=np.float64), x, age)
    scale = alpha + age
    z = horizon / (scale + horizon)
    log_power = (a - 1) * -np.log1p(horizon / scale)
    series = hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, z)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # 1 − power·series, accurately when it is small: −expm1(ln power + ln series). The
        # series can be negative (a + b < 1 and x = 0), and then there is nothing to cancel.
        bracket = np.where(
            series > 0,
            -np.expm1(log_power + np.log(np.where(series > 0, series, 1.0))),
            1 - np.exp(log_power) * series,
        )
    unreached = ~np.isfinite(bracket)
    if unreached.any():
        # Far corners (huge shape parameters and long horizons, or a, b, r all near 0) where
        # scipy's double-precision 2F1 overflows or gives up: redo those few in high precision.
        bracket = np.array(bracket, dtype=np.float64)
        bracket[unreached] = [
            _bracket_in_high_precision(parameters, *arguments)
            for arguments in zip(horizon[unreached], x[unreached], age[unreached], strict=True)
        ]
    return (a + b + x - 1) / (a - 1) * bracket


def _bracket_in_high_precision(parameters, horizon, x, age) -> float:
    """1 − power·2F1(…) of :func:`_expected_purchases_if_alive` for one customer, in 40 digits.

    The Gauss series is summed term by term: its terms are all of one sign after the first, so
    nothing cancels, and 40 digits absorb the huge intermediate values some corners have
    (2F1(999, 999; 1999; 0.9) ≈ 1e372 times a power ≈ 1e−1040). Only when z is so close to 1
    that the series would need millions of terms is mpmath's own 2F1 (which transforms
    to 1 − z) asked instead.
    """
    r, alpha, a, b = (mpmath.mpf(value) for value in parameters.as_dict().values())
    with mpmath.workdps(40):
        scale = alpha + mpmath.mpf(age)
        horizon = mpmath.mpf(horizon)
        z = horizon / (scale + horizon)
        power = (scale / (scale + horizon)) ** (a - 1)
        first, second, third = a + b - 1 - r, a - 1, a + b + mpmath.mpf(x) - 1
        series = _gauss_series(first, second, third, z)
        if series is None:
            try:
                series = mpmath.hyp2f1(first, second, third, z, maxterms=10**5)
            except mpmath.libmp.NoConvergence:
                return np.nan
        return float(1 - power * series)


def _gauss_series(first, second, third, z, max_terms: int = 200_000):
    """Σ (first)_n (second)_n / ((third)_n n!) z^n, or None if it needs more than max_terms."""
    term = total = mpmath.mpf(1)
    hump = abs(first) + abs(second)  # terms may grow until n passes this
    tolerance = mpmath.mpf(10) ** -30
    for n in range(max_terms):
        term *= (first + n) * (second + n) / ((third + n) * (n + 1)) * z
        total += term
        if n > hump and abs(term) <= tolerance * abs(total):
            return total
    return None


def expected_purchases_if_alive(parameters: BgNbdParameters, horizon, frequency, age):
    """E[repeat purchases in the next ``horizon`` units | still active], per customer.

    At a = 1 the formula is 0/0; within 1e-6 of it the value is taken as the mean of
    a = 1 ± 1e-6 (it is smooth in a there, so this is accurate to ~1e-10).
    """
    x = np.asarray(frequency, dtype=np.float64)
    t = np.asarray(age, dtype=np.float64)
    near_one = 1e-6
    if abs(parameters.a - 1) >= near_one:
        return _expected_purchases_if_alive(parameters, horizon, x, t)
    r, alpha, b = parameters.r, parameters.alpha, parameters.b
    below = BgNbdParameters(r, alpha, 1 - near_one, b)
    above = BgNbdParameters(r, alpha, 1 + near_one, b)
    return (
        _expected_purchases_if_alive(below, horizon, x, t)
        + _expected_purchases_if_alive(above, horizon, x, t)
    ) / 2


def expected_purchases(parameters: BgNbdParameters, horizon, frequency, recency, age) -> np.ndarray:
    """Expected repeat purchases in the next ``horizon`` time units, per customer
    (FHL 2005, eq. 10): P(alive) times the expectation if alive.

    ``horizon`` is a number or an array broadcasting against the customers.
    """
    x, t_x, t, _ = check_summary(frequency, recency, age)
    return probability_alive(parameters, x, t_x, t) * expected_purchases_if_alive(
        parameters, horizon, x, t
    )


def expected_purchases_new_customer(parameters: BgNbdParameters, horizon) -> np.ndarray:
    """E[X(t)]: expected repeat purchases in the first ``horizon`` units after a first purchase.

    The special case x = t_x = T = 0 of the conditional expectation (FHL 2005, eq. 9).
    """
    horizon = np.atleast_1d(np.asarray(horizon, dtype=np.float64))
    zeros = np.zeros_like(horizon)
    return expected_purchases(parameters, horizon, zeros, zeros, zeros)
