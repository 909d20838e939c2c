"""The engine end to end on a handful of records; transitive pairs."""

from guanxi.dedup.matching.engine import add_transitive_pairs, find_duplicates, score_candidates
from guanxi.dedup.matching.records import RecordTable, match_record


def test_half_a_customer_each_makes_one_customer_through_a_third_record():
    records = [
        match_record(ref="full", name="张伟", phones=["13812345678"], emails=["zw@example.com"]),
        match_record(ref="phone", name="張偉", phones=["138 1234 5678"]),
        match_record(ref="email", name="Zhang Wei", emails=["ZW@example.com"]),
        match_record(ref="other", name="王芳", phones=["13900001111"]),
    ]
    table = RecordTable(records)
    search = find_duplicates(table)
    direct = {
        (records[a].ref, records[b].ref) for a, b in zip(search.left, search.right, strict=True)
    }
    assert ("phone", "email") not in direct and ("email", "phone") not in direct
    closed = add_transitive_pairs(search, table, threshold=0.5).above(0.5)
    pairs = {
        frozenset((records[a].ref, records[b].ref)): inferred
        for a, b, inferred in zip(closed.left, closed.right, closed.inferred, strict=True)
    }
    assert set(pairs) == {
        frozenset(("full", "phone")),
        frozenset(("full", "email")),
        frozenset(("phone", "email")),
    }
    assert bool(pairs[frozenset(("phone", "email"))]) is True


def test_candidates_are_ranked_and_other_party_types_ignored():
    record = match_record(ref=0, name="张伟", phones=["13812345678"])
    candidates = [
        match_record(ref=1, name="张伟", phones=["13900001111"]),
        match_record(ref=2, name="张伟", phones=["+86 138 1234 5678"]),
        match_record(ref=3, name="张伟", party_type="organization"),
    ]
    ranked = score_candidates(record, candidates)
    assert [c.ref for c, _score, _levels in ranked] == [2, 1]
    assert ranked[0][1] > 0.98 > 0.5 > ranked[1][1]
