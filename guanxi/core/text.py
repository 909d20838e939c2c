"""Text normalisation shared by search and (later) duplicate detection."""

import re
import unicodedata

from pypinyin import Style, lazy_pinyin

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


def has_han(text: str) -> bool:
    return bool(_HAN.search(text or ""))


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
