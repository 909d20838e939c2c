"""Customer summaries drawn from the BG/NBD and Gamma-Gamma models themselves.

Used to check that fitting recovers known parameters, and by the benchmark to make a million
customers. Everything is drawn in a few vectorised steps, exactly under the models (no time
grid): given a purchase rate λ, the number of purchases in (0, T] is Poisson(λT) and, given
that number n, the time of the k-th is T times the k-th smallest of n uniforms, which is
T·Beta(k, n−k+1); the customer drops out after a Geometric(p) number of repeat purchases.
The same seed gives the same customers.
"""

import numpy as np

from .bgnbd import BgNbdParameters
from .gamma_gamma import GammaGammaParameters
from .summary import CustomerSummary


def simulate_customers(
    purchases: BgNbdParameters,
    spend: GammaGammaParameters,
    ages: np.ndarray,
    *,
    seed: int,
) -> CustomerSummary:
    """One simulated customer per element of ``ages`` (each customer's T)."""
    rng = np.random.default_rng(seed)
    ages = np.asarray(ages, dtype=np.float64)
    size = len(ages)

    rate = rng.gamma(purchases.r, 1.0 / purchases.alpha, size)
    dropout = rng.beta(purchases.a, purchases.b, size)
    purchases_if_never_dropping = rng.poisson(rate * ages)
    purchases_before_dropping = rng.geometric(dropout)
    frequency = np.minimum(purchases_if_never_dropping, purchases_before_dropping)

    repeat = frequency > 0
    # The x-th of n uniform arrival times in (0, T] is T·Beta(x, n − x + 1).
    order_statistic = rng.beta(
        np.where(repeat, frequency, 1),
        np.where(repeat, purchases_if_never_dropping - frequency + 1, 1),
    )
    recency = np.where(repeat, ages * order_statistic, 0.0)

    # Each transaction ~ Gamma(p, rate ν), ν ~ Gamma(q, rate v): the sum of x of them is
    # Gamma(p·x, rate ν), and the mean is that over x.
    spend_rate = rng.gamma(spend.q, 1.0 / spend.v, size)
    total = rng.gamma(np.where(repeat, spend.p * frequency, 1.0), 1.0 / spend_rate)
    monetary_value = np.where(repeat, total / np.maximum(frequency, 1), 0.0)

    return CustomerSummary(
        customer_ids=np.arange(1, size + 1),
        frequency=frequency.astype(np.float64),
        recency=recency,
        age=ages,
        monetary_value=monetary_value,
    )


def cohort_ages(customers: int, *, first: float, last: float, seed: int) -> np.ndarray:
    """Ages T of customers whose first purchases are spread evenly over a period, e.g. first
    purchases over weeks 0–12 of a 39-week window give ages between 27 and 39 weeks."""
    rng = np.random.default_rng(seed)
    return rng.uniform(first, last, customers)
