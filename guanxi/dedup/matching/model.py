"""The Fellegi–Sunter model: how strongly does each agreement level say "same customer"?

For every field and level the model holds two probabilities: *m*, how often a true duplicate pair
shows this level, and *u*, how often a pair of different customers does. A pair's evidence is the
product of m/u over its fields (fields missing on either side say nothing), and with the share
λ of duplicates among candidate pairs this gives the probability that the pair is one customer:

    P(match | levels) = λ·Πm / (λ·Πm + (1 − λ)·Πu)

Fellegi & Sunter (1969), "A theory for record linkage", JASA 64(328). m, u and λ are estimated
from the candidate pairs themselves by expectation–maximisation (Winkler 1988; the method
behind Splink and the recordlinkage package's ECM classifier), so no labelled data are needed
and each installation's model fits its own data. Pairs are first reduced to their distinct
level patterns with counts, which makes EM over millions of pairs take milliseconds.

The defaults below are starting values and a weak prior (pseudo-counts), which keeps the
estimates sensible for fields a data set hardly has (FEBRL has no phones; a fresh CRM may have
no ID numbers). They are also the model used before any scan has fitted one.
"""

import json
import math
from dataclasses import dataclass, field

import numpy as np

from .compare import FIELD_INDEX, FIELDS, MISSING, NAME

# m and u per field, by level (see compare.FIELDS for the level names), and λ, among candidate
# pairs. Rounded and softened from a fit on the generated Chinese data set (``guanxi dedup
# evaluate --dataset chinese``), which is what a CRM's customers look like before its own first
# scan.
DEFAULT_M = {
    "name": [0.03, 0.02, 0.05, 0.05, 0.20, 0.65],
    "organization_name": [0.02, 0.01, 0.02, 0.05, 0.05, 0.85],
    "phone": [0.10, 0.90],
    "email": [0.05, 0.95],
    "id_number": [0.02, 0.98],
    "birth_date": [0.02, 0.02, 0.96],
    "company": [0.02, 0.02, 0.96],
    "shared_contact": [0.05, 0.95],
    "address": [0.01, 0.02, 0.10, 0.15, 0.72],
}
DEFAULT_U = {
    "name": [0.67, 0.005, 0.003, 0.005, 0.03, 0.287],
    "organization_name": [0.50, 0.02, 0.02, 0.02, 0.01, 0.43],
    "phone": [0.998, 0.002],
    "email": [0.998, 0.002],
    "id_number": [0.9995, 0.0005],
    "birth_date": [0.97, 0.005, 0.025],
    "company": [0.90, 0.01, 0.09],
    "shared_contact": [0.97, 0.03],
    "address": [0.40, 0.58, 0.01, 0.005, 0.005],
}
DEFAULT_PRIOR = 0.20
# Weight of the defaults in the estimates, in pairs: small against real data, enough to keep
# a level that no pair shows from getting probability zero.
PSEUDO_PAIRS = 20.0
FLOOR = 1e-6


