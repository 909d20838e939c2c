"""Input checks shared by the customer-value modules.

Every public function takes one array per attribute, one element per customer, and turns them
into 1-D numpy arrays here, so that a wrong input fails early with a message that names the
argument (and, for a bad value, the first customer affected by position) instead of surfacing
later as a broadcasting error or a silent NaN.
"""

from typing import NoReturn

import numpy as np
from numpy.typing import ArrayLike


def fail(name: str, bad: np.ndarray, values: np.ndarray, what: str) -> NoReturn:
    """Raise a ValueError naming the argument and the first offending customer."""
    index = int(np.flatnonzero(bad)[0])
    value = values[index]
    value = value.item() if isinstance(value, np.generic) else value  # 1.5, not np.float64(1.5)
    raise ValueError(
        f"{name} must {what}; customer #{index} has {value!r} "
        f"({int(bad.sum())} customer(s) affected)"
    )


def as_floats(name: str, values: ArrayLike, *, allow_nan: bool = False) -> np.ndarray:
    """A 1-D float array of finite numbers (NaN allowed when ``allow_nan``)."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be numbers, one per customer: {error}") from None
    if array.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array, one element per customer")
    bad = np.isinf(array) if allow_nan else ~np.isfinite(array)
    if bad.any():
        fail(name, bad, array, "be finite" + (" or NaN" if allow_nan else ""))
    return array


def as_bools(name: str, values: ArrayLike) -> np.ndarray:
    """A 1-D bool array; integers are accepted when they are all 0 or 1."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array, one element per customer")
    if array.size == 0:
        return np.zeros(0, dtype=bool)
    if array.dtype.kind == "b":
        return array
    if array.dtype.kind in "iu":
        bad = (array != 0) & (array != 1)
        if bad.any():
            fail(name, bad, array, "be true/false (0 or 1)")
        return array.astype(bool)
    raise ValueError(f"{name} must be booleans, not {array.dtype}")


def as_labels(name: str, values: ArrayLike) -> np.ndarray:
    """A 1-D array of string keys (tiers, ratings)."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array, one element per customer")
    if array.size == 0:
        return np.zeros(0, dtype=str)
    if array.dtype.kind not in "UO":
        raise ValueError(f"{name} must be strings, not {array.dtype}")
    return array.astype(str)


def same_length(**arrays: np.ndarray) -> int:
    """The common length of the arrays; a ValueError naming the odd one out otherwise."""
    (first, reference), *others = arrays.items()
    for name, array in others:
        if len(array) != len(reference):
            raise ValueError(
                f"{name} has {len(array)} elements but {first} has {len(reference)}: "
                "every argument needs one element per customer"
            )
    return len(reference)


def check_share(name: str, share: float) -> float:
    """A fraction between 0 and 1 inclusive."""
    share = float(share)
    if not 0.0 <= share <= 1.0:  # also rejects NaN
        raise ValueError(f"{name} must be between 0 and 1, not {share}")
    return share


def count_of(share: float, customers: int) -> int:
    """How many customers a share stands for: share × n rounded half up.

    Half up rather than Python's round-half-to-even, so that 0.5 × 3 customers is 2, as a
    reader would expect. The small epsilon is there because the product is not always exact:
    0.58 × 25 comes out as 14.499999999999998 in floating point and would otherwise round to 14.
    """
    return int(np.floor(share * customers + 0.5 + 1e-9))


def tie_midpoints(values: np.ndarray, *, descending: bool) -> np.ndarray:
    """Twice the midpoint of the ranking positions each customer's value occupies.

    Customers sorted by value take positions [0, n); a group of k equal values starting at
    position s occupies [s, s + k), whose midpoint is s + k/2. Twice that, s + s + k, is an
    integer, so the callers can compare it with twice a cut-off without any rounding. Equal
    values get equal midpoints, which is how every ranking in this package treats ties.
    """
    keys = -values if descending else values
    _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    starts = ends - counts
    return (starts + ends)[inverse.reshape(-1)]
