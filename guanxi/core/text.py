"""Text normalisation shared by search and duplicate detection."""

import re
import unicodedata
from functools import lru_cache

from pypinyin import Style, lazy_pinyin

# How characters read as surnames where that differs from their everyday reading (the one
# pypinyin gives): 曾 is céng in 曾经 but Zēng as a surname, 单 dān but Shàn. The search indexes
# a person's name with both readings of its first character (``customers.search``), so zengwei
# and cengwei both find 曾伟; duplicate detection romanises a person's surname with it
# (``dedup.matching.normalize``), so 曾国藩 meets "Zeng Guofan". Readings from the entries
# marked 姓 in the Xiandai Hanyu Cidian (《现代汉语词典》, 7th edition, Commercial Press 2016);
# only characters whose reading as a surname pypinyin does not give are listed. 尉 is left out:
# it is Yù only in 尉迟, and Wèi (pypinyin's reading) as a surname of its own.
SURNAME_READINGS = {
    "单": "shan",
    "曾": "zeng",
    "解": "xie",
    "仇": "qiu",
    "区": "ou",
    "查": "zha",
    "朴": "piao",
    "盖": "ge",
    "缪": "miao",
    "覃": "qin",
    "翟": "zhai",
    "乐": "yue",
    "召": "shao",
    "种": "chong",
    "重": "chong",
    "秘": "bi",
    "员": "yun",
    "句": "gou",
    "繁": "po",
    "祭": "zhai",
    "折": "she",
    "隗": "wei",
    "洗": "xian",
    "能": "nai",
    "佴": "nai",
    "都": "du",
    "粘": "nian",
    "番": "pan",
    "阚": "kan",
    "乜": "nie",
    "蔚": "yu",
    "炅": "gui",
}

# Legal forms of company names (上海华瑞贸易有限公司, "Pacific Rim Trading Co., Ltd."), which
# people leave out or write otherwise than the name was saved (华瑞贸易公司, "Pacific Rim Trading
# Limited"); the search and duplicate detection both look past them. Longest first, so that
# 股份有限公司 goes before 有限公司.
CHINESE_LEGAL_FORMS = (
    "集团股份有限公司",
    "股份有限公司",
    "有限责任公司",
    "集团有限公司",
    "控股有限公司",
    "有限公司",
    "分公司",
    "总公司",
    "集团",
    "公司",
    "有限",
    "股份",
)
# Latin words that say only that a name is a company's.
LATIN_LEGAL_FORMS = frozenset(
    ["co", "company", "corp", "corporation", "inc", "incorporated", "ltd", "limited", "llc", "plc"]
)

# Text no database column holds: PostgreSQL refuses NUL, and a lone surrogate is not UTF-8.
UNSTORABLE_TEXT = re.compile("[\x00\ud800-\udfff]")

_SPACES = re.compile(r"\s+")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def fold(text: str) -> str:
    """Case-, width- and accent-insensitive form: 'Ｚｈāng  WEI' -> 'zhang wei'.

    NFKC turns full-width forms into ASCII; NFKD then splits accents off Latin letters so they
    can be dropped. Han characters are untouched by both.
    """
    text = unicodedata.normalize("NFKC", text or "")
    text = "".join(
        ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch)
    )
    return _SPACES.sub(" ", text).strip().casefold()


# Latin letters that NFKD does not take apart, so fold() keeps them as letters of their own
# (Søren stays søren, Łukasz łukasz), written as keyboards without them write them. The search
# stores and looks for names in this spelling too; the duplicate keys fold to it outright.
PLAIN_LATIN_LETTERS = str.maketrans(
    {"ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "þ": "th"}
)


def has_han(text: str) -> bool:
    return bool(_HAN.search(text or ""))


_HAN_RUN = re.compile(f"{_HAN.pattern}+")


def han_runs(text: str) -> list[str]:
    """The runs of Han characters in ``text``, each as long as nothing else comes between."""
    return _HAN_RUN.findall(text or "")


def _no_pinyin(chars: str) -> list[str]:
    return [""] * len(chars)


@lru_cache(maxsize=65_536)
def han_pinyin(han: str) -> tuple[str, ...]:
    """pypinyin's reading of a run of Han characters as a whole (重庆 -> chong, qing), an empty
    string for each character it does not know.

    Shared and kept: the search text and the duplicate-detection forms of a customer both read
    its name and company, the costliest step of either, and an import makes both for every
    row (the dedup side leaves out the blanks, as pypinyin's ``errors="ignore"`` would)."""
    return tuple(lazy_pinyin(han, errors=_no_pinyin))


def pinyin_forms(text: str) -> list[str]:
    """Full and initial-letter pinyin of the Han characters in ``text``: 张伟 -> zhangwei, zw."""
    han = "".join(_HAN.findall(text or ""))
    if not han:
        return []
    full = "".join(lazy_pinyin(han, errors="ignore"))
    initials = "".join(lazy_pinyin(han, style=Style.FIRST_LETTER, errors="ignore"))
    return [full, initials]


def digits_only(text: str) -> str:
    return "".join(ch for ch in text or "" if ch.isdigit())


_SIMPLIFIER = None
_TRADITIONALISER = None

# Simplified characters that are forms of one traditional character, as OpenCC's tables have
# them: 鍾 becomes 钟 on its own and in most names (鍾偉 -> 钟伟) but 锺 in 鍾馗 and 鍾繇, so the
# same surname is stored either way. Every group of characters OpenCC leaves as they are and
# turns into the same traditional one (``guanxi/core/tests/test_text.py`` checks it).
SIMPLIFIED_VARIANT_GROUPS = (
    "钟锺",
    "余馀",
    "线缐",
    "咨谘",
    "昵暱",
    "划㓰",
    "镢䦆",
    "腼䩄",
    "稆穞",
    "緪縆",
)
_VARIANTS = {char: group for group in SIMPLIFIED_VARIANT_GROUPS for char in group}


def to_simplified(text: str) -> str:
    """Traditional Chinese characters turned into simplified ones (張偉 -> 张伟), with OpenCC's
    character and phrase tables; anything else passes through unchanged."""
    global _SIMPLIFIER
    if not text or not has_han(text):
        return text or ""
    if _SIMPLIFIER is None:
        import opencc

        _SIMPLIFIER = opencc.OpenCC("t2s")
    return _SIMPLIFIER.convert(text)


def to_traditional(text: str) -> str:
    """Simplified Chinese characters turned into traditional ones, with OpenCC's tables."""
    global _TRADITIONALISER
    if not text or not has_han(text):
        return text or ""
    if _TRADITIONALISER is None:
        import opencc

        _TRADITIONALISER = opencc.OpenCC("s2t")
    return _TRADITIONALISER.convert(text)


@lru_cache(maxsize=20_000)
def simplified_forms(char: str) -> tuple[str, ...]:
    """Every simplified form a Han character may have in text :func:`to_simplified` converted,
    the commonest first: 張 -> 张; 鍾 -> 钟, 锺; 乾 -> 干, 乾.

    OpenCC converts by phrase, so a character can come out otherwise in a longer text than on
    its own: 乾 alone is 干 (dry), in 乾坤 it stays 乾. A traditional character that is not
    the usual traditional form of its simplified one (干 is usually 幹) is such a character,
    and is its own form too. And a few traditional characters have two simplified forms
    (:data:`SIMPLIFIED_VARIANT_GROUPS`)."""
    simplified = to_simplified(char)
    forms = [simplified]
    if simplified != char and to_traditional(simplified) != char:
        forms.append(char)
    forms += _VARIANTS.get(simplified, "")
    return tuple(dict.fromkeys(forms))
