"""How sensitive values look to people who may not see them in full."""

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Mapping
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


def mask_phone(number: str) -> str:
    """138****1234 for a Chinese mobile; the same shape for other numbers (digits only masked).

    The four hidden digits of a mobile leave 10,000 candidates, and nothing shown beside them
    (the birth date, an address) narrows them, unlike an ID number's (:func:`mask_id_number`).
    The customer search keeps to this mask for whoever sees it: their digits find a phone only
    where the mask shows them, or as the whole number (``customers.masked_phone_search``, which
    must change with this function), so searching cannot confirm a guess at the hidden ones.
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
    if len(digits_positions) <= 4:
        return prefix + number
    keep_start, keep_end = (3, 4) if len(digits_positions) >= 10 else (2, 2)
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
    (SO-2026-000123 would be a Guangzhou number). Each shows the digits the card shows of that
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
    """:func:`mask_numbers_in_text`, in ``region``, a line at a time: no number is written over
    two lines, and the lines with too few digits for one (most of an email's) are not read."""
    return "".join(
        _line_masked(line, region) if len(_DIGIT.findall(line)) >= _FEWEST_DIGITS else line
        for line in text.splitlines(keepends=True)
    )


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
    typed = "".join(raw[i] for i in positions)
    if len(marks) != len(national) or national not in typed:
        return mask_phone(raw)
    # The national number's digits as typed: the last of them, unless an extension follows.
    start = typed.rfind(national)
    hidden = {positions[start + k] for k, mark in enumerate(marks) if mark == "*"}
    hidden.update(positions[start + len(national) :])  # an extension tells nothing: hide it
    return "".join("*" if i in hidden else ch for i, ch in enumerate(raw))


def _masked_resident_id(match: re.Match) -> str:
    typed = match.group(0)
    value = unicodedata.normalize("NFKC", re.sub(r"[ -]", "", typed)).upper()
    if not _is_resident_id(value):
        return typed
    # The characters the card shows (the first and the last) as typed, an x in its own case.
    shown = iter(mask_id_number(value))
    return "".join(ch if ch in " -" or next(shown) != "*" else "*" for ch in typed)


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

    A text is compared without its line endings' carriage returns and the blanks around it:
    a browser sends a text area's lines ending in CRLF, and the services strip what they store."""
    data = dict(data)
    for name in fields:
        sent, text = data.get(name), getattr(stored, name)
        if not isinstance(sent, str) or _same_text(sent, text):
            continue
        as_read = text_as_seen_by(writer, text)
        if as_read == text:
            continue
        if _same_text(sent, as_read):
            del data[name]
        elif any(masked in sent for masked in _MASKED_NUMBER.findall(as_read)):
            errors.setdefault(name, []).append(_(NUMBERS_WOULD_BE_LOST))
    return data


def _same_text(one: str, other: str) -> bool:
    return one.replace("\r\n", "\n").strip() == other.replace("\r\n", "\n").strip()
