"""Phone numbers parsed and formatted with Google's libphonenumber (``phonenumbers``)."""

import re
from dataclasses import dataclass
from functools import cache

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

# The messages of the two ways a number is refused (``ValidationError.code`` tells them
# apart), for a caller that keeps them untranslated.
NOT_A_PHONE = gettext_noop("“%(value)s” is not a phone number.")
NOT_A_VALID_PHONE = gettext_noop("“%(value)s” is not a valid phone number.")


@dataclass(frozen=True)
class ParsedPhone:
    e164: str  # +8613812345678: the canonical stored form
    display: str  # +86 138 1234 5678: international format for people


_SEPARATORS = re.compile(r"[\s\-().]")
_CHINESE_MOBILE = re.compile(r"^(?:\+?86)?(1\d{10})$")


# How many leading digits decide whether libphonenumber accepts a Chinese mobile number: its
# metadata tells the blocks apart by at most five (1740 0 to 1740 5 are assigned, 1740 6 is
# not). The tests check this for every five-digit start against the library.
MOBILE_DECIDING_DIGITS = 5


@cache  # at most the 10,000 starts of an eleven-digit number beginning with 1
def _chinese_mobile_start_is_valid(start: str) -> bool:
    """Whether libphonenumber accepts the mobile numbers beginning with ``start`` (13812).

    One lookup stands for all the numbers of that start: an importer parsing a hundred thousand
    numbers, nearly all of them different, finds the answer cached for almost all, where with
    seven-digit blocks it missed most of the time and asked the library again."""
    return phonenumbers.is_valid_number(phonenumbers.parse(start.ljust(11, "0"), "CN"))


def is_valid_e164(number: str) -> bool:
    """Whether ``number``, written with its country code (+8613812345678), is a number
    libphonenumber knows to be assigned, as every stored one is."""
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(number))
    except phonenumbers.NumberParseException:
        return False


def is_fixed_line(number: str) -> bool:
    """Whether ``number``, written with its country code (+862155551234), is a fixed line by
    libphonenumber's metadata. One that may be either (FIXED_LINE_OR_MOBILE: the plan does not
    tell, as in the United States) is not said to be one."""
    if _CHINESE_MOBILE.match(number):
        return False  # most numbers stored, and an importer's, are these: no parsing
    try:
        kind = phonenumbers.number_type(phonenumbers.parse(number))
    except phonenumbers.NumberParseException:
        return False
    return kind == phonenumbers.PhoneNumberType.FIXED_LINE


def parse_phone(raw: str, region: str | None = None) -> ParsedPhone:
    """Parse a number as typed (spaces, dashes, with or without +86); raise if it is not valid."""
    region = region or settings.GUANXI_DEFAULT_PHONE_REGION
    if region == "CN" or (raw or "").lstrip().startswith(("+86", "86")):
        match = _CHINESE_MOBILE.match(_SEPARATORS.sub("", raw or ""))
        if match and _chinese_mobile_start_is_valid(match.group(1)[:MOBILE_DECIDING_DIGITS]):
            n = match.group(1)
            return ParsedPhone(e164=f"+86{n}", display=f"+86 {n[:3]} {n[3:7]} {n[7:]}")
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(_(NOT_A_PHONE), params={"value": raw}) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(_(NOT_A_VALID_PHONE), params={"value": raw}, code="invalid")
    return ParsedPhone(
        e164=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        display=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL),
    )
