"""The one duplicate-detection engine behind the scan, the importer and the new-customer form.

    records ─► blocking keys ─► candidate pairs ─► field levels ─► Fellegi–Sunter ─► P(match)

:func:`find_duplicates` runs the whole chain over a table of records (a database scan, a
benchmark file); :func:`score_candidates` scores one new record against candidates someone has
already found (the importer and the form find them through the stored blocking keys).
"""

import time
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from .blocking import DEFAULT_MAX_BLOCK, BlockingStats, candidate_pairs, table_key_arrays
from .compare import compare_pairs
from .model import MatchModel, default_model, fit
from .records import PERSON, MatchRecord, RecordTable

# Pairs at or above the review threshold are worth a person's look; at or above the merge
# threshold the importer may merge without asking (``--dedup auto``).
REVIEW_THRESHOLD = 0.80
MERGE_THRESHOLD = 0.98


@dataclass
class DuplicateSearch:
    """Scored candidate pairs (positions into the table) and how they were found.

    ``inferred`` marks pairs that were not compared as a pair but follow from others: if A is
    B and B is C, A is C (see :func:`add_transitive_pairs`)."""

    left: np.ndarray
    right: np.ndarray
    levels: np.ndarray
    scores: np.ndarray
    model: MatchModel
    blocking: BlockingStats
    seconds: dict[str, float] = field(default_factory=dict)
    inferred: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.inferred is None:
            self.inferred = np.zeros(len(self.left), dtype=bool)

    def above(self, threshold: float) -> "DuplicateSearch":
        return self.where(self.scores >= threshold)

    def where(self, keep: np.ndarray) -> "DuplicateSearch":
        """The pairs where ``keep`` is true."""
        return DuplicateSearch(
            left=self.left[keep],
            right=self.right[keep],
            levels=self.levels[keep],
            scores=self.scores[keep],
            model=self.model,
            blocking=self.blocking,
            seconds=self.seconds,
            inferred=self.inferred[keep],
        )

    def __len__(self) -> int:
        return len(self.left)


