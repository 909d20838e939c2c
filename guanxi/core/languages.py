"""Which language to write in when there is no request to say it: mail and notices the SLA
sweep, the mailbox fetch or a service write for someone else.

Staff choose their language in the top bar and it is stored on them (``User.language``); a
ticket keeps the language its customer is emailed in (``Ticket.language``: guessed from the
request, which the desk may change). Blank means the site default, ``settings.LANGUAGE_CODE``.
Text is built inside :func:`in_language`, one recipient (or one language) at a time, because
the active language otherwise is whichever the worker or the acting user's request happens to
have.
"""

import re
from collections.abc import Iterable
from functools import cache, lru_cache

from django.conf import settings
from django.core.exceptions import AppRegistryNotReady
from django.utils import translation

from .text import CHINESE_LEGAL_FORMS, han_runs, has_han, to_simplified


def site_languages() -> list[tuple[str, str]]:
    """``settings.LANGUAGES`` when asked: the choices of a user's and a ticket's language as a
    function, so that their migrations name the function rather than the languages of the day
    they were written, and a language added to the settings needs no migration."""
    return list(settings.LANGUAGES)


def primary_language(code: str) -> str:
    """The primary language subtag of a language tag (``zh`` of ``zh-hant``)."""
    return code.lower().split("-")[0]


# The script a Chinese language tag implies by its region, where it names none itself.
_CHINESE_SCRIPT_OF_REGION = {
    "cn": "hans",
    "sg": "hans",
    "my": "hans",
    "tw": "hant",
    "hk": "hant",
    "mo": "hant",
}


def _script(code: str) -> str | None:
    """The script subtag of a language tag (``hant`` of ``zh-hant`` and ``zh-tw``), or None when
    it names or implies none."""
    primary, *subtags = code.lower().split("-")
    for subtag in subtags:
        if len(subtag) == 4 and subtag.isalpha():
            return subtag
        if primary == "zh" and subtag in _CHINESE_SCRIPT_OF_REGION:
            return _CHINESE_SCRIPT_OF_REGION[subtag]
    return None


def language_matching(code: str, offered: list[str]) -> str | None:
    """The code of ``offered`` that ``code`` (a ticket's, a browser's, the site default) names,
    or None.

    The same code first; only when none is the same, one of the same primary language
    (``en-us`` is ``en``), and never one written in another script: ``zh-hant``, ``zh-tw`` and
    ``zh-hk`` are Traditional Chinese, which a reader of Simplified may not read fluently, and
    the other way round."""
    code = code.lower()
    for known in offered:
        if known.lower() == code:
            return known
    script = _script(code)
    for known in offered:
        if primary_language(known) != primary_language(code):
            continue
        if script is None or _script(known) in (None, script):
            return known
    return None


def site_language(code: str | None = None) -> str:
    """The language of ``settings.LANGUAGES`` that Guanxi writes in for ``code`` (blank: the
    site default, ``settings.LANGUAGE_CODE``).

    ``LANGUAGE_CODE`` may name a regional variant (``zh-cn``, ``en-us``) that Django accepts
    but has no catalogue of its own: translating in it outside a request fails ("No translation
    files found for default language"), and users left at the default would be told apart from
    those who chose the same language. Matched as a ticket's language is, then as Django
    matches a browser's; failing both, the site's first language, so a reader is never left
    without a message."""
    return _named_language(code or settings.LANGUAGE_CODE) or settings.LANGUAGES[0][0]


def _named_language(code: str) -> str | None:
    """The language of ``settings.LANGUAGES`` that ``code`` names, or None."""
    matched = language_matching(code, [known for known, _label in settings.LANGUAGES])
    if matched:
        return matched
    try:
        return translation.get_supported_language_variant(code)
    except (LookupError, AppRegistryNotReady):  # no catalogue is found before the apps are
        return None


