"""Normal forms of the fields duplicate detection compares.

The same customer arrives written many ways: 张伟, 張偉, "Zhang Wei", "WEI Zhang"; +86 138 1234
5678, 13812345678, 138-1234-5678; "华瑞科技有限公司", "上海华瑞科技", "Huarui Co., Ltd.". Each
function here maps such variants onto one form, so that comparisons and blocking keys see what
is the same as the same. Everything is pure (no database, no Django settings) and cached where
the same value recurs often (names and companies do).
"""

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from pypinyin import lazy_pinyin

from guanxi.core.text import (
    CHINESE_LEGAL_FORMS,
    LATIN_LEGAL_FORMS,
    PLAIN_LATIN_LETTERS,
    SURNAME_READINGS,
    fold,
    han_pinyin,
    to_simplified,
)

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_LATIN_WORD = re.compile(r"[0-9a-z]+")

# Besides the plain legal forms, words that also say little about which company is meant when
# two records are compared (Group, Holdings, International, foreign legal forms). The search
# keeps them: a user typing "Pacific Group" wants the group, not every Pacific.
_LATIN_COMPANY_FORMS = LATIN_LEGAL_FORMS | frozenset(
    [
        "gmbh",
        "ag",
        "sa",
        "srl",
        "bv",
        "group",
        "holdings",
        "holding",
        "intl",
        "international",
        "pte",
        "pty",
        "kk",
    ]
)
# Chinese company names usually begin with where they are registered (上海华瑞科技有限公司);
# people leave it out when they speak or type the name, so it is dropped from the key.
_PLACE_PREFIXES = tuple(
    sorted(
        [
            "北京",
            "天津",
            "上海",
            "重庆",
            "河北",
            "山西",
            "辽宁",
            "吉林",
            "黑龙江",
            "江苏",
            "浙江",
            "安徽",
            "福建",
            "江西",
            "山东",
            "河南",
            "湖北",
            "湖南",
            "广东",
            "海南",
            "四川",
            "贵州",
            "云南",
            "陕西",
            "甘肃",
            "青海",
            "台湾",
            "内蒙古",
            "广西",
            "西藏",
            "宁夏",
            "新疆",
            "香港",
            "澳门",
            "广州",
            "深圳",
            "杭州",
            "南京",
            "苏州",
            "无锡",
            "宁波",
            "合肥",
            "济南",
            "青岛",
            "福州",
            "厦门",
            "东莞",
            "武汉",
            "长沙",
            "郑州",
            "成都",
            "昆明",
            "西安",
            "沈阳",
            "大连",
            "哈尔滨",
            "长春",
            "石家庄",
            "太原",
            "南昌",
            "南宁",
            "贵阳",
            "兰州",
            "佛山",
            "珠海",
            "温州",
            "绍兴",
            "嘉兴",
            "常州",
            "南通",
            "徐州",
            "烟台",
            "潍坊",
            "中山",
            "惠州",
        ],
        key=len,
        reverse=True,
    )
)
_PLACE_SUFFIXES = ("省", "市", "自治区", "特别行政区")


def clean_text(text: str | None) -> str:
    """Folded (case, width, accents) and simplified: the base of every other form. Letters
    that folding keeps (ø, æ, ł …) are written plainly, as a keyboard without them would: the
    word patterns below know only a-z, and took Søren apart into "s" and "ren"."""
    return fold(to_simplified(text or "")).translate(PLAIN_LATIN_LETTERS)


@dataclass(frozen=True)
class NameForms:
    """The forms of a person's or organisation's name that comparisons use.

    ``han`` holds the Han characters only (张伟), ``tokens`` the romanised words in their
    written order (["zhang", "wei"], from pinyin for Han characters), and ``key`` the tokens
    sorted and joined, so that "Wei Zhang", "ZHANG Wei" and 张伟 share the key "wei zhang".
    """

    han: str
    tokens: tuple[str, ...]
    key: str

    @property
    def joined(self) -> str:
        """The tokens run together ("zhangwei"), as pinyin is often typed."""
        return "".join(self.tokens)


# Two-character surnames; any other Chinese name takes its first character as the surname.
COMPOUND_SURNAMES = frozenset(
    [
        "欧阳",
        "司马",
        "上官",
        "诸葛",
        "东方",
        "皇甫",
        "尉迟",
        "公孙",
        "慕容",
        "长孙",
        "宇文",
        "司徒",
        "夏侯",
        "轩辕",
        "令狐",
        "端木",
        "独孤",
        "南宫",
        "西门",
        "万俟",
        "闻人",
        "澹台",
        "公冶",
        "申屠",
        "太史",
        "钟离",
        "司空",
    ]
)