def _same_party_type(table: RecordTable, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    types = table.columns["party_type"]
    return types[left] == types[right]


def find_duplicates(
    table: RecordTable,
    *,
    key_hashes: np.ndarray | None = None,
    key_positions: np.ndarray | None = None,
    model: MatchModel | None = None,
    max_block: int = DEFAULT_MAX_BLOCK,
) -> DuplicateSearch:
    """All candidate pairs of ``table`` with their match probability.

    Blocking keys are computed from the records unless given (the scan reads the stored ones).
    Without ``model`` the parameters are fitted on these pairs by EM; with one, it is used as
    it is (scoring a file against a fitted model, say).
    """
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    if key_hashes is None or key_positions is None:
        key_hashes, key_positions = table_key_arrays(table.records)
    left, right, stats = candidate_pairs(key_hashes, key_positions, max_block=max_block)
    keep = _same_party_type(table, left, right)
    left, right = left[keep], right[keep]
    stats.candidate_pairs = len(left)
    seconds["blocking"] = time.perf_counter() - started

    started = time.perf_counter()
    levels = compare_pairs(table, left, right)
    seconds["comparing"] = time.perf_counter() - started

    started = time.perf_counter()
    shares, collision = name_shares(table)
    if model is None:
        model = fit(levels)
        model.name_collision = collision
    pair_shares = np.maximum(shares[left], shares[right]) if len(left) else np.empty(0)
    scores = model.probabilities(levels, pair_shares)
    seconds["scoring"] = time.perf_counter() - started
    return DuplicateSearch(left, right, levels, scores, model, stats, seconds)


def name_shares(table: RecordTable) -> tuple[np.ndarray, float | None]:
    """For each record, the share of the table's people with its name key; and Σ f² over
    the name keys (the chance that two people picked at random share a name)."""
    keys = table.columns["name_key"]
    people = table.columns["party_type"] == PERSON
    counts = Counter(k for k, is_person in zip(keys, people, strict=True) if is_person and k)
    total = sum(counts.values())
    if not total:
        return np.zeros(len(table)), None
    shares = np.fromiter((counts.get(k, 0) / total for k in keys), float, len(keys))
    collision = float(sum((c / total) ** 2 for c in counts.values()))
    return shares, collision


def add_transitive_pairs(
    search: DuplicateSearch, table: RecordTable, *, threshold: float, max_group: int = 8
) -> DuplicateSearch:
    """Add the pairs that follow from others above ``threshold``: when A–B and B–C are
    duplicates, so is A–C, even if A and C have nothing left in common (two salespeople who
    each wrote down half of a customer's details).

    An inferred pair's score is that of the weakest link on its strongest path. Groups larger
    than ``max_group`` are left alone: a long chain is more likely one bad link than one
    customer entered ten times.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    strong = search.scores >= threshold
    left, right, scores = search.left[strong], search.right[strong], search.scores[strong]
    if not len(left):
        return search
    nodes, inverse = np.unique(np.concatenate([left, right]), return_inverse=True)
    a, b = inverse[: len(left)], inverse[len(left) :]
    graph = coo_matrix((np.ones(len(a)), (a, b)), shape=(len(nodes), len(nodes)))
    _count, labels = connected_components(graph, directed=False)
    sizes = np.bincount(labels)
    known = set(zip(search.left.tolist(), search.right.tolist(), strict=True))
    added_left, added_right, added_scores = [], [], []
    # Edges and members of each group, found by sorting once (not by searching per group).
    edge_labels = labels[a]
    edge_order = np.argsort(edge_labels, kind="stable")
    edge_starts = np.searchsorted(edge_labels[edge_order], np.arange(len(sizes) + 1))
    node_order = np.argsort(labels, kind="stable")
    node_starts = np.searchsorted(labels[node_order], np.arange(len(sizes) + 1))
    for label in np.flatnonzero((sizes > 2) & (sizes <= max_group)):
        members = node_order[node_starts[label] : node_starts[label + 1]]
        index = {node: i for i, node in enumerate(members)}
        # Widest-path (maximin) scores within the group, Floyd–Warshall style.
        best = np.zeros((len(members), len(members)))
        for edge in edge_order[edge_starts[label] : edge_starts[label + 1]]:
            i, j = index[a[edge]], index[b[edge]]
            best[i, j] = best[j, i] = max(best[i, j], scores[edge])
        for k in range(len(members)):
            best = np.maximum(best, np.minimum(best[:, [k]], best[[k], :]))
        for i in range(len(members)):
            for j in range(i + 1, len(members)):
                pair = (int(nodes[members[i]]), int(nodes[members[j]]))
                low, high = min(pair), max(pair)
                if (low, high) not in known and best[i, j] >= threshold:
                    added_left.append(low)
                    added_right.append(high)
                    added_scores.append(best[i, j])
    if not added_left:
        return search
    extra_left = np.array(added_left, dtype=np.int64)
    extra_right = np.array(added_right, dtype=np.int64)
    return DuplicateSearch(
        left=np.concatenate([search.left, extra_left]),
        right=np.concatenate([search.right, extra_right]),
        levels=np.concatenate([search.levels, compare_pairs(table, extra_left, extra_right)]),
        scores=np.concatenate([search.scores, np.array(added_scores)]),
        model=search.model,
        blocking=search.blocking,
        seconds=search.seconds,
        inferred=np.concatenate([search.inferred, np.ones(len(extra_left), dtype=bool)]),
    )


def score_candidates(
    record: MatchRecord,
    candidates: list[MatchRecord],
    *,
    model: MatchModel | None = None,
    name_share: float | None = None,
) -> list[tuple[MatchRecord, float, np.ndarray]]:
    """Score ``record`` against each candidate of the same party type, best first.

    ``name_share`` is the share of all people who have the record's name, when known (see
    ``MatchModel.name_adjustments``)."""
    model = model or default_model()
    same_type = [c for c in candidates if c.party_type == record.party_type]
    if not same_type:
        return []
    table = RecordTable([record, *same_type])
    left = np.zeros(len(same_type), dtype=np.int64)
    right = np.arange(1, len(same_type) + 1, dtype=np.int64)
    levels = compare_pairs(table, left, right)
    shares = None if name_share is None else np.full(len(same_type), name_share)
    scores = model.probabilities(levels, shares)
    ranked = sorted(zip(same_type, scores, levels, strict=True), key=lambda item: -item[1])
    return [(c, float(s), lv) for c, s, lv in ranked]