def settle_language_code() -> None:
    """Read ``settings.LANGUAGE_CODE`` as the language of ``settings.LANGUAGES`` it names
    (``zh-cn`` as ``zh-hans``, ``en-us`` as ``en``), once, when the site starts.

    Django accepts a regional code there (its check matches it as it matches a browser's) but
    translates in the code as written wherever no request chose a language, and falls back to
    it from every other language: with no catalogue of its own (there is no zh_CN), every
    Chinese page, mail and notice then fails with "No translation files found for default
    language". Users who left their language at the default are also told apart from those
    who chose the same language, and emailed twice.

    A code naming no language of the site (``fr``, ``zh_CN``) is left as written: Django's
    checks then refuse it by name when the site starts, where reading it as the first language
    would have the site speak English without a word of why."""
    settled = _named_language(settings.LANGUAGE_CODE)
    if settled and settled != settings.LANGUAGE_CODE:
        settings.LANGUAGE_CODE = settled


def in_language(code: str | None) -> translation.override:
    """Translate in ``code``, or in the site default when it is blank."""
    return translation.override(site_language(code))


def language_of(user) -> str:
    """The language ``user`` reads Guanxi in."""
    return site_language(getattr(user, "language", ""))


def by_language(users: Iterable) -> dict[str, list]:
    """``users`` grouped by the language they read, in the order first met."""
    groups: dict[str, list] = {}
    for user in users:
        groups.setdefault(language_of(user), []).append(user)
    return groups


def chinese_if_written_in_it(*texts: str) -> str:
    """Chinese when ``texts`` taken together are written mostly in Chinese, else blank (the
    site default): all Guanxi can tell of the language of someone who wrote to it without
    choosing one.

    Mostly Chinese is judged by the text as a whole, not by any Han character in it: English
    requests name Chinese people and companies (“Please call Mr 王建华 back”, a signature
    “Regards, 张伟”), and Chinese ones name products and quote order numbers (“我的 iPhone 15
    Pro 订单 SO-2024-001 还没到”). The Han characters are weighed against the Latin letters,
    each character as :data:`LATIN_LETTERS_PER_HAN` letters, what English spends on saying as
    much; the text is Chinese when its Han side weighs at least as much as its Latin side,
    or when it holds a sentence of Chinese (:data:`CHINESE_PROSE_RUN`), however much English
    comes with it: a short Chinese email above its company's English confidentiality notice,
    or a Chinese report quoting a long English error message.
    Digits, punctuation and spaces weigh nothing: an order number says nothing of a language,
    and neither do web and email addresses (“发票请发到 finance@huarui-trading.com”).

    ``zh-hant`` when the Chinese is written in Traditional characters and the site offers
    it, else ``zh-hans``: more characters only Traditional Chinese writes than characters
    only Simplified Chinese writes (:func:`_script_of`) is Traditional; a tie, as in text of
    shared characters only (人, 中), is read as Simplified.

    Japanese, which writes Han characters among its kana, is no Chinese: blank, as any other
    language Guanxi does not speak."""
    written = "".join(text or "" for text in texts)
    han = [char for char in written if has_han(char)]
    if not han or 4 * len(_KANA.findall(written)) >= len(han):
        return ""
    words = " ".join(_ADDRESS.sub(" ", text or "") for text in texts)
    if LATIN_LETTERS_PER_HAN * len(han) < len(_LATIN_LETTER.findall(words)) and not any(
        _is_chinese_prose(run) for text in texts for run in han_runs(text)
    ):
        return ""
    offered = [code.lower() for code, _label in settings.LANGUAGES]
    scripts = [_script_of(char) for char in han]
    if "zh-hant" in offered and scripts.count("hant") > scripts.count("hans"):
        return "zh-hant"
    return "zh-hans"


