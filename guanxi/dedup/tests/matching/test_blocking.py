"""Blocking: candidate pairs are exactly the pairs that share a key, big blocks are skipped."""

import itertools
import random

import numpy as np

from guanxi.dedup.matching.blocking import (
    BLOCKING_RULES,
    blocking_keys,
    candidate_pairs,
    key_hash,
    table_key_arrays,
)
from guanxi.dedup.matching.records import match_record


def test_candidate_pairs_equal_the_pairs_sharing_a_key():
    rng = random.Random(3)
    hashes, positions = [], []
    keys_of: dict[int, set[int]] = {}
    for position in range(300):
        for key in rng.sample(range(400), rng.randint(0, 4)):
            hashes.append(key)
            positions.append(position)
            keys_of.setdefault(position, set()).add(key)
    # A record listing the same key twice counts once.
    hashes.append(hashes[0])
    positions.append(positions[0])
    left, right, stats = candidate_pairs(np.array(hashes), np.array(positions), max_block=1000)
    expected = {
        (a, b) for a, b in itertools.combinations(sorted(keys_of), 2) if keys_of[a] & keys_of[b]
    }
    found = set(zip(left.tolist(), right.tolist(), strict=True))
    assert found == expected
    assert all(a < b for a, b in found) and stats.candidate_pairs == len(expected)


def test_blocks_larger_than_the_limit_are_skipped_and_counted():
    hashes = np.array([7] * 6 + [9] * 2)
    positions = np.array([0, 1, 2, 3, 4, 5, 0, 1])
    left, right, stats = candidate_pairs(hashes, positions, max_block=5)
    assert list(zip(left.tolist(), right.tolist(), strict=True)) == [(0, 1)]
    assert (stats.skipped_blocks, stats.skipped_records, stats.largest_skipped) == (1, 6, 6)


def test_duplicates_with_one_wrong_field_still_share_a_key():
    original = match_record(
        ref=1,
        name="张伟",
        phones=["13812345678"],
        birth_date="1985-03-02",
        addresses=[{"street": "人民路1号", "city": "上海", "postcode": "200000"}],
    )
    variants = [
        match_record(ref=2, name="Zhang Wei", phones=["13900000000"], birth_date="1985-03-02"),
        match_record(ref=3, name="张玮", phones=["+86 138 1234 5678"]),
        match_record(
            ref=4,
            name="Zhang Wie",
            addresses=[{"street": "人民路1号", "city": "上海市", "postcode": "200000"}],
        ),
    ]
    mine = {k for _rule, k in blocking_keys(original)}
    for variant in variants:
        assert mine & {k for _rule, k in blocking_keys(variant)}, variant.name


def test_keys_name_their_rule_and_hashes_are_stable():
    record = match_record(ref=1, name="张伟", phones=["13812345678"], emails=["a@b.cn"])
    rules = {rule for rule, _key in blocking_keys(record)}
    assert rules <= set(BLOCKING_RULES) | {"name"}
    assert key_hash("phone|+8613812345678") == key_hash("phone|+8613812345678")
    assert key_hash("phone|+8613812345678") != key_hash("email|+8613812345678")
    hashes, positions = table_key_arrays([record, record])
    assert len(hashes) == len(positions) and set(positions.tolist()) == {0, 1}
