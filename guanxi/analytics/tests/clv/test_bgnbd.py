"""The BG/NBD model: published estimates, recovery of known parameters, gradient, numerics."""

import mpmath
import numpy as np
import pytest
from scipy.special import hyp2f1

from guanxi.analytics.clv import bgnbd, simulate
from guanxi.analytics.clv.bgnbd import BgNbdParameters
from guanxi.analytics.clv.gamma_gamma import GammaGammaParameters
from guanxi.analytics.tests import cdnow

PUBLISHED = BgNbdParameters(r=0.243, alpha=4.414, a=0.793, b=2.426)
SPEND = GammaGammaParameters(p=6.25, q=3.74, v=15.44)


def significant(value: float, digits: int = 3) -> float:
    return float(f"{value:.{digits - 1}e}")


def test_reproduces_the_published_cdnow_estimates():
    """Fader, Hardie & Lee (2005) on the 2,357 CDNOW customers, 39-week calibration, in weeks:
    r = 0.243, α = 4.414, a = 0.793, b = 2.426, log-likelihood −9582.4."""
    data = cdnow.load_summary()
    fit = bgnbd.fit(data["frequency"], data["recency"], data["T"])
    assert fit.converged, fit.diagnostics
    for name, published in PUBLISHED.as_dict().items():
        assert significant(getattr(fit.parameters, name)) == significant(published), name
    assert round(fit.log_likelihood, 1) == -9582.4
    assert fit.customers == 2357


def test_the_same_fit_from_the_transactions_by_day():
    """Fitting by day instead of by week only rescales α (by 7): the other parameters, and so
    the published values, do not depend on the time unit."""
    from guanxi.analytics.clv.summary import summarise_transactions

    ids, dates, amounts = cdnow.load_transactions()
    summary = summarise_transactions(ids, dates, amounts, calibration_end=cdnow.CALIBRATION_END)
    fit = bgnbd.fit(summary.frequency, summary.recency, summary.age)
    assert fit.converged
    assert significant(fit.parameters.r) == 0.243
    assert significant(fit.parameters.alpha / 7) == 4.41
    assert significant(fit.parameters.a) == 0.793
    assert significant(fit.parameters.b) == 2.43


def test_recovers_known_parameters_from_simulated_customers():
    """20,000 customers drawn from the model with the CDNOW values (first purchases spread over
    twelve weeks, 39-week window): every estimate lies within four standard errors of the
    truth, and those errors are small enough for that to mean something."""
    ages = simulate.cohort_ages(20_000, first=27, last=39, seed=11)
    customers = simulate.simulate_customers(PUBLISHED, SPEND, ages, seed=12)
    fit = bgnbd.fit(customers.frequency, customers.recency, customers.age)
    assert fit.converged, fit.diagnostics
    assert fit.standard_errors is not None
    for name, truth in PUBLISHED.as_dict().items():
        estimate = getattr(fit.parameters, name)
        error = getattr(fit.standard_errors, name)
        assert error < 0.1 * truth, name
        assert abs(estimate - truth) < 4 * error, (name, estimate, truth, error)


def test_recovers_other_parameters_too():
    """A population unlike CDNOW: frequent buyers (r/α = 1 a week) who rarely drop out."""
    truth = BgNbdParameters(r=2.0, alpha=2.0, a=1.5, b=12.0)
    ages = simulate.cohort_ages(20_000, first=10, last=52, seed=3)
    customers = simulate.simulate_customers(truth, SPEND, ages, seed=4)
    assert customers.frequency.max() > 100
    fit = bgnbd.fit(customers.frequency, customers.recency, customers.age)
    assert fit.converged
    for name, value in truth.as_dict().items():
        error = getattr(fit.standard_errors, name)
        assert error < 0.25 * value
        assert abs(getattr(fit.parameters, name) - value) < 4 * error, name