# How many Latin letters say as much as one Han character: an English word has about 4.7
# letters and comes out as about 1.6 characters in Chinese, so English takes about three
# letters for each character Chinese writes. At three, a name of two to four characters
# needs about a dozen letters of English around it to stay English (“Please call 欧阳建华
# back”, 14 letters against 4 characters), while a Chinese sentence holds three letters of
# brand names and codes for each of its characters (“MacBook Pro 无法开机”, 10 against 4).
# Where the two sides weigh the same the text stays Chinese, as any Han text did before the
# Latin side was weighed. Texts too short to carry a language of their own (a subject that is
# a brand name and two characters, “Samsung Galaxy S24 Ultra 退货”) are read by the letters
# they have; the desk may change a ticket's language. The table of requests this was chosen
# from is ``core/tests/test_request_language_by_the_whole_text.py``.
LATIN_LETTERS_PER_HAN = 3

# How many Han characters in a row, nothing between them, make Chinese prose rather than a name:
# a Chinese name has two to four characters, a subject such as 张伟的订单 five, while a clause
# of a Chinese sentence between two punctuation marks (我的订单还没有收到, 登录时一直报错)
# usually has six or more. A run ending in a company's legal form (华瑞贸易有限公司, also in
# Traditional characters) is a company's name in an English signature, not prose.
CHINESE_PROSE_RUN = 6


def _is_chinese_prose(run: str) -> bool:
    return len(run) >= CHINESE_PROSE_RUN and not to_simplified(run).endswith(CHINESE_LEGAL_FORMS)


# Letters of the Latin alphabet, with its accented letters (é, ü, ơ) and the full-width forms
# a Chinese input method types (ＯＫ); not × and ÷, which sit among the accented letters.
_LATIN_LETTER = re.compile(
    "[A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff\uff21-\uff3a\uff41-\uff5a]"
)

# Web and email addresses, which are written in Latin letters whatever language is written
# around them. Only their ASCII characters: Chinese text often runs on with no space after
# one (“请发到finance@huarui.com谢谢”), and the characters after it are its words.
_ADDRESS = re.compile(
    r"(?:[a-z][a-z0-9+.-]*://|www\.)[!-~]+|[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+",
    re.IGNORECASE,
)


# Hiragana and katakana, not the katakana middle dot (・) nor the long vowel mark (ー), which
# Chinese text uses too (迈克尔・乔丹). Japanese prose has about as many kana as kanji or
# more; Chinese quoting a Japanese name has a few.
_KANA = re.compile("[\u3041-\u3096\u30a1-\u30fa]")


@lru_cache(maxsize=20_000)
def _script_of(char: str) -> str | None:
    """``hant`` for a Han character only Traditional Chinese writes (發, 們), ``hans`` for one
    only Simplified Chinese writes (发, 们), None for one both write (人, 中).

    Each character on its own, not in its phrase: OpenCC's ``s2t`` also turns characters
    Traditional text writes every day into the standard's variant of them (台灣 into 臺灣,
    后台 into 後臺), so the text as a whole changing under it is no sign of Simplified. A
    character is only Simplified when no Traditional standard, Taiwan's (``s2tw``) or Hong
    Kong's (``s2hk``) included, keeps it."""
    if to_simplified(char) != char:
        return "hant"
    if all(_opencc(config).convert(char) != char for config in ("s2t", "s2tw", "s2hk")):
        return "hans"
    return None


@cache
def _opencc(config: str):
    import opencc

    return opencc.OpenCC(f"{config}.json")


def speak_unless_chosen(request, code: str | None) -> None:
    """Answer ``request`` in ``code`` (blank: the site default) unless this browser has chosen a
    language with the switcher, whose cookie still wins.

    For pages reached from an email: their reader was written to in ``code``, and the browser's
    own Accept-Language (an English phone, a shared computer) says less about what they read
    than the email they just followed. Activated for the rest of the request, rather than held
    in a ``with`` block, so that ``LocaleMiddleware`` heads the response (``Content-Language``)
    with the language the page is written in."""
    chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
    if chosen:
        try:
            translation.get_supported_language_variant(chosen)
        except LookupError:
            pass  # a cookie naming no language of the site is no choice
        else:
            return
    translation.activate(site_language(code))
    request.LANGUAGE_CODE = translation.get_language()
