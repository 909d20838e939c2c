"""Blocking: which pairs of records are worth comparing at all.

Comparing every pair of a million customers is 5 × 10¹¹ comparisons; almost all of them are
obviously different people. Each record instead gets a handful of *blocking keys* — strings that
duplicates are likely to share even when some of their fields differ — and only records sharing
at least one key become candidate pairs. The rules are chosen so that a duplicate survives an
error in any single field: a wrong phone still shares name and birth date, a misspelt name still
shares its first letters and postcode, and so on.

Keys are stored in the database as 64-bit hashes (:func:`key_hash`), so the scan, the importer
and the new-customer form can all find candidates with one indexed lookup. A key shared by too
many records (a very common name in one city, say) says little and would explode into millions
of pairs; such blocks are skipped and counted (:class:`BlockingStats`).
"""

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from .records import ORGANIZATION, MatchRecord

# Largest block whose pairs are all compared; bigger blocks are skipped (see module docstring).
DEFAULT_MAX_BLOCK = 100

BLOCKING_RULES = {
    "id": "the same national ID number",
    "phone": "a shared phone number",
    "email": "a shared email address",
    "name+birth": "the same name (in any script or order) and birth date",
    "name+postcode": "the same name and postcode",
    "name+city": "the same name and city",
    "name+company": "the same name and employer",
    "org": "an organisation of the same name",
    "org+city": "an organisation of the same name in the same city",
    "initials+postcode": "a name word beginning with the same letters, and the same postcode",
    "initials+birth": "a name word beginning with the same letters, and the same birth date",
    "birth+postcode": "the same birth date and postcode",
    "street+postcode": "the same start of the street address and postcode",
}
# Keys stored for counting, not for pairing: how many people share a name (for weighing how
# much agreeing on it says, see model.MatchModel.name_adjustments). A block of everyone called
# 王伟 would be enormous and say little.
COUNTING_RULES = {"name": "a person's name"}
# Stable small numbers for the rules, stored with each key (append new rules at the end).
RULE_CODES = {name: code for code, name in enumerate([*BLOCKING_RULES, *COUNTING_RULES], start=1)}
PAIRING_CODES = frozenset(RULE_CODES[name] for name in BLOCKING_RULES)


def blocking_keys(record: MatchRecord) -> list[tuple[str, str]]:
    """The keys of one record as (rule, key) pairs; the rule is part of the key, so keys of
    different rules never collide."""
    keys: list[tuple[str, str]] = []

    def add(rule: str, *parts: str) -> None:
        keys.append((rule, "|".join((rule, *parts))))

    name = record.name.key
    birth = record.birth_date
    if record.id_number:
        add("id", record.id_number)
    for phone in sorted(record.phones):
        add("phone", phone)
    for email in sorted(record.emails):
        add("email", email)
    if record.party_type == ORGANIZATION:
        if name:
            add("org", name)
            for address in record.addresses:
                if address.city:
                    add("org+city", name, address.city)
        return _unique(keys)
    if name:
        add("name", name)
        if birth:
            add("name+birth", name, birth)
        for address in record.addresses:
            if address.postcode:
                add("name+postcode", name, address.postcode)
            if address.city:
                add("name+city", name, address.city)
        if record.company:
            add("name+company", name, record.company)
    starts = sorted({token[:3] for token in record.name.tokens if len(token) >= 2})
    for start in starts:
        for address in record.addresses:
            if address.postcode:
                add("initials+postcode", start, address.postcode)
        if birth:
            add("initials+birth", start, birth)
    for address in record.addresses:
        if address.postcode:
            if birth:
                add("birth+postcode", birth, address.postcode)
            if len(address.street) >= 4:
                add("street+postcode", address.street[:10], address.postcode)
    return _unique(keys)


def _unique(keys: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return list(dict.fromkeys(keys))


def key_hash(key: str) -> int:
    """A stable signed 64-bit hash of a blocking key (what the database stores and indexes).

    Python's own ``hash`` changes from one process to the next, so it cannot be stored. A
    collision between two different keys only adds a candidate pair that scores low."""
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def record_key_hashes(record: MatchRecord) -> list[tuple[int, int]]:
    """(rule code, key hash) of each key of a record, as stored in the database."""
    return [(RULE_CODES[rule], key_hash(key)) for rule, key in blocking_keys(record)]


@dataclass
class BlockingStats:
    keys: int = 0
    blocks: int = 0  # keys shared by two or more records
    skipped_blocks: int = 0  # blocks larger than the limit
    skipped_records: int = 0  # record entries in those blocks
    largest_skipped: int = 0
    candidate_pairs: int = 0


def candidate_pairs(
    hashes: np.ndarray, positions: np.ndarray, *, max_block: int = DEFAULT_MAX_BLOCK
) -> tuple[np.ndarray, np.ndarray, BlockingStats]:
    """All pairs of positions that share a key hash, each unordered pair once, as two arrays
    ``(left, right)`` with ``left < right``.

    ``hashes[i]`` is a key of the record at ``positions[i]``; a record appears once per key.
    Pairs are generated block size by block size with numpy, so a few million keys take seconds.
    """
    stats = BlockingStats()
    hashes = np.asarray(hashes, dtype=np.int64)
    positions = np.asarray(positions, dtype=np.int64)
    if len(hashes) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64), stats
    # One entry per (key, record): a record with two addresses in one postcode has that key once.
    entries = np.unique(np.stack([hashes, positions], axis=1), axis=0)
    hashes, positions = entries[:, 0], entries[:, 1]
    starts = np.flatnonzero(np.r_[True, hashes[1:] != hashes[:-1]])
    sizes = np.diff(np.r_[starts, len(hashes)])
    stats.keys = len(starts)
    stats.blocks = int(np.count_nonzero(sizes >= 2))
    too_big = sizes > max_block
    stats.skipped_blocks = int(np.count_nonzero(too_big))
    stats.skipped_records = int(sizes[too_big].sum())
    stats.largest_skipped = int(sizes[too_big].max()) if stats.skipped_blocks else 0
    codes = []
    for size in np.unique(sizes[(sizes >= 2) & ~too_big]):
        block_starts = starts[sizes == size]
        members = positions[block_starts[:, None] + np.arange(size)[None, :]]
        i, j = np.triu_indices(size, k=1)
        left, right = members[:, i].ravel(), members[:, j].ravel()
        low, high = np.minimum(left, right), np.maximum(left, right)
        codes.append(low << 32 | high)
    if not codes:
        return np.empty(0, np.int64), np.empty(0, np.int64), stats
    unique = np.unique(np.concatenate(codes))
    left, right = unique >> 32, unique & 0xFFFFFFFF
    keep = left != right
    stats.candidate_pairs = int(np.count_nonzero(keep))
    return left[keep], right[keep], stats


def table_key_arrays(records: Iterable[MatchRecord]) -> tuple[np.ndarray, np.ndarray]:
    """Key hashes and record positions of records held in memory (evaluation, small sets)."""
    hashes: list[int] = []
    positions: list[int] = []
    for position, record in enumerate(records):
        for rule, key in blocking_keys(record):
            if rule in BLOCKING_RULES:
                hashes.append(key_hash(key))
                positions.append(position)
    return np.array(hashes, dtype=np.int64), np.array(positions, dtype=np.int64)
