"""Comparing candidate pairs field by field.

Each field of a pair is graded into a few *agreement levels* (exact, close, different …, or
:data:`MISSING` when either side has no value). The levels, not raw similarity scores, are what
the Fellegi–Sunter model (:mod:`.model`) weighs: how much more often does a true duplicate agree
this well on this field than two different customers do?

Fields are of two kinds. *Identifying* fields belong to one customer: name, own phone (a
mobile; any number of an organisation), email, ID number, birth date. *Context* fields are
shared by the people around them: employer, office or home landline, address. Colleagues share
all the context fields at once, and so do families, which breaks the model's assumption that
fields agree independently: counted separately, they would add up to "same person" for any two
colleagues. Context therefore only counts once the names agree at least a little; for a pair with
clearly different names, context fields are treated as missing (see :func:`compare_pairs`).

String similarity comes from rapidfuzz, whose ``cpdist`` compares the i-th left string with the
i-th right string in C over whole arrays, so millions of pairs take seconds.
"""

from dataclasses import dataclass

import numpy as np
from rapidfuzz import distance, fuzz, process

from .records import ORGANIZATION, RecordTable

MISSING = -1


@dataclass(frozen=True)
class Field:
    name: str
    levels: tuple[str, ...]  # names of the levels 0..n-1
    context: bool = False  # shared with colleagues or family: counts only if names agree

    @property
    def size(self) -> int:
        return len(self.levels)


NAME_LEVELS = ("different", "similar", "close", "partial", "same sound", "exact")
FIELDS = (
    # People's and organisations' names are separate fields: an organisation's exact name says
    # far more than a person's (there are many 王伟 but one 华瑞科技 in a city).
    Field("name", NAME_LEVELS),
    Field("organization_name", NAME_LEVELS),
    Field("phone", ("different", "shared")),
    Field("email", ("different", "shared")),
    Field("id_number", ("different", "same")),
    Field("birth_date", ("different", "one typo", "same")),
    Field("company", ("different", "close", "same"), context=True),
    Field("shared_contact", ("different", "shared"), context=True),
    Field(
        "address",
        ("different", "same city", "same postcode", "similar street", "same street"),
        context=True,
    ),
)
FIELD_NAMES = tuple(f.name for f in FIELDS)
FIELD_INDEX = {f.name: i for i, f in enumerate(FIELDS)}
NAME = {level: i for i, level in enumerate(NAME_LEVELS)}
ADDRESS = {level: i for i, level in enumerate(FIELDS[-1].levels)}


def _pairwise(left: np.ndarray, right: np.ndarray, scorer) -> np.ndarray:
    if len(left) == 0:
        return np.empty(0, dtype=np.float64)
    # Threads pay off for big arrays (a scan) and cost more than they save for small ones (a
    # record typed into a form, an import batch).
    workers = -1 if len(left) > 50_000 else 1
    return np.asarray(process.cpdist(list(left), list(right), scorer=scorer, workers=workers))


def _graded(similarity: np.ndarray, thresholds: tuple[float, ...]) -> np.ndarray:
    """Level k where similarity reaches thresholds[k-1] (thresholds ascending)."""
    levels = np.zeros(len(similarity), dtype=np.int8)
    for level, threshold in enumerate(thresholds, start=1):
        levels[similarity >= threshold] = level
    return levels


def _word_similarity(a: tuple[str, ...], b: tuple[str, ...]) -> float:
    """The weakest agreement between matched words of two names (each word of the shorter name
    matched to its most similar word of the other, Jaro–Winkler), or of the names run together
    when either is one word ("zhangwei")."""
    if not a or not b:
        return 0.0
    jaro = distance.JaroWinkler.normalized_similarity
    if len(a) == 1 or len(b) == 1:
        return jaro("".join(a), "".join(b))
    shorter, longer = (a, b) if len(a) <= len(b) else (b, a)
    remaining = list(longer)
    weakest = 1.0
    for word in shorter:
        scores = [jaro(word, other) for other in remaining]
        best = max(range(len(scores)), key=scores.__getitem__)
        weakest = min(weakest, scores[best])
        remaining.pop(best)
    return weakest


def _subset(positions: np.ndarray, values: np.ndarray, left, right, test) -> np.ndarray:
    """``test(values[left[i]], values[right[i]])`` for the pairs at ``positions`` (a Python loop,
    kept to the few pairs that need it)."""
    return np.fromiter(
        (test(values[left[i]], values[right[i]]) for i in positions),
        dtype=bool,
        count=len(positions),
    )