def _numerical_gradient(function, point, step=1e-6):
    gradient = np.empty_like(point)
    for index in range(len(point)):
        shift = np.zeros_like(point)
        shift[index] = step
        gradient[index] = (function(point + shift) - function(point - shift)) / (2 * step)
    return gradient


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_analytic_gradient_matches_finite_differences(seed):
    rng = np.random.default_rng(seed)
    ages = simulate.cohort_ages(3000, first=1, last=80, seed=seed)
    customers = simulate.simulate_customers(
        BgNbdParameters(0.5, 3.0, 0.9, 1.5), SPEND, ages, seed=seed
    )
    frequency = customers.frequency.copy()
    frequency[:5] = [5000, 20000, 1, 1, 3]  # very frequent buyers and t_x = T below
    recency = customers.recency.copy()
    recency[:5] = [ages[0] * 0.5, ages[1], ages[2], 0.0, ages[4]]
    weights = rng.integers(1, 5, len(frequency))
    data = bgnbd._Histories(frequency, recency, ages, weights)
    for _ in range(4):
        point = np.log(rng.uniform([0.05, 0.5, 0.2, 0.2], [5.0, 50.0, 5.0, 20.0]))
        value, gradient = bgnbd._objective(point, data)
        numeric = _numerical_gradient(lambda p: bgnbd._objective(p, data)[0], point)
        assert np.isfinite(value)
        assert np.allclose(gradient, numeric, rtol=1e-5, atol=1e-7), (gradient, numeric)


def _likelihood_reference(parameters, x, t_x, age):
    """FHL 2005 eq. 6 as printed (a sum of two products, no logarithms), in 50-digit
    arithmetic: an independent check of the log-space formula."""
    mpmath.mp.dps = 50
    r, alpha, a, b = (mpmath.mpf(v) for v in parameters.as_dict().values())
    x, t_x, age = mpmath.mpf(x), mpmath.mpf(t_x), mpmath.mpf(age)
    common = mpmath.gamma(r + x) * alpha**r / mpmath.gamma(r)
    first = mpmath.beta(a, b + x) / mpmath.beta(a, b) * common / (alpha + age) ** (r + x)
    second = 0
    if x > 0:
        second = mpmath.beta(a + 1, b + x - 1) / mpmath.beta(a, b) * common
        second /= (alpha + t_x) ** (r + x)
    return float(mpmath.log(first + second))


@pytest.mark.parametrize(
    ("x", "t_x", "age"),
    [
        (0, 0, 38.86),
        (0, 0, 0),
        (1, 1.71, 38.86),
        (2, 30.43, 38.86),
        (7, 39, 39),
        (400, 10, 52),
        (100_000, 51.9, 52),
    ],
)
def test_the_log_likelihood_matches_the_printed_formula(x, t_x, age):
    ours = bgnbd.log_likelihood(PUBLISHED, x, t_x, age)[0]
    assert ours == pytest.approx(_likelihood_reference(PUBLISHED, x, t_x, age), rel=1e-12)


def test_the_fit_objective_is_the_mean_of_the_per_customer_log_likelihoods():
    data = cdnow.load_summary()
    histories = bgnbd._Histories(data["frequency"], data["recency"], data["T"], None)
    point = np.log([0.3, 5.0, 0.6, 3.0])
    value, _ = bgnbd._objective(point, histories)
    parameters = BgNbdParameters(*np.exp(point))
    total = bgnbd.log_likelihood(parameters, data["frequency"], data["recency"], data["T"]).sum()
    assert -value * len(data["frequency"]) == pytest.approx(total, rel=1e-12)


def test_weights_count_customers():
    data = cdnow.load_summary()
    rows = np.stack([data["frequency"], data["recency"], data["T"]], axis=1)
    distinct, counts = np.unique(rows, axis=0, return_counts=True)
    assert len(distinct) < len(rows)
    condensed = bgnbd.fit(*distinct.T, weights=counts)
    full = bgnbd.fit(data["frequency"], data["recency"], data["T"])
    assert condensed.log_likelihood == pytest.approx(full.log_likelihood, rel=1e-10)
    for name in ("r", "alpha", "a", "b"):
        assert getattr(condensed.parameters, name) == pytest.approx(
            getattr(full.parameters, name), rel=1e-5
        )


