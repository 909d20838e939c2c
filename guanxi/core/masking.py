"""How sensitive values look to people who may not see them in full.

Phone and ID numbers on a customer's card are masked by :func:`mask_phone` and
:func:`mask_id_number`. Numbers typed into free text (a customer's notes, a ticket's subject,
description and messages) are masked the same way for whoever sees the card masked
(:func:`mask_numbers_in_text`), by this rule:

Masked:
- phone numbers libphonenumber finds in the site's region, valid and, for landlines, grouped
  as numbers of their country are (021-5876 3190, (021) 5876 3190, +1 650-253-0000);
- Chinese mobiles (eleven digits, 13-19, valid) however they are written: in one run, in a
  word (wxm13890417762), in full-width digits, in pieces with any of spaces, tabs, dashes,
  dots, slashes, brackets, underscores, tildes, 、 or · between them, or wrapped at the end of
  a line, once or over more lines ("138\n9041 7762", "138-9041-\n7762", "138\n9041\n7762"),
  in a quoted email too ("> 138\n> 9041"), the line ended by CRLF, LF or a lone CR; and
  grouped 3+4+4 with the same comma, full stop, colon or semicolon of a Chinese input method
  (，。：；) or a plain comma between the groups (138，9041，7762), nothing listed beside;
- Chinese landlines with their area code written as its own piece, with those separators or
  wrapped too (021/5876/3190, "021-\n5876 3190"), after the country code too ("+86 21\n5876
  3190", "0086 21 5876\n3190");
- Chinese local numbers, a landline written without its area code: seven or eight digits
  starting 2-9, grouped 4+4, 3+4 or 4+3 with a space (the ideographic one, a tab) or dash
  (8765 4321, 876-5432), or in one run where a phone word (电话, 座机, 手机, tel, call, ...)
  comes before it in the same clause (电话87654321), each of a list of them too
  (8765 4321、8765 4322, 8765 4321，8765 4322). They show their last four digits only, all
  a card shows of any landline they could be;
- resident ID numbers, 18 characters with a right check character or 15 digits, with a
  birth date that is a date, in one run or spaced as region, birth date and serial; the
  18-character ones also with any of the separators above between those or wrapped once.

Left as typed, on purpose:
- dates (2026-12-05, 12/05/2026, 20261205 and any eight digits that read as YYYYMMDD) and
  ranges written with a dash, of years, round hundreds or price points (2019-2023, 3000-5000,
  2999-3999), never with a space (5000 0000: it could be a number picked for its zeros);
- amounts (12,345,678.00, 87654321.00, ¥8765432, RMB 8765 4321, 8765432元, 35000000
  unlabelled) and percentages, and any run with a unit right after it (件, 个, kg);
- numbers labelled as something else right before them (订单号：8765 4321, Order no.
  8765-4321, Invoice 8765 4321, #87654321, QQ 87654321, 邮编, 金额, 数量, ...);
- parts of longer numbers, joined to other digits by a separator (SO-2026-8765 4321,
  8765 4321-12) or run into letters (T-000123, SO12345678), and runs of seven or eight digits
  nothing calls a phone (2345678), or that start 0 or 1 (1234 5678);
- numbers split by a blank line, or by a comma otherwise than a mobile's 3+4+4 (13,812,345,678
  is an amount, 138，9041，7762，5000 a list); numbers listed one a line (a local number wrapped,
  "8765\n4321", reads as two).
Masking more than this would hide amounts and order numbers the notes are for; a number
written otherwise (spelled out) is not found.

Whoever reads a text masked and sends it back (:func:`texts_as_read`) is answered by what they
sent and what they read only, never by the stored text, so no guess at a hidden number is told
right or wrong by how the save goes.
"""

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import phonenumbers
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop


def mask_middle(value: str, keep_start: int, keep_end: int) -> str:
    """Replace every character between the first ``keep_start`` and last ``keep_end`` with '*'.

    Short values keep less, so that masking never reveals more than half of the value.
    """
    if not value:
        return value
    length = len(value)
    if keep_start + keep_end > length // 2:
        keep_start = min(keep_start, length // 4)
        keep_end = min(keep_end, length // 4)
    hidden = length - keep_start - keep_end
    return value[:keep_start] + "*" * hidden + (value[length - keep_end :] if keep_end else "")


# As mask_phone shows a number: its country code always; of a national number of this many
# digits or more, the first three and the last four; of a shorter one, the first two and the
# last two, never four consecutive digits to search by.
LONG_NATIONAL_NUMBER = 10
LAST_DIGITS_SHOWN = 4
FIRST_DIGITS_SHOWN_OF_LONG = 3
FIRST_DIGITS_SHOWN_OF_SHORT = 2
LAST_DIGITS_SHOWN_OF_SHORT = 2
COUNTRY_CODES = frozenset(str(code) for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
# A display of the number alone: one with an extension (+86 21 6234 5678 ext. 12, "доб." in
# some countries) has the extension's digits last, and the mask shows those instead.
_NUMBER_ALONE = re.compile(r"[-+0-9 ().]+")


def country_code_of(digits: str) -> str:
    """The country code an international number starting with ``digits`` has ("" if none):
    country codes are prefix-free, so at most one of the first one, two or three digits is
    one."""
    for length in (1, 2, 3):
        if digits[:length] in COUNTRY_CODES:
            return digits[:length]
    return ""


@dataclass(frozen=True)
class ShownDigits:
    """What the mask shows of a stored number's digits, as the customer search may match them
    for whoever sees it masked (``customers.masked_phone_search``): the number's last four
    digits ("" where the mask shows others: a short number, or one with an extension), its
    country code followed by none, one, two (and for a long national number three) of its
    first national digits, and the whole number, which whoever types all of it knows."""

    last: str
    starts: tuple[str, ...]
    whole: str


def shown_digits(number: str, display: str) -> ShownDigits:
    """:class:`ShownDigits` of a stored (E.164) ``number`` shown as ``display``. A number whose
    start is no country code is read as having one of three digits, only for its length: the
    mask then shows no start to search by."""
    digits = number.lstrip("+")
    code = country_code_of(digits)
    national = digits[len(code) or 3 :]
    long = len(national) >= LONG_NATIONAL_NUMBER
    last = digits[-LAST_DIGITS_SHOWN:] if long and _NUMBER_ALONE.fullmatch(display) else ""
    first_shown = FIRST_DIGITS_SHOWN_OF_LONG if long else FIRST_DIGITS_SHOWN_OF_SHORT
    starts = (
        tuple(code + national[:count] for count in range(min(first_shown, len(national)) + 1))
        if code
        else ()
    )
    return ShownDigits(last=last, starts=starts, whole=digits)


def mask_phone(number: str) -> str:
    """138****1234 for a Chinese mobile; the same shape for other numbers (digits only masked).

    The four hidden digits of a mobile leave 10,000 candidates, and nothing shown beside them
    (the birth date, an address) narrows them, unlike an ID number's (:func:`mask_id_number`).
    The customer search keeps to this mask for whoever sees it: their digits find a phone only
    where the mask shows them, or as the whole number (``customers.masked_phone_search``, by
    :func:`shown_digits`, which must change with this function; a change to either needs the
    customers' search texts made again), so searching cannot confirm a guess at the hidden
    ones.
    The new-customer form's duplicate hints say "same mobile phone" of a number typed in full
    only: whoever types it knows it."""
    if not number:
        return number
    prefix = ""
    if number.startswith("+"):
        # Keep the country code visible; mask within the national part.
        country, _, rest = number.partition(" ")
        if rest:
            prefix, number = country + " ", rest
    digits_positions = [i for i, ch in enumerate(number) if ch.isdigit()]
    if len(digits_positions) <= LAST_DIGITS_SHOWN:
        return prefix + number
    keep_start, keep_end = (
        (FIRST_DIGITS_SHOWN_OF_LONG, LAST_DIGITS_SHOWN)
        if len(digits_positions) >= LONG_NATIONAL_NUMBER
        else (FIRST_DIGITS_SHOWN_OF_SHORT, LAST_DIGITS_SHOWN_OF_SHORT)
    )
    masked_positions = set(digits_positions[keep_start : len(digits_positions) - keep_end])
    return prefix + "".join("*" if i in masked_positions else ch for i, ch in enumerate(number))


# Lengths of the mainland resident ID number (and of the residence permits and permanent
# residence cards built the same way): 18 characters since 1999, 15 before.
RESIDENT_ID_LENGTHS = (15, 18)


def mask_id_number(value: str) -> str:
    """1****************X: an ID number of a resident ID's length keeps only its first and last
    character; any other document (passport, travel permit) at most two at each end.

    Why so little: an 18-character resident ID number is 6 digits of region, the birth date
    (YYYYMMDD), a 3-digit serial whose last digit is odd for men and even for women, and a
    check character computed from the other 17. Whoever sees a customer's masked number sees
    their birth date too, and their address names the city, often the district, which is the
    region code. The serial is then all that is left to guess, and the usual "last four"
    (1101**********002X, as this function once showed) are the serial and the check character:
    the whole number, give or take the county, and the check character picks the county among
    the city's few. With only the last character shown, a birth date and a six-digit region
    code still leave 90 or 91 of the 1,000 serials with that check character (45 or 46 once
    the customer's sex is known), and every other county of the city as many again. A caller
    is confirmed by their birth date and the last character; the first one tells the province,
    which the address says anyway.

    The old 15-digit number (region, YYMMDD, serial, no check character) is masked the same
    way: its last digit is the sex, so 100 serials stay open. Other documents carry no birth
    date in a fixed place and keep two characters at each end, or fewer if short
    (:func:`mask_middle`). The rule depends only on the length and keeps only characters the
    earlier rules kept, so a number masked the earlier way is masked this way from its masked
    form alone."""
    if len(value) in RESIDENT_ID_LENGTHS:
        return mask_middle(value, 1, 1)
    return mask_middle(value, 2, 2)


def is_masked(value: str) -> bool:
    """Whether a phone or ID number is one as Guanxi shows it masked (:func:`mask_phone`,
    :func:`mask_id_number`): no real number has an asterisk of its own. A masked number sent
    back (an edited form, an exported file imported again) stands for the stored one it masks."""
    return "*" in (value or "")


_SEPARATORS = re.compile(r"[\s\-().]")


def masks_match(submitted: str, masked: str) -> bool:
    """Whether ``submitted``, a masked number as someone sent it back, is ``masked`` (the stored
    number's mask), written with or without the spaces and dashes of the display."""
    return mask_key(submitted) == mask_key(masked)


def mask_key(masked: str) -> str:
    """A masked number without the spaces and dashes of the display, for comparing masks."""
    return _SEPARATORS.sub("", masked)


# Numbers written into free text (a note, a message, a subject) -------------------------------

# At least this many digits before a text can hold a number worth masking: the shortest number
# masked (a five-digit one keeps two at each end) or found is longer, and most notes have fewer.
_FEWEST_DIGITS = 7
_DIGIT = re.compile(r"\d")
# A resident ID number as typed: 18 characters (the last a digit or X) or the old 15 digits, in
# one run or spaced as region, birth date and serial; never part of a longer run of digits.
# Digits and the X may be full-width, as a Chinese input method types them (\d is any digit).
_RESIDENT_ID = re.compile(
    r"(?<!\d)(?:\d{6}([ -]?)\d{8}\1\d{3}[\dXxＸｘ]|\d{6}([ -]?)\d{6}\2\d{3})(?![\dXxＸｘ])"
)
_RESIDENT_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_RESIDENT_ID_CHECK = "10X98765432"
# A Chinese mobile number run into letters (wxm13890417762), which the phone matcher leaves
# alone because most runs of digits inside words are no phone numbers; a mobile's eleven
# digits starting 13-19 rarely are anything else.
_MOBILE_IN_A_WORD = re.compile(r"(?<![\d*])1[3-9]\d{9}(?![\d*])")


def mask_numbers_in_text(text: str) -> str:
    """``text`` with every phone number and resident ID number in it masked as the customer's
    card masks the same number (:func:`mask_phone`, :func:`mask_id_number`), the rest as typed.

    For whoever sees numbers masked, free text (a note, a ticket's messages, its subject) would
    otherwise show the number the card beside it hides. Phone numbers are those libphonenumber
    finds in the site's default region, valid ones only (dates, amounts, "T-000123" are not),
    grouped as numbers of their country are, except Chinese mobiles, found however the digits
    are spaced: a valid landline's grouping is what tells one from an order number
    (SO-2026-000123 would be a Guangzhou number). Chinese numbers written in pieces or wrapped
    at a line's end, and local numbers without their area code, are found as the module's
    docstring says. Each shows the digits the card shows of that
    number, wherever the text has them and with its own spacing and prefix (+86, 0), so the
    two together show no more than the card. ID numbers are 18 characters with a right check
    character or 15 digits, either with a birth date that is a date.

    The text is plain (escape it after, not before: masking never adds markup)."""
    if not text or len(_DIGIT.findall(text)) < _FEWEST_DIGITS:
        return text
    # The matching takes a few milliseconds a message: a page shown again (a ticket's
    # conversation, the timeline) reads it from here.
    return _numbers_masked(text, settings.GUANXI_DEFAULT_PHONE_REGION)


@lru_cache(maxsize=4096)
def _numbers_masked(text: str, region: str) -> str:
    """:func:`mask_numbers_in_text`, in ``region``: libphonenumber reads a line at a time (the
    lines with too few digits for a number, most of an email's, are not read), then the whole
    text is read for numbers libphonenumber does not find (:func:`_pieces_masked`,
    :func:`_local_numbers_masked`)."""
    # First the resident ID numbers spaced or wrapped as no line shows them whole, before any
    # of their pieces (a birth date and serial, 198 9123 1002) could be read as a phone's.
    text = _RESIDENT_ID_IN_PIECES.sub(_masked_resident_id, text)
    text = "".join(
        _line_masked(line, region) if len(_DIGIT.findall(line)) >= _FEWEST_DIGITS else line
        for line in text.splitlines(keepends=True)
    )
    return _local_numbers_masked(_punctuated_mobiles_masked(_pieces_masked(text)))


def _line_masked(text: str, region: str) -> str:
    text = _RESIDENT_ID.sub(_masked_resident_id, text)
    spans = []
    strict = None
    for match in phonenumbers.PhoneNumberMatcher(text, region, phonenumbers.Leniency.VALID):
        number = match.number
        is_mobile = number.country_code == 86 and phonenumbers.number_type(number) in (
            phonenumbers.PhoneNumberType.MOBILE,
            phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
        )
        if not is_mobile:
            if strict is None:
                strict = {
                    (m.start, m.end)
                    for m in phonenumbers.PhoneNumberMatcher(
                        text, region, phonenumbers.Leniency.STRICT_GROUPING
                    )
                }
            if (match.start, match.end) not in strict:
                continue
        spans.append((match.start, match.end, _masked_as_typed(match.raw_string, number)))
    for start, end, masked in reversed(spans):
        text = text[:start] + masked + text[end:]
    return _MOBILE_IN_A_WORD.sub(_masked_mobile_in_a_word, text)


def _masked_as_typed(raw: str, number: phonenumbers.PhoneNumber) -> str:
    """``raw``, a number as the text writes it, with the digits hidden that :func:`mask_phone`
    hides of the number as the card shows it (+86 21 5*** 3190 for "(021) 5876 3190")."""
    display = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    national = phonenumbers.national_significant_number(number)
    marks = [ch for ch in mask_phone(display).partition(" ")[2] if ch.isdigit() or ch == "*"]
    positions = [i for i, ch in enumerate(raw) if ch.isdigit()]
    # Full-width digits (as a Chinese input method types them) read as the digits they are.
    typed = "".join(unicodedata.normalize("NFKC", raw[i])[:1] for i in positions)
    if len(marks) != len(national) or national not in typed:
        return mask_phone(raw)
    # The national number's digits as typed: the last of them, unless an extension follows.
    start = typed.rfind(national)
    hidden = {positions[start + k] for k, mark in enumerate(marks) if mark == "*"}
    hidden.update(positions[start + len(national) :])  # an extension tells nothing: hide it
    return "".join("*" if i in hidden else ch for i, ch in enumerate(raw))


# Numbers in pieces ---------------------------------------------------------------------------

# What people put between the pieces of a number besides the spaces, dashes, dots, slashes and
# brackets libphonenumber reads: tabs, the ideographic space, underscores, tildes, the
# enumeration comma and middle dots, full-width forms of them all. Not the comma: amounts are
# grouped with it (13,812,345,678 is no mobile).
_GAP_CHARACTERS = (
    " \t\u00a0\u2009\u202f\u3000-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\uff0d\u30fc_~\uff5e"
    ".\uff0e/\uff0f\\\\()\uff08\uff09[]\uff3b\uff3d\u3010\u3011\u3001\u00b7\u30fb\u2022"
)
_GAP_CHARACTER = "[" + re.escape(_GAP_CHARACTERS) + "]"
# Between two pieces: one to three of those, or one line break with up to three on either side
# (a number wrapped at the end of a line), after it the next line's quote marks if the text
# quotes an email ("> "); never a blank line. A line ends in CRLF, LF or, as old Mac texts end
# it, a lone CR.
_GAP = (
    rf"(?:{_GAP_CHARACTER}{{0,3}}(?:\r\n?|\n)(?:[ \t]*>)*{_GAP_CHARACTER}{{0,3}}"
    rf"|{_GAP_CHARACTER}{{1,3}})"
)
_PIECES = re.compile(rf"\d+(?:{_GAP}\d+)*")
_PIECE = re.compile(r"\d+")
# An 18-character resident ID number with those gaps between its region, birth date and serial
# (the 15-digit one only as :data:`_RESIDENT_ID` finds it: without a check character, six and
# six digits and three in a list, postcodes and a count, would too often read as one).
_RESIDENT_ID_IN_PIECES = re.compile(
    rf"(?<![\d*])\d{{6}}(?:{_GAP})?\d{{8}}(?:{_GAP})?\d{{3}}[\dXxＸｘ](?![\dXxＸｘ*])"
)


def _pieces_masked(text: str) -> str:
    """``text`` with the Chinese mobiles and landlines written in pieces masked where
    libphonenumber, reading a line at a time and only its own separators, left them: "138\\n
    1234 5678", "138-1234-\\n5678", "138\\t1234\\t5678", "138、1234、5678", "021/5876/3190",
    "021-\\n5876 3190", or one beside another number ("数量 12 138 9041 7762").

    A number is made of whole pieces (runs of digits) of one run of pieces joined by gaps: a
    mobile is eleven digits starting 13-19, valid; a landline an area code of its own piece
    (021, 0755: never a date's 05), or after the country code without its 0 (+86 21, 0086 21,
    +8621), followed by seven or eight digits starting 2-9, valid.
    Each keeps what the card keeps of it (138****5678, 021-5***3190)."""
    spans: list[int] = []
    for run in _PIECES.finditer(text):
        if run.group().isdigit():
            continue  # one run of digits: read already, as a number or in a word
        pieces = [(m.start() + run.start(), m.group()) for m in _PIECE.finditer(run.group())]
        first = 0
        while first < len(pieces):
            taken = _number_in_pieces(text, pieces, first)
            if taken is None:
                first += 1
                continue
            last, hidden = taken
            spans.extend(hidden)
            first = last + 1
    return _hidden(text, spans)


def _hidden(text: str, positions: Iterable[int]) -> str:
    chars = list(text)
    for position in positions:
        chars[position] = "*"
    return "".join(chars)


def _number_in_pieces(
    text: str, pieces: list[tuple[int, str]], first: int
) -> tuple[int, list[int]] | None:
    """The last piece and the digits to hide of the number that starts at piece ``first``, if
    one does."""
    positions: list[int] = []
    country = _country_code_length(text, pieces[first])
    for last in range(first, len(pieces)):
        start, digits = pieces[last]
        positions.extend(range(start, start + len(digits)))
        typed = unicodedata.normalize("NFKC", "".join(text[i] for i in positions))
        if len(typed) - country > 12:
            return None
        if typed[0] == "1" and len(typed) == 11 and _is_chinese_number(typed, mobile=True):
            return last, positions[3:7]
        area = pieces[first][1]
        if (
            last > first
            and typed[0] == "0"
            and len(area) in (3, 4)
            and len(typed) - len(area) in (7, 8)
            # No local number starts with 1: an area code before a mobile (0891 138 9041
            # 7762) would otherwise take its first digits and show its hidden middle.
            and typed[len(area)] in "23456789"
            and _is_chinese_number(typed, area_code=len(area) - 1)
        ):
            national = positions[1:]
            return last, national[3 : len(national) - 4]
        country = _country_code_length(text, pieces[first])
        if country and last > first:
            # +86 21 5876 3190, 0086 21 ..., +8621 ...: the area code follows the country code
            # without its trunk 0, in the country code's piece or as a piece of its own.
            area = area[country:] or pieces[first + 1][1]
            national = positions[country:]
            local = len(national) - len(area)
            if (
                len(area) in (2, 3)
                and local in (7, 8)
                and typed[country + len(area)] in "23456789"
                and _is_chinese_number("0" + typed[country:], area_code=len(area))
            ):
                return last, national[3 : len(national) - 4]
    return None


def _country_code_length(text: str, piece: tuple[int, str]) -> int:
    """How many digits at the start of ``piece`` are China's country code: 0086, or 86 right
    after a plus sign."""
    start, digits = piece
    if digits.startswith("0086"):
        return 4
    if digits.startswith("86") and start and text[start - 1] in "+＋":
        return 2
    return 0


def _is_chinese_number(digits: str, *, mobile: bool = False, area_code: int = 0) -> bool:
    try:
        number = phonenumbers.parse(digits, "CN")
    except phonenumbers.NumberParseException:
        return False
    if not phonenumbers.is_valid_number(number):
        return False
    kind = phonenumbers.number_type(number)
    if mobile:
        return kind == phonenumbers.PhoneNumberType.MOBILE
    return (
        kind
        in (
            phonenumbers.PhoneNumberType.FIXED_LINE,
            phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
        )
        and phonenumbers.length_of_geographical_area_code(number) == area_code
    )


# A local number (a landline written without its area code) -----------------------------------

# What joins a number to digits beside it as parts of one longer number: the separators
# between pieces, except the enumeration comma, which lists numbers (8765 4321、8765 4322), as
# the full-width comma does (only the ASCII one groups an amount's digits).
_JOINING_CHARACTER = "[" + re.escape(_GAP_CHARACTERS.replace("\u3001", "")) + "]"
# A unit right after a number, which makes it a count or an amount (lower case: the patterns
# using it ignore case).
_UNIT = (
    r"\s*(?:元|块|圆|角|万|亿|件|个|台|套|箱|包|只|条|张|份|次|人|天|年|月|日|号|米|克|公斤|吨|升|"
    r"rmb|cny|usd|yuan|pcs|kg|km)"
)
# Seven or eight digits, the first 2-9 (no local number starts 0 or 1), in one run or as 3+4,
# 4+4 or 4+3 with one space (a tab, a no-break or an ideographic one too, as a full-width input
# method types it) or dash between, standing alone: no digit, latin letter, star, #
# or currency sign right before it, nor a digit through a separator (the end of a longer
# number, a date, an amount), and no digit, letter, star, decimal part, percent or unit right
# after it.
_LOCAL_NUMBER = re.compile(
    r"(?<![\dA-Za-zＡ-Ｚａ-ｚ*＊#＃№¥￥$＄€£_])"
    rf"(?<![\d*]{_JOINING_CHARACTER})(?<![\d*]{_JOINING_CHARACTER}{{2}})(?<!\d,)(?<![¥￥$＄€£]\s)"
    r"(?P<number>(?=[2-9２-９])\d{3,4}(?P<gap>[ \t\u00a0\u3000\-－]?)\d{3,4})"
    r"(?![\dA-Za-zＡ-Ｚａ-ｚ*＊%％‰_])"
    rf"(?!{_JOINING_CHARACTER}{{1,2}}[\d*])(?!,\d)(?!{_UNIT})",
    re.IGNORECASE,
)
# A label right before it (with a colon, "号", "No." or a short latin prefix between) that says
# the number is something else: an order, ticket, invoice, parcel, account, amount (a currency
# named in words, as ¥ and $ are read before it), quantity, postcode, code or ID.
_NOT_A_PHONE_LABEL = re.compile(
    r"(?:订单|单号|编号|工单|运单|快递|物流|发票|合同|账号|帐号|账户|帐户|卡号|户号|会员|客户号|货号|"
    r"型号|批号|批次|序列号|流水号|金额|价格|单价|总价|总计|合计|余额|预算|收入|营收|销售额|数量|库存|"
    r"邮编|身份证|证件|护照|学号|工号|密码|验证码|QQ|人民币|美元|港币|港元|欧元|日元|英镑|"
    r"\b(?:order|invoice|ticket|tracking|ref|reference|account|acct|sku|serial|batch|lot|amount|"
    r"price|total|balance|budget|revenue|qty|quantity|zip|postcode|passport|id|no|po|case|qq|"
    r"rmb|cny|usd|hkd|eur|gbp|jpy))"
    r"[\s:：#＃.\-号码为是]*(?:[A-Za-z]{1,4}[\s\-]?)?$",
    re.IGNORECASE,
)
# A word in the same clause before an unbroken run that says it is a phone number.
_PHONE_WORD = re.compile(
    r"电话|座机|固话|手机|号码|联系|拨打|致电|回电|来电|传真|总机|分机|前台|热线|办公室|"
    r"\b(?:tel|phone|telephone|call|fax|office|landline|mobile|contact|ring)\b",
    re.IGNORECASE,
)
# How far before a number its label is looked for.
_LABEL_REACH = 16


def _local_numbers_masked(text: str) -> str:
    """``text`` with the Chinese local numbers in it (a landline without its area code, 8765
    4321) masked to their last four digits, all a card shows of any number they could be
    (+86 21 5*** 4321 keeps the first too, but +86 755 ****4321 does not)."""
    hidden: list[int] = []
    for match in _LOCAL_NUMBER.finditer(text):
        if _is_local_number(text, match):
            digits = [i for i in range(*match.span("number")) if text[i] != match["gap"]]
            hidden.extend(digits[:-4])
    return _hidden(text, hidden)


def _is_local_number(text: str, match: re.Match) -> bool:
    """Whether ``match`` (:data:`_LOCAL_NUMBER`) is a phone number: grouped as one (3+4, 4+4,
    4+3) unless labelled as something else or a date; in one run only where the clause before
    it names a phone, since an unbroken run of seven or eight digits is as often an amount, a
    count or a code."""
    number, gap = match["number"], match["gap"]
    digits = "".join(unicodedata.normalize("NFKC", ch)[:1] for ch in number if ch != gap)
    head = len(number.partition(gap)[0]) if gap else 4
    if (head, len(digits) - head) not in ((3, 4), (4, 3), (4, 4)) or _is_date(digits):
        return False
    if gap in ("-", "－") and _is_range(int(digits[:head]), int(digits[head:])):
        return False
    before = text[max(0, match.start() - _LABEL_REACH) : match.start()]
    if _NOT_A_PHONE_LABEL.search(before):
        return False
    if gap:
        return True
    # A phone word ends where its clause does ("电话已打过，订单 87654321" names no phone).
    clause = re.split(r"[\n，,。；;！!？?]", before)[-1]
    return bool(_PHONE_WORD.search(clause))


def _is_range(low: int, high: int) -> bool:
    """Whether two numbers joined by a dash read as a range (2019-2023, 3000-5000, 800-1200,
    2999-3999): years, round hundreds or price points (both ending in 99), the larger last.
    Any other pair is as likely a landline written with a dash, whichever half is larger, and
    is masked. Each shape leaves in full about one in 20,000 of the numbers a landline could
    be, and only when written with a dash: with a space (5000 0000, an amount grouped by 万
    or a number picked for its zeros) nothing tells the two apart, and it stays masked."""
    if low >= high:
        return False
    return (low >= 1900 and high <= 2099) or low % 100 == high % 100 in (0, 99)


def _is_date(digits: str) -> bool:
    """Whether eight digits read as a date, YYYYMMDD (20261205)."""
    if len(digits) != 8:
        return False
    try:
        dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return False
    return 1900 <= int(digits[:4]) <= 2099


# A mobile split by punctuation ----------------------------------------------------------------

# What a Chinese input method types for "," "." ":" and ";" (and the comma itself): put
# between a mobile's groups they make one number only grouped as mobiles are, 3+4+4, with the
# same mark both times and nothing listed before or after; otherwise they list numbers.
_MARK = "[" + re.escape("，,。：；､") + "]"
_BLANK = "[ \u3000]?"
_PUNCTUATED_MOBILE = re.compile(
    rf"(?<![\d*＊])(?<!\d[.．])(?<![\d*]{_MARK})(?<![\d*]{_MARK}[ \u3000])"
    rf"(?P<head>\d{{3}}){_BLANK}(?P<mark>{_MARK}){_BLANK}(?P<middle>\d{{4}})"
    rf"{_BLANK}(?P=mark){_BLANK}(?P<tail>\d{{4}})"
    rf"(?![\d*＊%％‰])(?![.．]\d)(?!{_BLANK}{_MARK}{_BLANK}\d)(?!{_UNIT})",
    re.IGNORECASE,
)
# The same number as it reads masked (138，****，7762).
_PUNCTUATED_MOBILE_MASKED = re.compile(
    rf"(?<![\d*])(\d{{3}}){_BLANK}({_MARK}){_BLANK}\*{{4}}{_BLANK}\2{_BLANK}(\d{{4}})(?![\d*])"
)


def _punctuated_mobiles_masked(text: str) -> str:
    """``text`` with the Chinese mobiles written with punctuation between their groups
    (138，9041，7762, 138。9041。7762) masked as the card masks them, unless labelled as
    something else (数量, 单价)."""
    hidden: list[int] = []
    for match in _PUNCTUATED_MOBILE.finditer(text):
        digits = unicodedata.normalize("NFKC", match["head"] + match["middle"] + match["tail"])
        before = text[max(0, match.start() - _LABEL_REACH) : match.start()]
        if _is_chinese_number(digits, mobile=True) and not _NOT_A_PHONE_LABEL.search(before):
            hidden.extend(range(*match.span("middle")))
    return _hidden(text, hidden)


_ID_CHARACTER = re.compile(r"[\dXxＸｘ]")


def _masked_resident_id(match: re.Match) -> str:
    typed = match.group(0)
    value = unicodedata.normalize("NFKC", "".join(_ID_CHARACTER.findall(typed))).upper()
    if not _is_resident_id(value):
        return typed
    # The characters the card shows (the first and the last) as typed, an x in its own case,
    # and whatever is typed between them.
    shown = iter(mask_id_number(value))
    return "".join(
        "*" if _ID_CHARACTER.fullmatch(ch) and next(shown) == "*" else ch for ch in typed
    )


def _is_resident_id(value: str) -> bool:
    if len(value) == 18:
        birth = value[6:14]
        total = sum(int(d) * w for d, w in zip(value[:17], _RESIDENT_ID_WEIGHTS, strict=True))
        if _RESIDENT_ID_CHECK[total % 11] != value[17]:
            return False
    else:
        birth = "19" + value[6:12]
    try:
        born = dt.date(int(birth[:4]), int(birth[4:6]), int(birth[6:8]))
    except ValueError:
        return False
    return value[0] in "12345678" and dt.date(1880, 1, 1) <= born


def _masked_mobile_in_a_word(match: re.Match) -> str:
    digits = match.group(0)
    try:
        number = phonenumbers.parse(digits, "CN")
    except phonenumbers.NumberParseException:
        return digits
    return mask_phone(digits) if phonenumbers.is_valid_number(number) else digits


def text_as_seen_by(user, text: str) -> str:
    """Free text about a customer as ``user`` may read it: as written if they may see numbers
    in full, else with the numbers in it masked (:func:`mask_numbers_in_text`). The stored
    text never changes: a note keeps what its writer typed for whoever may read it."""
    if not text or user.may_view_sensitive():
        return text
    return mask_numbers_in_text(text)


# Why a text changed around a number its writer sees masked is refused (untranslated, for the
# import's stored reasons; :func:`texts_as_read` translates it).
NUMBERS_WOULD_BE_LOST = gettext_noop(
    "This text holds numbers you see masked; saving it would overwrite them "
    "with the stars. Send it without them, or ask someone who may see them."
)

# A number as whoever sees it masked reads it: a run of stars. Only the stars are looked for, not
# what the mask shows beside them: Chinese puts no blank between a number and the words around
# it, so an edit to those words would otherwise pass for a text without the number.
_MASKED_NUMBER = re.compile(r"\*{2,}")


def texts_as_read(
    writer, stored: object, data: Mapping[str, Any], fields: Iterable[str], errors: dict
) -> dict[str, Any]:
    """``data`` (what ``writer`` sends to change ``stored``), its free-text ``fields`` held to
    what the writer could have read of them (:func:`text_as_seen_by`).

    For whoever reads numbers in a text masked, a text sent back as read (a form or a client
    saving the whole record it was given) is left as stored rather than overwritten with the
    stars; one changed around a number shown masked is refused naming the field in ``errors``,
    since saving it would lose the number. Rewritten without those numbers, it is taken as
    sent. Whoever may see numbers in full read the stored text and write what they send.

    What becomes of a text sent by whoever reads it masked depends on what they sent and what
    they read only, never on the stored text, or a guess at a hidden number written in place of
    its stars would be told right or wrong by how the save went (taken as no change, or as a
    change with its history). So a text that reads as it was read once its own numbers are
    masked (a guess in place of the stars, right or wrong) is sent back as read and left as
    stored; and a changed text still holding a number that masks as one shown masked (a guess
    among other changes) is refused like one holding the stars, rather than taken with a guess
    that would overwrite the number unseen. A number that masks otherwise (other digits where
    the mask shows them) is another number and taken.

    A text is compared without its line endings' carriage returns and the blanks around it:
    a browser sends a text area's lines ending in CRLF, and the services strip what they store.
    Any other rewriting a service does before storing (a ticket's subject put on one line) it
    does before calling this: a guess spaced so as not to read as a number, taken as another
    text, would otherwise be stored as the stored text when right and over it when wrong."""
    data = dict(data)
    for name in fields:
        sent, text = data.get(name), getattr(stored, name)
        if not isinstance(sent, str):
            continue
        as_read = text_as_seen_by(writer, text)
        if as_read == text:
            continue  # nothing in it hidden from the writer: written as sent
        sent_as_read = text_as_seen_by(writer, sent)
        if _same_text(sent, as_read) or _same_text(sent_as_read, as_read):
            del data[name]
        elif any(masked in sent for masked in _MASKED_NUMBER.findall(as_read)) or (
            _masked_numbers(sent_as_read) & _masked_numbers(as_read)
        ):
            errors.setdefault(name, []).append(_(NUMBERS_WOULD_BE_LOST))
    return data


# A number as a text shows it masked, in pieces however they are spaced or wrapped: digits, the
# stars and an ID number's X.
_MASKED_NUMBER_WRITTEN = re.compile(rf"[\d*](?:{_GAP}?[\d*])*(?:[XxＸｘ](?![A-Za-z]))?")


def _masked_numbers(text: str) -> set[str]:
    """The masked numbers in ``text`` (a text as masked), each as its digits, stars and X alone
    and without the country code or trunk prefix (+86 21 5*** 3190 and 021-5***3190 are one),
    to tell a number written where a masked one was from another number."""
    found = set()
    # A mobile masked between punctuation (138，****，7762), whose marks join no other number.
    for match in _PUNCTUATED_MOBILE_MASKED.finditer(text):
        found.add(unicodedata.normalize("NFKC", f"{match[1]}****{match[3]}"))
    text = _PUNCTUATED_MOBILE_MASKED.sub("\n\n", text)
    for match in _MASKED_NUMBER_WRITTEN.finditer(text):
        written = match.group()
        if written.count("*") < 2:
            continue
        kept = unicodedata.normalize("NFKC", re.sub(r"[^\d*XxＸｘ]", "", written)).upper()
        for prefix in ("0086", "86"):
            if kept.startswith(prefix) and len(kept) - len(prefix) >= 10:
                kept = kept[len(prefix) :]
                break
        found.add(kept.removeprefix("0"))
    return found


def _same_text(one: str, other: str) -> bool:
    return one.replace("\r\n", "\n").strip() == other.replace("\r\n", "\n").strip()