@dataclass
class MatchModel:
    """Fitted (or default) Fellegi–Sunter parameters."""

    prior: float
    m: dict[str, list[float]]
    u: dict[str, list[float]]
    converged: bool = True
    iterations: int = 0
    pairs: int = 0
    source: str = "default"
    # Σ f² over people's name keys (f: share of customers with that key): how often two
    # customers picked at random share a name. None until a scan has counted names.
    name_collision: float | None = None
    _weights: np.ndarray | None = field(default=None, repr=False, compare=False)

    def weights(self) -> np.ndarray:
        """log2(m/u) as a (fields, max levels + 1) table; the last column (MISSING) is 0."""
        if self._weights is None:
            width = max(f.size for f in FIELDS) + 1
            table = np.zeros((len(FIELDS), width))
            for i, f in enumerate(FIELDS):
                m = np.maximum(np.asarray(self.m[f.name], dtype=float), FLOOR)
                u = np.maximum(np.asarray(self.u[f.name], dtype=float), FLOOR)
                table[i, : f.size] = np.log2(m / u)
            self._weights = table
        return self._weights

    def match_weights(self, levels: np.ndarray) -> np.ndarray:
        """Each pair's total evidence, log2 of the likelihood ratio (Splink's "match weight")."""
        levels = np.asarray(levels)
        if levels.size == 0:
            return np.zeros(len(levels))
        table = self.weights()
        columns = np.where(levels == MISSING, table.shape[1] - 1, levels)
        return table[np.arange(len(FIELDS))[None, :], columns].sum(axis=1)

    def name_adjustments(self, levels: np.ndarray, name_share: np.ndarray | None) -> np.ndarray:
        """Extra evidence, in bits, for sharing a rare name and less for a common one.

        Agreeing on 王伟 (shared by one customer in five hundred) says much less than agreeing on
        a name nobody else has. Among different customers, pairs sharing name X occur in
        proportion to f_X², among duplicates in proportion to f_X, which turns the average
        weight of an agreeing name into one for this name: + log2(Σf² / f_X) (the
        term-frequency adjustment of Winkler, also in Splink). Limited to ±6 bits, so a few
        customers more or less never decide a pair on their own.
        """
        adjustment = np.zeros(len(levels))
        if name_share is None or self.name_collision is None or not len(levels):
            return adjustment
        column = np.asarray(levels)[:, FIELD_INDEX["name"]]
        agreeing = (column == NAME["exact"]) | (column == NAME["same sound"])
        share = np.maximum(np.asarray(name_share, dtype=float), FLOOR)
        bits = np.clip(np.log2(self.name_collision / share), -6.0, 6.0)
        adjustment[agreeing] = bits[agreeing]
        return adjustment

    def probabilities(self, levels: np.ndarray, name_share: np.ndarray | None = None) -> np.ndarray:
        """P(same customer) for each pair, from its levels; ``name_share`` is, per pair, the
        share of all customers who have the pair's name (see :meth:`name_adjustments`)."""
        prior = min(max(self.prior, FLOOR), 1 - FLOOR)
        log_odds = (
            self.match_weights(levels)
            + self.name_adjustments(levels, name_share)
            + math.log2(prior / (1 - prior))
        )
        return 1.0 / (1.0 + np.exp2(-np.clip(log_odds, -60, 60)))

    def explain(self, levels_row) -> list[dict]:
        """What each field contributed to one pair's score, for showing a reviewer."""
        table = self.weights()
        out = []
        for i, f in enumerate(FIELDS):
            level = int(levels_row[i])
            if level == MISSING:
                continue
            out.append({"field": f.name, "level": f.levels[level], "weight": table[i, level]})
        return out

    def to_dict(self) -> dict:
        return {
            "prior": self.prior,
            "m": self.m,
            "u": self.u,
            "converged": self.converged,
            "iterations": self.iterations,
            "pairs": self.pairs,
            "source": self.source,
            "name_collision": self.name_collision,
        }

    @classmethod
    def from_dict(cls, data: dict) -> "MatchModel":
        model = cls(
            prior=float(data["prior"]),
            m={k: list(map(float, v)) for k, v in data["m"].items()},
            u={k: list(map(float, v)) for k, v in data["u"].items()},
            converged=bool(data.get("converged", True)),
            iterations=int(data.get("iterations", 0)),
            pairs=int(data.get("pairs", 0)),
            source=str(data.get("source", "stored")),
            name_collision=data.get("name_collision"),
        )
        for f in FIELDS:  # a model stored before a field or level existed
            if len(model.m.get(f.name, [])) != f.size or len(model.u.get(f.name, [])) != f.size:
                model.m[f.name] = list(DEFAULT_M[f.name])
                model.u[f.name] = list(DEFAULT_U[f.name])
        return model

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)


def rounded_reasons(explanation: list[dict]) -> list[dict]:
    """A pair's reasons (:meth:`MatchModel.explain`) as the review queue stores them
    (``DuplicatePair.details["fields"]``): each field's weight to two decimals."""
    return [{**item, "weight": round(float(item["weight"]), 2)} for item in explanation]