def test_a_fit_stopped_early_says_it_did_not_converge():
    data = cdnow.load_summary()
    fit = bgnbd.fit(data["frequency"], data["recency"], data["T"], max_iterations=2)
    assert not fit.converged
    assert "gradient" in fit.diagnostics.message
    assert fit.diagnostics.gradient_norm > 1e-5
    assert fit.standard_errors is None


def test_data_without_any_repeat_purchase_does_not_pass_for_a_fit():
    """Nobody came back: the likelihood keeps rising as r → 0 (no purchasing at all), so there
    is no maximum; the fit must say so instead of returning numbers."""
    ages = np.linspace(1, 50, 500)
    zeros = np.zeros_like(ages)
    fit = bgnbd.fit(zeros, zeros, ages)
    assert not fit.converged
    assert "flat" in fit.diagnostics.message or "ran off" in fit.diagnostics.message
    assert fit.standard_errors is None


def test_probability_alive():
    # No repeat purchase: the model cannot have seen a drop-out, so P(alive) = 1.
    assert bgnbd.probability_alive(PUBLISHED, [0, 0], [0, 0], [0, 40]).tolist() == [1.0, 1.0]
    # FHL 2005 eq. 11 as printed, for ordinary customers.
    r, alpha, a, b = PUBLISHED.as_dict().values()
    for x, t_x, age in [(1, 1.71, 38.86), (2, 30.43, 38.86), (5, 38.86, 38.86)]:
        printed = 1 / (1 + a / (b + x - 1) * ((alpha + age) / (alpha + t_x)) ** (r + x))
        ours = bgnbd.probability_alive(PUBLISHED, x, t_x, age)[0]
        assert ours == pytest.approx(printed, rel=1e-12)
    # A customer who bought 50,000 times and then stopped for a while: surely gone, yet the
    # ratio raised to the 50,000th power must not overflow into NaN.
    gone = bgnbd.probability_alive(PUBLISHED, 50_000, 10, 30)[0]
    assert gone == 0.0
    still_buying = bgnbd.probability_alive(PUBLISHED, 50_000, 30, 30)[0]
    assert 0.999 < still_buying <= 1


def _expected_reference(parameters, horizon, x, t_x, age):
    """FHL 2005 eq. 10 exactly as printed, with mpmath's 2F1 at 60 digits."""
    mpmath.mp.dps = 60
    r, alpha, a, b = (mpmath.mpf(v) for v in parameters.as_dict().values())
    t, x, t_x, age = (mpmath.mpf(v) for v in (horizon, x, t_x, age))
    z = t / (alpha + age + t)
    bracket = 1 - ((alpha + age) / (alpha + age + t)) ** (r + x) * mpmath.hyp2f1(
        r + x, b + x, a + b + x - 1, z
    )
    numerator = (a + b + x - 1) / (a - 1) * bracket
    denominator = 1 + (a / (b + x - 1) * ((alpha + age) / (alpha + t_x)) ** (r + x) if x else 0)
    return float(numerator / denominator)


@pytest.mark.parametrize(
    ("parameters", "horizon", "x", "t_x", "age"),
    [
        (PUBLISHED, 52, 2, 30.43, 38.86),
        (PUBLISHED, 39, 0, 0, 38.86),
        (PUBLISHED, 1, 0, 0, 0),
        (PUBLISHED, 520, 1, 1.71, 38.86),
        (PUBLISHED, 52, 30, 38, 38.86),
        (PUBLISHED, 12, 300, 38, 39),
        (PUBLISHED, 52, 1000, 39, 39),
        (BgNbdParameters(2.0, 0.5, 3.0, 0.2), 5200, 5, 0.5, 0.5),
        (BgNbdParameters(0.05, 50.0, 0.2, 10.0), 52, 40, 100, 400),
        (BgNbdParameters(5.0, 1.0, 1.5, 1.5), 12, 250, 9, 10),
    ],
)
def test_expected_purchases_match_the_printed_formula(parameters, horizon, x, t_x, age):
    ours = bgnbd.expected_purchases(parameters, horizon, x, t_x, age)[0]
    assert ours == pytest.approx(_expected_reference(parameters, horizon, x, t_x, age), rel=1e-9)


