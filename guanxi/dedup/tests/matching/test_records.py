"""The comparison table: made from records, or straight from stored profiles, it holds the
same values and codes, so the importer (which tabulates candidates from their profiles) and
every other caller compare alike."""

import numpy as np

from guanxi.dedup.matching.compare import compare_pairs
from guanxi.dedup.matching.records import (
    TABLE_COLUMNS,
    RecordTable,
    match_record,
    profile_table_row,
    record_profile,
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
