"""The maintained search text of a customer: what the search box matches against."""

from collections.abc import Iterable

from guanxi.core.text import digits_only, fold, pinyin_forms


def build_search_text(
    *,
    name: str,
    company: str,
    phones: Iterable[str],
    emails: Iterable[str],
    tags: Iterable[str],
    external_id: str | None = None,
) -> str:
    parts: list[str] = [fold(name), fold(company)]
    parts += pinyin_forms(name) + pinyin_forms(company)
    for number in phones:
        digits = digits_only(number)
        parts.append(digits)
        if digits.startswith("86"):
            parts.append(digits[2:])  # the national form people type
    parts += [fold(e) for e in emails]
    parts += [fold(t) for t in tags]
    if external_id:
        parts.append(fold(external_id))
    return " ".join(p for p in parts if p)
