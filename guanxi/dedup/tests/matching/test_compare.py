"""Agreement levels of crafted pairs, field by field."""

import numpy as np

from guanxi.dedup.matching.compare import FIELD_INDEX, FIELDS, MISSING, compare_pairs
from guanxi.dedup.matching.records import RecordTable, match_record


def levels_of(first: dict, second: dict) -> dict[str, str | None]:
    table = RecordTable([match_record(ref=1, **first), match_record(ref=2, **second)])
    row = compare_pairs(table, np.array([0]), np.array([1]))[0]
    return {f.name: None if row[i] == MISSING else f.levels[row[i]] for i, f in enumerate(FIELDS)}


def test_names_across_scripts_and_homophones():
    assert levels_of({"name": "张伟"}, {"name": "張偉"})["name"] == "exact"
    assert levels_of({"name": "张伟"}, {"name": "Wei Zhang"})["name"] == "same sound"
    assert levels_of({"name": "张伟"}, {"name": "张玮"})["name"] == "same sound"
    assert levels_of({"name": "张伟"}, {"name": "张伟明"})["name"] == "partial"
    assert levels_of({"name": "王芳"}, {"name": "王芬"})["name"] == "different"
    assert levels_of({"name": "胡刚"}, {"name": "Hu Fang"})["name"] == "different"
    assert levels_of({"name": "Kayla Harrington"}, {"name": "Kayla Harington"})["name"] == "close"
    assert levels_of({"name": "Chen Jing"}, {"name": "Chen Tao"})["name"] == "different"
    assert levels_of({"name": "waller"}, {"name": "Dylan Waller"})["name"] == "partial"


def test_organisations_are_compared_as_organisations():
    levels = levels_of(
        {"name": "上海华瑞科技有限公司", "party_type": "organization"},
        {"name": "華瑞科技", "party_type": "organization"},
    )
    assert levels["organization_name"] == "exact" and levels["name"] is None


def test_a_mobile_identifies_a_landline_is_context():
    same_mobile = levels_of(
        {"name": "张伟", "phones": ["13812345678"]}, {"name": "张伟", "phones": ["+8613812345678"]}
    )
    assert same_mobile["phone"] == "shared" and same_mobile["shared_contact"] is None
    office = levels_of(
        {"name": "张伟", "phones": ["010-62345678"]}, {"name": "张伟", "phones": ["01062345678"]}
    )
    assert office["shared_contact"] == "shared" and office["phone"] is None


def test_context_does_not_count_for_different_names():
    colleagues = levels_of(
        {"name": "李娜", "company": "华瑞科技", "phones": ["010-62345678"],
         "addresses": [{"street": "人民路1号", "city": "北京"}]},
        {"name": "王芳", "company": "华瑞科技有限公司", "phones": ["010-62345678"],
         "addresses": [{"street": "人民路1号", "city": "北京"}]},
    )  # fmt: skip
    assert colleagues["name"] == "different"
    assert colleagues["company"] is colleagues["shared_contact"] is colleagues["address"] is None


def test_addresses_and_dates():
    base = {
        "name": "张伟",
        "addresses": [{"street": "学院路148号", "city": "南京", "postcode": "210000"}],
    }
    other_building = {"name": "张伟", "addresses": [{"street": "学院路582号", "city": "南京市"}]}
    assert levels_of(base, base)["address"] == "same street"
    assert levels_of(base, other_building)["address"] == "same city"
    moved = {
        "name": "张伟",
        "addresses": [{"street": "解放路1号", "city": "武汉", "postcode": "430000"}],
    }
    assert levels_of(base, moved)["address"] == "different"
    day = {"name": "x", "birth_date": "1985-03-04"}
    assert levels_of(day, {"name": "x", "birth_date": "1985-04-03"})["birth_date"] == "one typo"
    assert levels_of(day, {"name": "x", "birth_date": "1985-03-05"})["birth_date"] == "one typo"
    assert levels_of(day, {"name": "x", "birth_date": "1990-07-20"})["birth_date"] == "different"
    assert levels_of(day, {"name": "x"})["birth_date"] is None


def test_every_field_has_a_column():
    table = RecordTable([match_record(ref=1, name="a"), match_record(ref=2, name="b")])
    assert compare_pairs(table, np.array([0]), np.array([1])).shape == (1, len(FIELDS))
    assert set(FIELD_INDEX) == {f.name for f in FIELDS}


def test_companies_registered_in_different_places_are_different():
    branches = levels_of(
        {"name": "北京万达咨询股份有限公司", "party_type": "organization",
         "emails": ["service@wanda-consulting.cn"]},
        {"name": "杭州万达咨询股份有限公司", "party_type": "organization",
         "emails": ["service@wanda-consulting.cn"]},
    )  # fmt: skip
    assert branches["organization_name"] == "different"
    # The shared role mailbox is context, and context does not count for different names.
    assert branches["email"] is None and branches["shared_contact"] is None
    same = levels_of(
        {"name": "北京万达咨询股份有限公司", "party_type": "organization"},
        {"name": "万达咨询", "party_type": "organization"},
    )
    assert same["organization_name"] == "exact"


def test_a_role_mailbox_is_shared_a_personal_one_identifies():
    personal = levels_of(
        {"name": "李娜", "emails": ["li.na@example.com"]},
        {"name": "李娜", "emails": ["LI.NA@example.com"]},
    )
    assert personal["email"] == "shared"
    office = levels_of(
        {"name": "李娜", "emails": ["info@example.com"]},
        {"name": "李娜", "emails": ["info@example.com"]},
    )
    assert office["email"] is None and office["shared_contact"] == "shared"


def test_a_place_before_a_two_character_name_still_tells_two_organisations_apart():
    # 北京大学 and 上海大学 both come down to 大学 once the place is taken off: the place must
    # then still count, as it does for longer names.
    for first, second in [
        ("北京大学", "上海大学"),
        ("北京银行", "上海银行"),
        ("北京市银行", "上海银行"),
    ]:
        levels = levels_of(
            {"name": first, "party_type": "organization"},
            {"name": second, "party_type": "organization"},
        )
        assert levels["organization_name"] == "different", (first, second)
    # A name typed with and without its place is still one name.
    typed_twice = levels_of(
        {"name": "北京华瑞有限公司", "party_type": "organization"},
        {"name": "华瑞", "party_type": "organization"},
    )
    assert typed_twice["organization_name"] == "exact"