def test_the_textbook_formula_breaks_where_ours_does_not():
    """At a few thousand purchases the printed formula in double precision overflows (the
    hypergeometric series does): this is the regime the transformation is for."""
    r, alpha, a, b = PUBLISHED.as_dict().values()
    x, age, horizon = 3000, 39.0, 12.0
    z = horizon / (alpha + age + horizon)
    textbook = ((alpha + age) / (alpha + age + horizon)) ** (r + x) * hyp2f1(
        r + x, b + x, a + b + x - 1, z
    )
    assert not np.isfinite(textbook)
    ours = bgnbd.expected_purchases(PUBLISHED, horizon, x, age, age)[0]
    # Close to the purchase rate (r+x)/(α+T) times the horizon, a little less for drop-out.
    assert 0.9 * (r + x) / (alpha + age) * horizon < ours < (r + x) / (alpha + age) * horizon


def test_extreme_but_valid_inputs_give_finite_numbers():
    grid = [
        BgNbdParameters(1e-3, 1e-3, 1e-3, 1e-3),
        BgNbdParameters(1e3, 1e3, 1e3, 1e3),
        BgNbdParameters(0.01, 1e4, 50.0, 0.01),
        BgNbdParameters(50.0, 0.01, 0.01, 50.0),
        BgNbdParameters(0.243, 4.414, 1.0, 2.426),  # a = 1: the 0/0 of eq. 10
        BgNbdParameters(100.0, 1e3, 100.0, 100.0),  # double-precision 2F1 gives up here
    ]
    x = np.array([0, 0, 1, 1, 10, 1e3, 1e5, 1e6, 1e6])
    age = np.array([0, 1e4, 0, 1e4, 5, 1e3, 1e4, 1e4, 1e-3])
    t_x = np.array([0, 0, 0, 1e4, 0, 1, 1e4, 0, 1e-3])
    for parameters in grid:
        assert np.all(np.isfinite(bgnbd.log_likelihood(parameters, x, t_x, age)))
        alive = bgnbd.probability_alive(parameters, x, t_x, age)
        assert np.all((alive >= 0) & (alive <= 1))
        for horizon in (0.0, 1e-3, 1.0, 1e4):
            expected = bgnbd.expected_purchases(parameters, horizon, x, t_x, age)
            assert np.all(np.isfinite(expected)) and np.all(expected >= 0), (parameters, horizon)
        value, gradient = bgnbd._objective(
            np.log(list(parameters.as_dict().values())), bgnbd._Histories(x, t_x, age, None)
        )
        assert np.isfinite(value) and np.all(np.isfinite(gradient))


def test_expected_purchases_are_continuous_through_a_equal_to_one():
    values = [
        bgnbd.expected_purchases(BgNbdParameters(0.243, 4.414, a, 2.426), 52, 3, 20, 39)[0]
        for a in (1 - 1e-3, 1 - 1e-7, 1.0, 1 + 1e-7, 1 + 1e-3)
    ]
    assert values[2] == pytest.approx(values[1], rel=1e-6)
    assert values[2] == pytest.approx(values[3], rel=1e-6)
    assert values[0] < values[2] < values[4] or values[0] > values[2] > values[4]


def test_a_new_customer_buys_what_simulated_new_customers_buy():
    """E[X(t)] against the mean frequency of 200,000 customers simulated for t = 52 weeks."""
    ages = np.full(200_000, 52.0)
    customers = simulate.simulate_customers(PUBLISHED, SPEND, ages, seed=8)
    simulated = customers.frequency.mean()
    error = customers.frequency.std() / np.sqrt(len(ages))
    predicted = bgnbd.expected_purchases_new_customer(PUBLISHED, 52)[0]
    assert abs(predicted - simulated) < 4 * error
    assert predicted == pytest.approx(
        bgnbd.expected_purchases(PUBLISHED, 52, 0, 0, 0)[0], rel=1e-15
    )
