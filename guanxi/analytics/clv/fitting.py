"""Maximum-likelihood fitting shared by the lifetime-value models.

Both models have strictly positive parameters, so they are fitted on the logarithms of the
parameters: the optimiser then works on an unconstrained, well-scaled problem, and a parameter
cannot step below zero. The objective is the *mean* negative log-likelihood per customer, so the
tolerances mean the same thing for a thousand customers as for a million.

A fit is only called converged when the gradient at the answer is really small, every number
is finite and no parameter has run off to the edge of the search box (which is what happens
when the data cannot pin the model down, e.g. when nobody ever comes back). The caller always
gets the answer *and* the verdict; nothing here hides a failed fit.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from threadpoolctl import threadpool_limits

# Log-parameters live in [-LOG_BOUND, LOG_BOUND]: e^±25 spans any sensible rate, shape or
# scale many times over, so an optimum at the edge means "not identified", not "large".
LOG_BOUND = 25.0
# The optimiser aims for this projected-gradient size (per customer, log-parameter space)...
TARGET_GRADIENT = 1e-9
# ...and a result is accepted as converged up to this one. Between the two lies what finite
# precision can leave on very large data sets; parameters are then still right to ~1e-6.
ACCEPTED_GRADIENT = 1e-5
DEFAULT_MAX_ITERATIONS = 500
# Smallest per-customer curvature (Hessian eigenvalue, log-parameters) of a proper maximum.
# Real fits have 1e-3 and more (CDNOW: 3e-3); a direction the data say nothing about has 0
# give or take the finite-difference noise (~1e-10).
FLAT_CURVATURE = 1e-8

Objective = Callable[[np.ndarray], tuple[float, np.ndarray]]


def weighted_sum(weights: np.ndarray, values: np.ndarray) -> float:
    """Σ weights·values. Not ``np.dot``: that goes to a multi-threaded BLAS whose threads spin
    against each other on a busy machine (40 times slower here with the other core loaded),
    while einsum's plain loop is as fast as a dot product can be on one core."""
    return float(np.einsum("i,i->", weights, values))


@dataclass(frozen=True)
class FitDiagnostics:
    """How the optimiser ended, in words a person can act on."""

    converged: bool
    message: str
    iterations: int
    evaluations: int
    # Largest absolute component of the gradient of the mean negative log-likelihood with
    # respect to the log-parameters, at the returned answer.
    gradient_norm: float


@dataclass(frozen=True)
class LogSpaceOptimum:
    log_parameters: np.ndarray
    mean_negative_log_likelihood: float
    diagnostics: FitDiagnostics
    # Standard errors of the log-parameters (None unless converged).
    log_standard_errors: np.ndarray | None


def minimise_in_log_space(
    objective: Objective,
    start: np.ndarray,
    *,
    names: tuple[str, ...],
    total_weight: float,
    max_iterations: int = DEFAULT_MAX_ITERATIONS,
) -> LogSpaceOptimum:
    """Minimise ``objective`` (value and analytic gradient) over log-parameters with L-BFGS-B,
    then check the answer is a proper maximum of the likelihood and get standard errors.

    ``total_weight`` (the number of customers) scales the per-customer curvature back to the
    whole likelihood's for the standard errors.
    """
    # The optimiser's own arithmetic is on a handful of numbers, yet a multi-threaded BLAS
    # leaves its threads spinning after every call, taking the core the likelihood needs
    # (measured: the fit twice as slow on two cores). One BLAS thread for the whole fit.
    with threadpool_limits(limits=1, user_api="blas"):
        return _minimise_and_check(objective, start, names, total_weight, max_iterations)


def _minimise_and_check(objective, start, names, total_weight, max_iterations):
    evaluations = 0

    def counted(log_parameters: np.ndarray) -> tuple[float, np.ndarray]:
        nonlocal evaluations
        evaluations += 1
        value, gradient = objective(log_parameters)
        if not np.isfinite(value) or not np.all(np.isfinite(gradient)):
            # Tell the line search this step is unusable rather than crash inside it.
            return np.inf, np.zeros_like(log_parameters)
        return value, gradient

    result = minimize(
        counted,
        np.asarray(start, dtype=float),
        jac=True,
        method="L-BFGS-B",
        bounds=[(-LOG_BOUND, LOG_BOUND)] * len(start),
        options={
            "maxiter": max_iterations,
            # Stop on the gradient, not on a small relative change of the objective: the
            # mean log-likelihood changes by less than 1e-10 long before the parameters settle.
            "ftol": 1e-15,
            "gtol": TARGET_GRADIENT,
            "maxcor": 20,
        },
    )
    log_parameters = np.asarray(result.x, dtype=float)
    value, gradient = objective(log_parameters)
    gradient_norm = float(np.max(np.abs(gradient))) if np.all(np.isfinite(gradient)) else np.inf
    optimizer_message = str(result.message)
    problems = []
    if not np.isfinite(value) or not np.all(np.isfinite(log_parameters)):
        problems.append("the likelihood is not finite at the answer")
    for name, log_value in zip(names, log_parameters, strict=True):
        if abs(log_value) >= LOG_BOUND - 1e-6:
            towards = "infinity" if log_value > 0 else "zero"
            problems.append(f"{name} ran off towards {towards}: the data do not pin it down")
    if gradient_norm > ACCEPTED_GRADIENT:
        problems.append(
            f"the gradient is still {gradient_norm:.2g} after {result.nit} iterations "
            f"({optimizer_message})"
        )
    log_errors = None
    if not problems:
        hessian = _hessian(objective, log_parameters, gradient)
        evaluations += len(log_parameters)
        curvatures = np.linalg.eigvalsh(hessian) if np.all(np.isfinite(hessian)) else [np.nan]
        if not np.min(curvatures) > FLAT_CURVATURE:
            # A zero gradient on a plateau or ridge is no maximum: e.g. without any repeat
            # purchase the drop-out parameters do not enter the likelihood at all.
            problems.append(
                "the likelihood is flat along some direction at the answer: the data do not "
                "pin all the parameters down"
            )
        else:
            log_errors = np.sqrt(np.diag(np.linalg.inv(hessian * total_weight)))
    diagnostics = FitDiagnostics(
        converged=not problems,
        message="; ".join(problems) if problems else optimizer_message,
        iterations=int(result.nit),
        evaluations=evaluations,
        gradient_norm=gradient_norm,
    )
    return LogSpaceOptimum(log_parameters, float(value), diagnostics, log_errors)


def _hessian(objective: Objective, log_parameters: np.ndarray, gradient: np.ndarray):
    """Per-customer Hessian in log-parameters: forward differences of the analytic gradient
    (k gradient evaluations; ~1e-5 relative, plenty for standard errors), symmetrised."""
    size = len(log_parameters)
    hessian = np.empty((size, size))
    step = 1e-5
    for index in range(size):
        shifted = log_parameters.copy()
        shifted[index] += step
        hessian[index] = (objective(shifted)[1] - gradient) / step
    return (hessian + hessian.T) / 2
