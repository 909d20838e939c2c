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
    Field("landline", ("different", "shared"), context=True),
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


def _empty(values: np.ndarray) -> np.ndarray:
    return np.fromiter((not v for v in values), dtype=bool, count=len(values))


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


def _compare_names(c: dict, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    key_l, key_r = c["name_key"][left], c["name_key"][right]
    han_l, han_r = c["name_han"][left], c["name_han"][right]
    n = len(left)
    # Both in Latin letters: how close the words are (typos, dropped letters), word by word:
    # "Chen Jing" and "Chen Tao" share a surname, not a name.
    any_han = ~(_empty(han_l) & _empty(han_r))
    latin = np.flatnonzero(~any_han)
    similarity = np.zeros(n)
    words = c["name_words"]
    similarity[latin] = [_word_similarity(words[left[i]], words[right[i]]) for i in latin]
    levels = _graded(similarity, (0.80, 0.92))
    # Chinese on either side: a different character is a different name. 王芳 and 王芬 are
    # two people however close their romanisations ("fang", "fen"), and "Hu Fang" is not 胡刚.
    # The slips people make with Chinese names are homophones typed by an input method
    # (张伟 / 张玮), which "same sound" below catches.
    levels[any_han] = NAME["different"]
    tokens_l, tokens_r = c["name_tokens"][left], c["name_tokens"][right]
    partial = np.fromiter(
        (
            bool(a) and bool(b) and (a <= b or b <= a)
            for a, b in zip(tokens_l, tokens_r, strict=True)
        ),
        dtype=bool,
        count=n,
    )
    both_han = ~_empty(han_l) & ~_empty(han_r)
    han_partial = np.fromiter(
        (bool(a) and bool(b) and (a in b or b in a) for a, b in zip(han_l, han_r, strict=True)),
        dtype=bool,
        count=n,
    )
    levels[np.where(both_han, han_partial, partial)] = NAME["partial"]
    same_sound = (key_l == key_r) | (c["name_joined"][left] == c["name_joined"][right])
    levels[same_sound] = NAME["same sound"]
    # Written the same way: the same Han characters, or (both Latin) the same words.
    exact = np.where(both_han, han_l == han_r, (key_l == key_r) & ~any_han)
    levels[exact] = NAME["exact"]
    levels[_empty(key_l) | _empty(key_r)] = MISSING
    return levels


def _compare_sets(values: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    a, b = values[left], values[right]
    levels = np.fromiter(
        (not x.isdisjoint(y) for x, y in zip(a, b, strict=True)), dtype=np.int8, count=len(left)
    )
    levels[_empty(a) | _empty(b)] = MISSING
    return levels


def _compare_equal(values: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    a, b = values[left], values[right]
    levels = (a == b).astype(np.int8)
    levels[_empty(a) | _empty(b)] = MISSING
    return levels


def _compare_dates(values: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """same / one slip (a digit changed, added, dropped or two swapped; or day and month
    written the other way round) / different."""
    a, b = values[left], values[right]
    edits = _pairwise(a, b, distance.OSA.distance)
    levels = np.where(edits == 0, 2, np.where(edits <= 1, 1, 0)).astype(np.int8)
    swapped = np.fromiter(
        (
            len(x) == 8 and len(y) == 8 and x[:4] == y[:4] and x[4:6] == y[6:] and x[6:] == y[4:6]
            for x, y in zip(a, b, strict=True)
        ),
        dtype=bool,
        count=len(left),
    )
    levels[swapped & (levels == 0)] = 1
    levels[_empty(a) | _empty(b)] = MISSING
    return levels


def _compare_companies(values: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    a, b = values[left], values[right]
    similarity = _pairwise(a, b, distance.JaroWinkler.normalized_similarity)
    levels = np.where(a == b, 2, np.where(similarity >= 0.9, 1, 0)).astype(np.int8)
    levels[_empty(a) | _empty(b)] = MISSING
    return levels


def _compare_addresses(c: dict, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """One level for the whole address, since street, postcode and city agree or disagree
    together (they are one fact, not three)."""
    street_l, street_r = c["street"][left], c["street"][right]
    city_l, city_r = c["city"][left], c["city"][right]
    code_l, code_r = c["postcode"][left], c["postcode"][right]
    has_l = ~(_empty(street_l) & _empty(city_l) & _empty(code_l))
    has_r = ~(_empty(street_r) & _empty(city_r) & _empty(code_r))
    both_street = ~_empty(street_l) & ~_empty(street_r)
    both_city = ~_empty(city_l) & ~_empty(city_r)
    both_code = ~_empty(code_l) & ~_empty(code_r)
    street = np.where(both_street, _pairwise(street_l, street_r, fuzz.ratio), 0.0)
    # 学院路148号 and 学院路582号 are different buildings, however alike the strings look.
    numbers_l, numbers_r = c["street_numbers"][left], c["street_numbers"][right]
    other_number = np.fromiter(
        (bool(a) and bool(b) and a != b for a, b in zip(numbers_l, numbers_r, strict=True)),
        bool,
        len(left),
    )
    street[other_number] = 0.0
    city_same = both_city & (
        _pairwise(city_l, city_r, distance.JaroWinkler.normalized_similarity) >= 0.9
    )
    code_edits = _pairwise(code_l, code_r, distance.OSA.distance)
    code_same = both_code & (code_edits == 0)
    elsewhere = (both_city & ~city_same & ~code_same) | (both_code & (code_edits > 1) & ~city_same)
    levels = np.full(len(left), ADDRESS["different"], dtype=np.int8)
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
    c = table.columns
    left = np.asarray(left, dtype=np.int64)
    right = np.asarray(right, dtype=np.int64)
    if not len(left):
        return np.empty((0, len(FIELDS)), dtype=np.int8)
    names = _compare_names(c, left, right)
    organisations = c["party_type"][left] == ORGANIZATION
    columns = {
        "name": np.where(organisations, MISSING, names).astype(np.int8),
        "organization_name": np.where(organisations, names, MISSING).astype(np.int8),
        "phone": _compare_sets(c["own_phones"], left, right),
        "email": _compare_sets(c["emails"], left, right),
        "id_number": _compare_equal(c["id_number"], left, right),
        "birth_date": _compare_dates(c["birth_date"], left, right),
        "company": _compare_companies(c["company"], left, right),
        "landline": _compare_sets(c["shared_phones"], left, right),
        "address": _compare_addresses(c, left, right),
    }
    different_names = names == NAME["different"]
    for f in FIELDS:
        if f.context:
            columns[f.name][different_names] = MISSING
    return np.stack([columns[f.name] for f in FIELDS], axis=1).astype(np.int8)
