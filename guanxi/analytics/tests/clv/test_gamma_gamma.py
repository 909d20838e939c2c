"""The Gamma-Gamma spend model: published estimates, recovery, gradient, predictions."""

import numpy as np
import pytest
from scipy import integrate, stats

from guanxi.analytics.clv import gamma_gamma, simulate
from guanxi.analytics.clv.bgnbd import BgNbdParameters
from guanxi.analytics.clv.gamma_gamma import GammaGammaParameters
from guanxi.analytics.clv.summary import SummaryError
from guanxi.analytics.tests import cdnow

PUBLISHED = GammaGammaParameters(p=6.25, q=3.74, v=15.44)
PURCHASES = BgNbdParameters(r=0.243, alpha=4.414, a=0.793, b=2.426)


def significant(value: float, digits: int = 3) -> float:
    return float(f"{value:.{digits - 1}e}")


def test_reproduces_the_published_cdnow_estimates():
    """Fader & Hardie, "The Gamma-Gamma model of monetary value" (2013), on the 946 CDNOW
    customers with repeat purchases in the calibration period: p = 6.25, q = 3.74, γ = 15.44."""
    data = cdnow.load_summary()
    fit = gamma_gamma.fit(data["frequency"], data["monetary_value"])
    assert fit.converged, fit.diagnostics
    assert fit.customers == 946
    for name, published in PUBLISHED.as_dict().items():
        assert significant(getattr(fit.parameters, name)) == significant(published), name


def test_recovers_known_parameters_from_simulated_customers():
    ages = simulate.cohort_ages(20_000, first=27, last=39, seed=21)
    customers = simulate.simulate_customers(PURCHASES, PUBLISHED, ages, seed=22)
    fit = gamma_gamma.fit(customers.frequency, customers.monetary_value)
    assert fit.converged
    assert fit.customers > 7000
    for name, truth in PUBLISHED.as_dict().items():
        error = getattr(fit.standard_errors, name)
        assert error < 0.15 * truth, name
        assert abs(getattr(fit.parameters, name) - truth) < 4 * error, name


def test_the_density_is_the_gamma_mixture_it_claims_to_be():
    """ln f(m | x) against numerical integration of the model's definition: the mean of x
    Gamma(p, ν) values is Gamma(px, rate xν), and ν ~ Gamma(q, rate v)."""
    parameters = GammaGammaParameters(p=2.5, q=4.0, v=30.0)
    for x, m in [(1, 12.0), (3, 40.5), (12, 7.25)]:

        def joint(rate, x=x, m=m):
            return stats.gamma.pdf(m, parameters.p * x, scale=1 / (x * rate)) * stats.gamma.pdf(
                rate, parameters.q, scale=1 / parameters.v
            )

        density, _ = integrate.quad(joint, 0, np.inf, epsabs=0, epsrel=1e-11, limit=200)
        ours = gamma_gamma.log_likelihood(parameters, [x], [m])[0]
        assert ours == pytest.approx(np.log(density), rel=1e-8)


def _numerical_gradient(function, point, step=1e-6):
    gradient = np.empty_like(point)
    for index in range(len(point)):
        shift = np.zeros_like(point)
        shift[index] = step
        gradient[index] = (function(point + shift) - function(point - shift)) / (2 * step)
    return gradient


def test_the_analytic_gradient_matches_finite_differences():
    data = cdnow.load_summary()
    frequency = np.r_[data["frequency"], [5000, 1]]
    monetary = np.r_[data["monetary_value"], [12.5, 1e5]]
    weights = np.random.default_rng(1).integers(1, 4, len(frequency))
    spends = gamma_gamma._Spends(frequency, monetary, weights)
    rng = np.random.default_rng(2)
    for _ in range(5):
        point = np.log(rng.uniform([0.2, 1.1, 0.5], [20, 20, 200]))
        _, gradient = gamma_gamma._objective(point, spends)
        numeric = _numerical_gradient(lambda p: gamma_gamma._objective(p, spends)[0], point)
        assert np.allclose(gradient, numeric, rtol=1e-5, atol=1e-8), (gradient, numeric)


