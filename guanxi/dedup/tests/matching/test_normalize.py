"""Normal forms: the many ways one name, company, phone or email is written meet in one form."""

import pytest

from guanxi.dedup.matching.normalize import (
    birth_date_key,
    company_name_key,
    email_key,
    is_personal_phone,
    organization_name_forms,
    person_name_forms,
    phone_key,
    place_key,
    postcode_key,
    street_key,
)


@pytest.mark.parametrize(
    "written",
    ["张伟", "張偉", "Zhang Wei", "WEI Zhang", "zhang  wei", "Ｚｈａｎｇ Ｗｅｉ", "Zhāng Wěi"],
)
def test_one_chinese_name_in_many_spellings_has_one_key(written):
    assert person_name_forms(written).key == "wei zhang"


@pytest.mark.parametrize(
    ("written", "plain"),
    [
        ("Søren Kierkegaard", "Soren Kierkegaard"),
        ("Łukasz Nowak", "Lukasz Nowak"),
        ("Æbeltoft Design ApS", "Aebeltoft Design ApS"),
        ("Đorđe Petrović", "Dorde Petrovic"),
    ],
)
def test_letters_folding_keeps_meet_their_plain_spelling(written, plain):
    # Folding takes accents off (é, ć) but keeps ø, æ, ł, đ as letters, which the name
    # patterns (a-z) dropped: Søren had the key "kierkegaard ren s".
    assert person_name_forms(written).key == person_name_forms(plain).key
    assert organization_name_forms(written).key == organization_name_forms(plain).key
    assert company_name_key(written) == company_name_key(plain)


def test_names_run_together_meet_through_the_joined_form():
    assert person_name_forms("zhangwei").joined == person_name_forms("张伟").joined == "zhangwei"
    assert person_name_forms("王 美 玲").key == person_name_forms("Meiling Wang").key


def test_surnames_read_as_surnames_and_compound_surnames_stay_whole():
    assert person_name_forms("曾国藩").key == person_name_forms("Zeng Guofan").key
    assert person_name_forms("单田芳").tokens[0] == "shan"
    assert person_name_forms("欧阳修").tokens == ("ouyang", "xiu")


def test_han_characters_are_kept_simplified():
    assert person_name_forms("張偉").han == person_name_forms("张伟").han == "张伟"
    assert person_name_forms("Zhang Wei").han == ""


@pytest.mark.parametrize(
    ("written", "key"),
    [
        ("上海华瑞科技有限公司", "华瑞科技"),
        ("華瑞科技股份有限公司", "华瑞科技"),
        ("华瑞科技", "华瑞科技"),
        ("北京市华瑞科技集团有限公司", "华瑞科技"),
        ("Northwind Trading Co., Ltd.", "northwind trading"),
        ("NORTHWIND TRADING LIMITED", "northwind trading"),
        ("", ""),
    ],
)
def test_company_names_lose_legal_form_and_place(written, key):
    assert company_name_key(written) == key


def test_a_company_that_is_only_a_place_and_a_form_keeps_its_name():
    assert company_name_key("上海有限公司") == "上海"


def test_organisation_names_keep_their_word_order():
    assert organization_name_forms("Pacific Rim Trading Co.").key == "pacific rim trading"


@pytest.mark.parametrize(
    "written",
    ["13812345678", "138 1234 5678", "138-1234-5678", "+86 138 1234 5678", "8613812345678"],
)
def test_mobiles_in_any_format_meet(written):
    assert phone_key(written) == "+8613812345678"


def test_landlines_keep_their_area_code_and_nonsense_is_dropped():
    assert phone_key("010-6234 5678") == "+861062345678"
    assert phone_key("(021) 5555 6666") == "+862155556666"
    assert phone_key("12345") == "" and phone_key("call me") == "" and phone_key("") == ""


def test_a_mobile_is_personal_a_landline_is_shared():
    assert is_personal_phone("+8613812345678")
    assert not is_personal_phone("+861062345678")
    assert is_personal_phone("+447911123456")  # a British mobile
    assert not is_personal_phone("+442079460000")  # a London landline


def test_emails_places_postcodes_streets_and_dates():
    assert email_key("  Zhang.Wei@Example.COM ") == "zhang.wei@example.com"
    assert email_key("not an address") == ""
    assert place_key("上海市") == place_key("上海") == "上海"
    assert postcode_key(" 200 000 ") == "200000"
    assert street_key("上海市浦东新区人民路100号") == street_key("浦东新区人民路100号")
    assert street_key("6 Tullaroop St., Willaroo") == "6 tullaroop st willaroo"
    assert birth_date_key("1985-03-02") == "19850302" and birth_date_key(None) == ""
