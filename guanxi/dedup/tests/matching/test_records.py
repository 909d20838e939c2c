"""The comparison table: made from records, or straight from stored profiles, it holds the
same values and codes, so the importer (which tabulates candidates from their profiles) and
every other caller compare alike."""

import numpy as np

from guanxi.dedup.matching.compare import compare_pairs
from guanxi.dedup.matching.records import (
    CODED_COLUMNS,
    TABLE_COLUMNS,
    RecordTable,
    match_record,
    profile_table_row,
    record_profile,
    table_row,
)

RECORDS = [
    match_record(
        ref=1,
        name="张伟",
        phones=["13812345678", "021-62345678"],  # a mobile and an office line
        emails=["Zhang.Wei@Example.com", "info@huarui.cn"],  # his own and a role mailbox
        company="华瑞科技有限公司",
        birth_date="1985-03-02",
        addresses=[{"street": "学院路148号", "city": "上海", "postcode": "200000"}],
    ),
    match_record(ref=2, name="Zhang Wei", phones=["+86 138 1234 5678"]),
    match_record(
        ref=3,
        name="北京华瑞科技有限公司",
        party_type="organization",
        phones=["010-88886666"],
        emails=["sales@huarui.cn"],
        addresses=[{"city": "北京"}],
    ),
    match_record(ref=4, name="李娜"),  # nothing but a name
]


def test_a_table_from_profiles_equals_the_table_from_records():
    from_records = RecordTable(RECORDS)
    from_profiles = RecordTable.from_rows([profile_table_row(record_profile(r)) for r in RECORDS])
    assert len(from_profiles) == len(from_records) == len(RECORDS)
    for name in TABLE_COLUMNS:
        assert list(from_profiles.columns[name]) == list(from_records.columns[name]), name
    assert from_profiles.codes.keys() == from_records.codes.keys()
    for name, codes in from_records.codes.items():
        assert np.array_equal(from_profiles.codes[name], codes), name
    # A person's own contacts are told apart from those an office shares.
    assert from_profiles.columns["own_phones"][0] == {"+8613812345678"}
    assert from_profiles.columns["shared_contacts"][0] == {"+862162345678", "info@huarui.cn"}
    assert from_profiles.columns["emails"][0] == {"zhang.wei@example.com"}
    # An organisation's numbers are all its own; its role mailbox is shared.
    assert from_profiles.columns["own_phones"][2] == {"+861088886666"}
    assert from_profiles.columns["shared_contacts"][2] == {"sales@huarui.cn"}
    pairs = np.array([0, 0, 1]), np.array([1, 3, 3])
    assert np.array_equal(compare_pairs(from_profiles, *pairs), compare_pairs(from_records, *pairs))


def test_a_profile_made_by_older_code_gives_no_row():
    assert profile_table_row('[1, "person"]') is None


def test_codes_are_equal_exactly_for_equal_values_and_minus_one_for_none():
    rows = [table_row(record) for record in RECORDS] * 2
    rows.append(table_row(match_record(ref=5, name="王芳", phones=["13912345678"])))
    table = RecordTable.from_rows(rows)
    for name in CODED_COLUMNS:
        values, codes = list(table.columns[name]), table.codes[name]
        assert codes.dtype == np.int64 and codes.shape == (len(rows),), name
        for i, value in enumerate(values):
            if not value:
                assert codes[i] == -1, name
                continue
            assert codes[i] >= 0, name
            for j, other in enumerate(values):
                if other:
                    assert (codes[i] == codes[j]) == (value == other), (name, value, other)


def test_set_codes_take_the_first_members_in_order_and_mark_more():
    records = [
        match_record(ref=1, name="张伟", phones=["13812345678", "13912345678", "13712345678"]),
        match_record(ref=2, name="李娜", phones=["13912345678"]),
        match_record(ref=3, name="王芳"),
        match_record(ref=4, name="赵磊", phones=["13712345678", "13812345678"]),
    ]
    table = RecordTable.from_rows([table_row(r) for r in records])
    codes, more = table.codes["own_phones"], table.codes["own_phones_more"]
    assert codes.shape == (4, 2) and codes.dtype == np.int64
    assert more.tolist() == [True, False, False, False]
    assert codes[2].tolist() == [-1, -1]
    # Sorted, the three numbers of the first give 137…, 138…; the fourth has the same two.
    assert codes[0].tolist() == codes[3].tolist()
    assert -1 not in codes[0] and codes[0][0] != codes[0][1]
    assert codes[1][0] not in codes[0] and codes[1][1] == -1
    # Values of a column of tuples stay whole, one per record.
    assert [len(words) for words in table.columns["name_words"]] == [2, 2, 2, 2]


def test_an_empty_table_has_empty_codes():
    table = RecordTable.from_rows([])
    assert len(table) == 0
    assert all(len(codes) == 0 for codes in table.codes.values())
    assert table.codes["own_phones"].shape == (0, 2)