def test_the_fit_objective_is_the_mean_of_the_per_customer_log_likelihoods():
    data = cdnow.load_summary()
    spends = gamma_gamma._Spends(data["frequency"], data["monetary_value"], None)
    point = np.log([3.0, 2.5, 11.0])
    value, _ = gamma_gamma._objective(point, spends)
    per_customer = gamma_gamma.log_likelihood(
        GammaGammaParameters(*np.exp(point)), data["frequency"], data["monetary_value"]
    )
    assert len(per_customer) == 946
    assert -value * 946 == pytest.approx(per_customer.sum(), rel=1e-12)


def test_expected_spend_shrinks_a_customers_mean_towards_the_population_mean():
    p, q, v = PUBLISHED.p, PUBLISHED.q, PUBLISHED.v
    population = PUBLISHED.population_mean_spend
    assert population == pytest.approx(p * v / (q - 1))
    frequency = np.array([0, 1, 5, 50, 1e6])
    mean = np.array([0.0, 100.0, 100.0, 100.0, 100.0])
    spend = gamma_gamma.expected_average_spend(PUBLISHED, frequency, mean)
    assert spend[0] == pytest.approx(population)
    for x, expected in zip(frequency[1:], spend[1:], strict=True):
        weight = p * x / (p * x + q - 1)
        assert expected == pytest.approx((1 - weight) * population + weight * 100.0)
    assert np.all(np.diff(spend[1:]) > 0) and spend[-1] == pytest.approx(100.0, rel=1e-5)


def test_no_spend_forecast_when_the_mean_spend_is_infinite():
    with pytest.raises(SummaryError, match=r"q = 0\.9"):
        gamma_gamma.expected_average_spend(GammaGammaParameters(2.0, 0.9, 10.0), [1], [10.0])


def test_too_few_repeat_customers_cannot_be_fitted():
    with pytest.raises(SummaryError, match="at least two customers"):
        gamma_gamma.fit([0, 0, 3], [0.0, 0.0, 12.0])


def test_a_fit_stopped_early_says_it_did_not_converge():
    data = cdnow.load_summary()
    fit = gamma_gamma.fit(data["frequency"], data["monetary_value"], max_iterations=1)
    assert not fit.converged
    assert "gradient" in fit.diagnostics.message
    assert fit.standard_errors is None


def test_identical_spends_do_not_pass_for_a_fit():
    """Everyone spends exactly the same: spend has no spread, the likelihood grows without
    bound as p and q grow, and the fit must say it did not converge."""
    frequency = np.array([1, 2, 3, 4, 5] * 20, dtype=float)
    fit = gamma_gamma.fit(frequency, np.full(100, 25.0))
    assert not fit.converged


def test_without_a_fit_every_customer_is_priced_at_the_mean_of_all_repeat_purchases():
    """Identical spend for everyone: the fit has no maximum, and the limit of the model as the
    heterogeneity vanishes (q → ∞ at a fixed population mean) prices everyone at that spend."""
    frequency = np.array([0, 1, 2, 3, 4, 5] * 20, dtype=float)
    spend = np.where(frequency > 0, 25.0, 0.0)
    assert not gamma_gamma.fit(frequency, spend).converged
    assert gamma_gamma.pooled_average_spend(frequency, spend) == pytest.approx(np.full(120, 25.0))


def test_the_pooled_mean_weighs_each_repeat_purchase_once_and_is_the_models_limit():
    frequency = np.array([0, 1, 3, 2], dtype=float)
    mean = np.array([0.0, 10.0, 30.0, 0.0])  # the last one's repeats were free: left out
    pooled = gamma_gamma.pooled_average_spend(frequency, mean)
    assert pooled == pytest.approx(np.full(4, (10.0 + 3 * 30.0) / 4))
    # The fitted model's prediction tends to the population mean as q grows at a fixed mean.
    p, population = 6.0, 25.0
    huge_q = GammaGammaParameters(p=p, q=1e9, v=population * (1e9 - 1) / p)
    limit = gamma_gamma.expected_average_spend(huge_q, frequency, mean)
    assert limit == pytest.approx(np.full(4, population), rel=1e-6)


def test_no_pooled_mean_without_any_repeat_purchase():
    with pytest.raises(SummaryError, match="no customer has a repeat purchase"):
        gamma_gamma.pooled_average_spend([0, 0], [0.0, 0.0])