# How far from 0 and 1 a stored score is taken to be when its evidence is taken apart again: a
# score rounded to 1.0 says "at least this sure", and its log-odds would be infinite.
SCORE_CLIP = 1e-15


def score_without(score: float, explanation: list[dict] | None, field: str = "id_number") -> float:
    """The score a pair would have without ``field``'s evidence (from :meth:`MatchModel.explain`):
    the field's weight is the bits it added to the log-odds, so taking it away again is
    1 / (1 + 2^-(log2(score / (1 - score)) − weight)). A pair whose explanation does not name
    the field keeps its score.

    A pair that nothing else speaks for scores 0: it was found through the field alone (its
    blocking key), and where a scan fitted the model on few customers, the share of duplicates
    among the pairs found is near one, which alone would put such a pair near 100 %."""
    reasons = list(explanation or ())
    weight = sum(float(r.get("weight") or 0.0) for r in reasons if r.get("field") == field)
    if not weight:
        return float(score)
    if not any(float(r.get("weight") or 0.0) > 0 for r in reasons if r.get("field") != field):
        return 0.0
    p = min(max(float(score), SCORE_CLIP), 1.0 - SCORE_CLIP)
    log_odds = math.log2(p / (1.0 - p)) - weight
    return 1.0 / (1.0 + 2.0 ** -min(max(log_odds, -60.0), 60.0))


def scores_without(
    model: MatchModel, scores: np.ndarray, levels: np.ndarray, field: str = "id_number"
) -> np.ndarray:
    """:func:`score_without` for many pairs at once, from their levels."""
    scores = np.asarray(scores, dtype=float)
    if not len(scores):
        return scores.copy()
    levels = np.asarray(levels)
    table = model.weights()
    columns = np.where(levels == MISSING, table.shape[1] - 1, levels)
    weights = table[np.arange(len(FIELDS))[None, :], columns]
    weight = weights[:, FIELD_INDEX[field]]
    others = np.delete(weights, FIELD_INDEX[field], axis=1)
    p = np.clip(scores, SCORE_CLIP, 1.0 - SCORE_CLIP)
    log_odds = np.log2(p / (1.0 - p)) - weight
    blind = 1.0 / (1.0 + np.exp2(-np.clip(log_odds, -60.0, 60.0)))
    blind = np.where((others > 0).any(axis=1), blind, 0.0)
    return np.where(weight == 0.0, scores, blind)


def default_model() -> MatchModel:
    return MatchModel(
        prior=DEFAULT_PRIOR,
        m={k: list(v) for k, v in DEFAULT_M.items()},
        u={k: list(v) for k, v in DEFAULT_U.items()},
        source="default",
    )