def _han_syllables(han: str, *, person: bool) -> list[str]:
    # As pypinyin gives them leaving out what it cannot read (errors="ignore"), from the reading
    # the search text takes too.
    syllables = [syllable for syllable in han_pinyin(han) if syllable]
    if person and han[:1] in SURNAME_READINGS and syllables:
        syllables[0] = SURNAME_READINGS[han[0]]
    return syllables


def _chinese_name_tokens(han: str) -> list[str]:
    """A Chinese name romanised as it is written in Latin letters: surname and given name,
    each one word (王美玲 -> ["wang", "meiling"], 欧阳修 -> ["ouyang", "xiu"])."""
    syllables = _han_syllables(han, person=True)
    if len(syllables) != len(han) or len(han) < 2:
        return ["".join(syllables)] if syllables else []
    cut = 2 if han[:2] in COMPOUND_SURNAMES and len(han) > 2 else 1
    return ["".join(syllables[:cut]), "".join(syllables[cut:])]


@lru_cache(maxsize=200_000)
def person_name_forms(name: str | None) -> NameForms:
    """Forms of a person's name, Chinese or Latin or both.

    The Han characters of a name are read as one name even when typed with spaces
    (王 美 玲); Latin words are taken as written. "Meiling Wang", "WANG Meiling" and 王美玲 share
    the key "meiling wang"; "wangmeiling" meets them through :attr:`NameForms.joined`.
    """
    text = clean_text(name)
    han = "".join(_HAN.findall(text))
    tokens = _chinese_name_tokens(han) if han else []
    tokens += _LATIN_WORD.findall(_HAN.sub(" ", text))
    return NameForms(han=han, tokens=tuple(tokens), key=" ".join(sorted(tokens)))


@lru_cache(maxsize=200_000)
def company_name_key(company: str | None) -> str:
    """A company name without its legal form and leading place name.

    上海华瑞科技有限公司, 华瑞科技 and 华瑞科技股份有限公司 all give 华瑞科技; "Northwind Trading
    Co., Ltd." and "NORTHWIND TRADING LIMITED" both give "northwind trading".
    """
    text = clean_text(company)
    if not text:
        return ""
    han = "".join(_HAN.findall(text))
    if han and len(han) >= len(re.sub(r"\W", "", text)) / 2:
        key = re.sub(r"[^\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff0-9a-z]", "", text)
        # (分公司 names say which branch in brackets; the brackets were dropped above.)
        changed = True
        while changed:
            changed = False
            for form in CHINESE_LEGAL_FORMS:
                if key.endswith(form) and len(key) > len(form) + 1:
                    key = key[: -len(form)]
                    changed = True
        for place in _PLACE_PREFIXES:
            if key.startswith(place):
                rest = key[len(place) :]
                for suffix in _PLACE_SUFFIXES:
                    if rest.startswith(suffix):
                        rest = rest[len(suffix) :]
                        break
                if len(rest) >= 2:
                    key = rest
                break
        return key
    words = _LATIN_WORD.findall(text)
    kept = [w for w in words if w not in _LATIN_COMPANY_FORMS and w not in _latin_places()]
    return " ".join(kept or words)


@lru_cache(maxsize=1)
def _latin_places() -> dict[str, str]:
    """The romanised place names (beijing, shanghai …) and their Han forms, for company names
    written in Latin letters ("Northwind Trading (Shanghai) Co., Ltd.")."""
    return {"".join(lazy_pinyin(place)): place for place in _PLACE_PREFIXES}


@lru_cache(maxsize=200_000)
def company_place(company: str | None) -> str:
    """The place a Chinese company name begins with (北京华瑞科技有限公司 -> 北京), or "".

    Company names are registered per place: 北京华瑞科技 and 杭州华瑞科技 are two companies (or two
    branches, each a customer of its own), although their names without the place are the same.
    A place is named wherever :func:`company_name_key` takes it off, down to two characters left:
    北京大学 and 上海大学 both come down to 大学, and only the place tells them apart."""
    cleaned = clean_text(company)
    text = re.sub(r"[^\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]", "", cleaned)
    for place in _PLACE_PREFIXES:
        if text.startswith(place) and len(text) >= len(place) + 2:
            return place
    if not text:
        places = _latin_places()
        for word in _LATIN_WORD.findall(cleaned):
            if word in places:
                return places[word]
    return ""