def _compare_names(t: RecordTable, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    c, k = t.columns, t.codes
    n = len(left)
    han_l, han_r = k["name_han"][left], k["name_han"][right]
    key_l, key_r = k["name_key"][left], k["name_key"][right]
    has_han_l, has_han_r = han_l >= 0, han_r >= 0
    any_han = has_han_l | has_han_r
    both_han = has_han_l & has_han_r
    keys_equal = (key_l == key_r) & (key_l >= 0)
    joined_l, joined_r = k["name_joined"][left], k["name_joined"][right]
    same_sound = keys_equal | ((joined_l == joined_r) & (joined_l >= 0))
    # Both in Latin letters: how close the words are (typos, dropped letters), word by word:
    # "Chen Jing" and "Chen Tao" share a surname, not a name.
    similarity = np.zeros(n)
    latin = np.flatnonzero(~any_han & ~same_sound & (key_l >= 0) & (key_r >= 0))
    words = c["name_words"]
    similarity[latin] = [_word_similarity(words[left[i]], words[right[i]]) for i in latin]
    levels = _graded(similarity, (0.80, 0.92))
    # Chinese on either side: a different character is a different name. 王芳 and 王芬 are
    # two people however close their romanisations ("fang", "fen"), and "Hu Fang" is not 胡刚.
    # The slips people make with Chinese names are homophones typed by an input method
    # (张伟 / 张玮), which "same sound" below catches.
    levels[any_han] = NAME["different"]
    # One name inside the other: 张伟 / 张伟明, or "Waller" / "Dylan Waller". Sets of words can only
    # be strict subsets when their sizes differ, which leaves few pairs to look at.
    counts_l, counts_r = k["token_count"][left], k["token_count"][right]
    maybe = np.flatnonzero(~same_sound & (counts_l != counts_r) & (counts_l > 0) & (counts_r > 0))
    if len(maybe):
        tokens = c["name_tokens"]
        partial = _subset(maybe, tokens, left, right, lambda a, b: a <= b or b <= a)
        han_pairs = maybe[both_han[maybe]]
        han_partial = _subset(han_pairs, c["name_han"], left, right, lambda a, b: a in b or b in a)
        partial[np.isin(maybe, han_pairs)] = han_partial
        levels[maybe[partial]] = NAME["partial"]
    both_han_maybe = np.flatnonzero(both_han & ~same_sound & (counts_l == counts_r))
    if len(both_han_maybe):  # the same number of words, one written inside the other: rare
        contained = _subset(
            both_han_maybe, c["name_han"], left, right, lambda a, b: a != b and (a in b or b in a)
        )
        levels[both_han_maybe[contained]] = NAME["partial"]
    levels[same_sound] = NAME["same sound"]
    # Written the same way: the same Han characters, or (both Latin) the same words.
    exact = np.where(both_han, han_l == han_r, keys_equal & ~any_han)
    levels[exact] = NAME["exact"]
    levels[(key_l < 0) | (key_r < 0)] = MISSING
    return levels


def _compare_sets(t: RecordTable, name: str, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    codes, more = t.codes[name], t.codes[f"{name}_more"]
    a, b = codes[left], codes[right]
    shared = np.zeros(len(left), dtype=bool)
    for i in range(a.shape[1]):
        for j in range(b.shape[1]):
            shared |= (a[:, i] == b[:, j]) & (a[:, i] >= 0)
    # Customers with more members than the codes hold: compare their whole sets.
    slow = np.flatnonzero((more[left] | more[right]) & ~shared)
    if len(slow):
        shared[slow] = _subset(slow, t.columns[name], left, right, lambda x, y: not x.isdisjoint(y))
    levels = shared.astype(np.int8)
    levels[(a[:, 0] < 0) | (b[:, 0] < 0)] = MISSING
    return levels


def _compare_equal(t: RecordTable, name: str, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    a, b = t.codes[name][left], t.codes[name][right]
    levels = (a == b).astype(np.int8)
    levels[(a < 0) | (b < 0)] = MISSING
    return levels


def _present(t: RecordTable, name: str, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Positions of the pairs where both sides have a value of the column."""
    codes = t.codes[name]
    return np.flatnonzero((codes[left] >= 0) & (codes[right] >= 0))


def _compare_dates(t: RecordTable, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """same / one slip (a digit changed, added, dropped or two swapped; or day and month
    written the other way round) / different."""
    levels = np.full(len(left), MISSING, dtype=np.int8)
    both = _present(t, "birth_date", left, right)
    if not len(both):
        return levels
    values = t.columns["birth_date"]
    edits = _pairwise(values[left[both]], values[right[both]], distance.OSA.distance)
    graded = np.where(edits == 0, 2, np.where(edits <= 1, 1, 0)).astype(np.int8)
    x, y = t.codes["birth_int"][left[both]], t.codes["birth_int"][right[both]]
    swapped = (x // 10000 == y // 10000) & (x // 100 % 100 == y % 100) & (x % 100 == y // 100 % 100)
    graded[swapped & (graded == 0)] = 1
    levels[both] = graded
    return levels


def _compare_companies(t: RecordTable, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    levels = np.full(len(left), MISSING, dtype=np.int8)
    both = _present(t, "company", left, right)
    if not len(both):
        return levels
    codes, values = t.codes["company"], t.columns["company"]
    equal = codes[left[both]] == codes[right[both]]
    similarity = np.ones(len(both))
    differ = np.flatnonzero(~equal)
    similarity[differ] = _pairwise(
        values[left[both[differ]]],
        values[right[both[differ]]],
        distance.JaroWinkler.normalized_similarity,
    )
    levels[both] = np.where(equal, 2, np.where(similarity >= 0.9, 1, 0))
    return levels


def _compare_addresses(t: RecordTable, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """One level for the whole address, since street, postcode and city agree or disagree
    together (they are one fact, not three)."""
    c, k = t.columns, t.codes
    n = len(left)
    street_l, street_r = k["street"][left], k["street"][right]
    city_l, city_r = k["city"][left], k["city"][right]
    code_l, code_r = k["postcode"][left], k["postcode"][right]
    has_l = (street_l >= 0) | (city_l >= 0) | (code_l >= 0)
    has_r = (street_r >= 0) | (city_r >= 0) | (code_r >= 0)
    street = np.zeros(n)
    both_street = np.flatnonzero((street_l >= 0) & (street_r >= 0))
    same_street = street_l[both_street] == street_r[both_street]
    street[both_street[same_street]] = 100.0
    differ = both_street[~same_street]
    # 学院路148号 and 学院路582号 are different buildings, however alike the strings look.
    numbers_l, numbers_r = k["street_numbers"][left[differ]], k["street_numbers"][right[differ]]
    other_number = (numbers_l >= 0) & (numbers_r >= 0) & (numbers_l != numbers_r)
    similar = differ[~other_number]
    street[similar] = _pairwise(c["street"][left[similar]], c["street"][right[similar]], fuzz.ratio)
    both_city = (city_l >= 0) & (city_r >= 0)
    city_same = both_city & (city_l == city_r)
    near = np.flatnonzero(both_city & ~city_same)
    city_same[near] = (
        _pairwise(
            c["city"][left[near]],
            c["city"][right[near]],
            distance.JaroWinkler.normalized_similarity,
        )
        >= 0.9
    )
    both_code = (code_l >= 0) & (code_r >= 0)
    code_edits = np.full(n, 99.0)
    code_edits[both_code & (code_l == code_r)] = 0.0
    typo = np.flatnonzero(both_code & (code_l != code_r))
    code_edits[typo] = _pairwise(
        c["postcode"][left[typo]], c["postcode"][right[typo]], distance.OSA.distance
    )
    code_same = both_code & (code_edits == 0)
    elsewhere = (both_city & ~city_same & ~code_same) | (both_code & (code_edits > 1) & ~city_same)
    levels = np.full(n, ADDRESS["different"], dtype=np.int8)
    levels[city_same | (both_code & (code_edits <= 1))] = ADDRESS["same city"]
    levels[code_same] = ADDRESS["same postcode"]
    levels[(street >= 80) & ~elsewhere] = ADDRESS["similar street"]
    levels[(street >= 95) & ~elsewhere] = ADDRESS["same street"]
    levels[~(has_l & has_r)] = MISSING
    return levels


def compare_pairs(table: RecordTable, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Agreement levels of each pair, as an int8 array of shape (pairs, fields) in the order of
    :data:`FIELDS`; :data:`MISSING` where either side lacks the field, and for context fields
    of pairs whose names are different."""
    left = np.asarray(left, dtype=np.int64)
    right = np.asarray(right, dtype=np.int64)
    if not len(left):
        return np.empty((0, len(FIELDS)), dtype=np.int8)
    names = _compare_names(table, left, right)
    organisations = table.columns["party_type"][left] == ORGANIZATION
    # Organisations whose names say they are registered in different places are different
    # companies, however alike the rest of the name (北京华瑞科技 / 杭州华瑞科技).
    place_l, place_r = table.codes["place"][left], table.codes["place"][right]
    elsewhere = (place_l >= 0) & (place_r >= 0) & (place_l != place_r)
    names[organisations & elsewhere] = NAME["different"]
    columns = {
        "name": np.where(organisations, MISSING, names).astype(np.int8),
        "organization_name": np.where(organisations, names, MISSING).astype(np.int8),
        "phone": _compare_sets(table, "own_phones", left, right),
        "email": _compare_sets(table, "emails", left, right),
        "id_number": _compare_equal(table, "id_number", left, right),
        "birth_date": _compare_dates(table, left, right),
        "company": _compare_companies(table, left, right),
        "shared_contact": _compare_sets(table, "shared_contacts", left, right),
        "address": _compare_addresses(table, left, right),
    }
    different_names = names == NAME["different"]
    for f in FIELDS:
        if f.context:
            columns[f.name][different_names] = MISSING
    return np.stack([columns[f.name] for f in FIELDS], axis=1).astype(np.int8)