def _patterns(levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of ``levels`` and how often each occurs. Rows are packed into one integer
    each first (sorting ten million integers takes a second; sorting rows, a minute)."""
    if len(levels) == 0:
        return np.empty((0, len(FIELDS)), dtype=np.int8), np.empty(0)
    base = max(f.size for f in FIELDS) + 1  # levels -1 … size-1, shifted to 0 … size
    weights = base ** np.arange(levels.shape[1], dtype=np.int64)
    packed = (levels.astype(np.int64) + 1) @ weights
    codes, counts = np.unique(packed, return_counts=True)
    patterns = (codes[:, None] // weights[None, :]) % base - 1
    return patterns.astype(np.int8), counts.astype(float)


def fit(
    levels: np.ndarray,
    *,
    start: MatchModel | None = None,
    max_iterations: int = 500,
    tolerance: float = 1e-7,
) -> MatchModel:
    """Estimate m, u and λ from the candidate pairs' levels by EM.

    Starts from ``start`` (the defaults if None), which also serves as a prior of
    :data:`PSEUDO_PAIRS` pairs. ``converged`` is False when the parameters still moved more
    than ``tolerance`` after ``max_iterations`` rounds.
    """
    start = start or default_model()
    patterns, counts = _patterns(np.asarray(levels, dtype=np.int8))
    total = counts.sum()
    if total == 0:
        model = default_model()
        model.source = "default (no candidate pairs)"
        return model
    prior = min(max(start.prior, 0.001), 0.999)
    m = {f.name: np.asarray(start.m[f.name], dtype=float) for f in FIELDS}
    u = {f.name: np.asarray(start.u[f.name], dtype=float) for f in FIELDS}
    m0 = {f.name: np.asarray(DEFAULT_M[f.name]) for f in FIELDS}
    u0 = {f.name: np.asarray(DEFAULT_U[f.name]) for f in FIELDS}
    present = [patterns[:, i] != MISSING for i in range(len(FIELDS))]
    converged = False
    iteration = 0
    for iteration in range(1, max_iterations + 1):  # noqa: B007 (reported below)
        log_m = np.zeros(len(patterns))
        log_u = np.zeros(len(patterns))
        for i, f in enumerate(FIELDS):
            rows = present[i]
            column = patterns[rows, i]
            log_m[rows] += np.log(np.maximum(m[f.name][column], FLOOR))
            log_u[rows] += np.log(np.maximum(u[f.name][column], FLOOR))
        a = math.log(prior) + log_m
        b = math.log(1 - prior) + log_u
        posterior = 1.0 / (1.0 + np.exp(np.clip(b - a, -700, 700)))
        matched = counts * posterior
        unmatched = counts - matched
        new_prior = min(max(matched.sum() / total, 1e-6), 1 - 1e-6)
        change = abs(new_prior - prior)
        prior = new_prior
        for i, f in enumerate(FIELDS):
            rows = present[i]
            column = patterns[rows, i]
            m_counts = np.bincount(column, weights=matched[rows], minlength=f.size)
            u_counts = np.bincount(column, weights=unmatched[rows], minlength=f.size)
            new_m = (m_counts + PSEUDO_PAIRS * m0[f.name]) / (m_counts.sum() + PSEUDO_PAIRS)
            new_u = (u_counts + PSEUDO_PAIRS * u0[f.name]) / (u_counts.sum() + PSEUDO_PAIRS)
            change = max(change, np.abs(new_m - m[f.name]).max(), np.abs(new_u - u[f.name]).max())
            m[f.name], u[f.name] = new_m, new_u
        if change < tolerance:
            converged = True
            break
    fitted = MatchModel(
        prior=float(prior),
        m={k: [float(x) for x in v] for k, v in m.items()},
        u={k: [float(x) for x in v] for k, v in u.items()},
        converged=converged,
        iterations=iteration,
        pairs=int(total),
        source="fitted",
    )
    problem = implausibility(fitted)
    if problem:
        model = default_model()
        model.pairs, model.iterations, model.converged = int(total), iteration, converged
        model.source = f"default (the fit was implausible: {problem})"
        return model
    return fitted


# A duplicate's name differs completely now and then (a typo-ridden copy, an English name for a
# Chinese one), but not usually: a fit that says otherwise has found some other pattern.
MAX_DIFFERENT_NAME_SHARE = 0.35


def implausibility(model: MatchModel) -> str | None:
    """Why a fitted model cannot be describing duplicates, or None.

    EM finds *a* split of the candidate pairs into two groups that explains their levels; it is
    the split into duplicates and the rest when the data has duplicates. In data with hardly any
    (a freshly cleaned database, generated demo data), the largest regular group may be
    something else — say customers born on the same day near each other — and a model fitted to
    that would call them all duplicates. Such a fit is recognised by what duplicates never look
    like: mostly different names, or agreement being evidence against being the same."""
    for name in ("name", "organization_name"):
        share = model.m[name][NAME["different"]]
        if share > MAX_DIFFERENT_NAME_SHARE:
            return f"{name} would differ in {share:.0%} of duplicates"
    for f in FIELDS:
        m = np.maximum(np.asarray(model.m[f.name]), FLOOR)
        u = np.maximum(np.asarray(model.u[f.name]), FLOOR)
        if m[-1] / u[-1] < m[0] / u[0]:
            return f"agreeing on {f.name} would count against"
    return None