# Mailboxes of a role rather than a person: shared by everyone at a company (and often by its
# branches), so they say "same organisation", not "same customer".
ROLE_MAILBOXES = frozenset(
    [
        "info",
        "service",
        "services",
        "sales",
        "support",
        "admin",
        "contact",
        "contacts",
        "office",
        "hr",
        "marketing",
        "market",
        "kefu",
        "xiaoshou",
        "business",
        "hello",
        "enquiry",
        "enquiries",
        "inquiry",
        "postmaster",
        "webmaster",
        "noreply",
        "no-reply",
        "mail",
        "finance",
        "purchase",
        "purchasing",
        "caigou",
        "team",
        "help",
        "order",
        "orders",
    ]
)


def is_role_email(address: str) -> bool:
    return address.split("@", 1)[0] in ROLE_MAILBOXES


@lru_cache(maxsize=200_000)
def organization_name_forms(name: str | None) -> NameForms:
    """Forms of an organisation's name: its company key, romanised where it is Chinese."""
    key = company_name_key(name)
    han = "".join(_HAN.findall(key))
    tokens: list[str] = []
    for match in re.finditer(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[0-9a-z]+", key):
        part = match.group()
        tokens += _han_syllables(part, person=False) if _HAN.fullmatch(part) else [part]
    # An organisation's words keep their order: "pacific rim trading" is not "trading rim".
    return NameForms(han=han, tokens=tuple(tokens), key=" ".join(tokens))


def phone_key(raw: str | None, region: str = "CN") -> str:
    """A phone number in E.164 form (+8613812345678), or "" when it is not a valid number."""
    if not raw:
        return ""
    raw = raw.strip()
    if raw.startswith("+") and raw[1:].isdigit():
        return raw  # already stored in E.164 form
    digits = re.sub(r"[\s().-]", "", raw)
    if region == "CN" and digits.startswith("86") and len(digits) == 13 and digits.isdigit():
        raw = "+" + digits  # a mobile written with the country code but without the plus
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_valid_number(number):
        return ""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@lru_cache(maxsize=100_000)
def is_personal_phone(e164: str) -> bool:
    """Whether a number reaches one person (a mobile) rather than a place (an office
    switchboard or a home line, shared by colleagues or a family)."""
    if e164.startswith("+86"):
        return e164.startswith("+861") and len(e164) == 14  # Chinese mobiles: 1 + 10 digits
    try:
        kind = phonenumbers.number_type(phonenumbers.parse(e164))
    except phonenumbers.NumberParseException:
        return False
    return kind in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
        phonenumbers.PhoneNumberType.PERSONAL_NUMBER,
    )


def email_key(raw: str | None) -> str:
    """An email address as mail servers compare it in practice: trimmed and lower-cased."""
    text = unicodedata.normalize("NFKC", raw or "").strip().lower()
    return text if "@" in text else ""


@lru_cache(maxsize=200_000)
def postcode_key(raw: str | None) -> str:
    return re.sub(r"[\s-]", "", fold(raw or "")).upper()


@lru_cache(maxsize=200_000)
def place_key(raw: str | None) -> str:
    """A city or province without its administrative suffix: 上海市 -> 上海."""
    text = re.sub(r"\s+", " ", clean_text(raw)).strip()
    for suffix in ("特别行政区", "自治区", "自治州", "省", "市", "县", "区"):
        if text.endswith(suffix) and len(text) > len(suffix) + 1:
            return text[: -len(suffix)]
    return text


@lru_cache(maxsize=200_000)
def street_key(raw: str | None) -> str:
    """A street address folded, punctuation reduced to single spaces, and without the province
    and city Chinese addresses often begin with (上海市浦东新区… and 浦东新区… are one street;
    the city is compared on its own)."""
    text = re.sub(r"[\W_]+", " ", clean_text(raw)).strip()
    stripped = True
    while stripped:
        stripped = False
        for place in _PLACE_PREFIXES:
            if text.startswith(place):
                rest = text[len(place) :]
                for suffix in _PLACE_SUFFIXES:
                    if rest.startswith(suffix):
                        rest = rest[len(suffix) :]
                        break
                if len(rest) >= 4:
                    text, stripped = rest.lstrip(), True
                break
    return text


def birth_date_key(value) -> str:
    """A date as YYYYMMDD (what typo-tolerant comparison of dates works on), or ""."""
    if not value:
        return ""
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    digits = re.sub(r"\D", "", text)
    return digits if len(digits) == 8 else ""
