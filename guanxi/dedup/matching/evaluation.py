"""How good are the pairs found, against a data set whose duplicates are known?

Quality is measured on pairs, as in the record-linkage literature: every pair of records of
the same entity is a true pair (an original with three duplicates makes six), precision is the
share of found pairs that are true, recall the share of true pairs that were found.
"""

import itertools
from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass


def true_pairs(entities: Sequence[Hashable]) -> set[tuple[int, int]]:
    """Pairs of positions ``(i, j)``, ``i < j``, whose records belong to the same entity."""
    groups: dict[Hashable, list[int]] = defaultdict(list)
    for position, entity in enumerate(entities):
        groups[entity].append(position)
    return {(i, j) for members in groups.values() for i, j in itertools.combinations(members, 2)}


@dataclass(frozen=True)
class Quality:
    found: int
    true: int
    correct: int

    @property
    def precision(self) -> float:
        return self.correct / self.found if self.found else 1.0

    @property
    def recall(self) -> float:
        return self.correct / self.true if self.true else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def quality(found: Iterable[tuple[int, int]], truth: set[tuple[int, int]]) -> Quality:
    normalised = {(min(a, b), max(a, b)) for a, b in found}
    return Quality(found=len(normalised), true=len(truth), correct=len(normalised & truth))
