"""Text normalisation: the simplified forms of traditional characters."""

from collections import defaultdict

import opencc

from guanxi.core.text import SIMPLIFIED_VARIANT_GROUPS, han_pinyin, simplified_forms
from guanxi.customers.search import han_syllables
from guanxi.dedup.matching.normalize import person_name_forms


def test_the_variant_groups_are_those_of_opencc_tables():
    # Characters OpenCC leaves as they are (simplified ones) grouped by their traditional form;
    # newlines keep each character from being read as part of a phrase.
    chars = [
        chr(code)
        for start, end in ((0x3400, 0x4DC0), (0x4E00, 0xA000), (0xF900, 0xFB00))
        for code in range(start, end)
    ]
    simplified = opencc.OpenCC("t2s").convert("\n".join(chars)).split("\n")
    traditional = opencc.OpenCC("s2t").convert("\n".join(chars)).split("\n")
    groups = defaultdict(set)
    for char, simple, trad in zip(chars, simplified, traditional, strict=True):
        if char == simple:
            groups[trad].add(char)
    assert {frozenset(g) for g in groups.values() if len(g) > 1} == {
        frozenset(g) for g in SIMPLIFIED_VARIANT_GROUPS
    }


def test_simplified_forms_of_a_character_the_commonest_first():
    assert simplified_forms("張") == ("张",)
    assert simplified_forms("张") == ("张",)
    assert simplified_forms("鍾") == ("钟", "锺")
    assert simplified_forms("钟") == ("钟", "锺")
    assert simplified_forms("锺") == ("锺", "钟")
    # 乾 is 干 alone but stays in 乾坤; 干 is never 乾
    assert simplified_forms("乾") == ("干", "乾")
    assert simplified_forms("干") == ("干",)
    assert simplified_forms("a") == ("a",)


def test_han_pinyin_reads_a_run_as_a_whole_and_blanks_what_it_cannot_read():
    assert han_pinyin("重庆") == ("chong", "qing")  # not zhong: read as the city
    assert han_pinyin("王㐂") == ("wang", "")  # 㐂 has no reading in pypinyin's tables


def test_the_duplicate_forms_leave_out_what_the_search_leaves_blank():
    # The unreadable character left out: two readings for three characters, run together.
    assert person_name_forms("曾㐂伟").tokens == ("zengwei",)
    assert han_syllables("曾㐂伟") == ("ceng", "", "wei")
