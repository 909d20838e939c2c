"""Phone parsing: the shortcut for Chinese mobiles agrees with libphonenumber number by number."""

import random

import phonenumbers
import pytest
from django.core.exceptions import ValidationError

from guanxi.core.phones import MOBILE_DECIDING_DIGITS, parse_phone


def _library(raw: str):
    number = phonenumbers.parse(raw, "CN")
    if not phonenumbers.is_valid_number(number):
        return None
    return (
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL),
    )


def test_the_mobile_shortcut_gives_what_libphonenumber_gives():
    rng = random.Random(11)
    for _ in range(5000):
        digits = f"1{rng.randrange(3, 10)}{rng.randrange(10**9):09d}"
        typed = rng.choice(
            [digits, f"+86 {digits}", f"86{digits}", f"{digits[:3]}-{digits[3:7]}-{digits[7:]}"]
        )
        expected = _library(typed)
        if expected is None:
            with pytest.raises(ValidationError):
                parse_phone(typed, "CN")
        else:
            parsed = parse_phone(typed, "CN")
            assert (parsed.e164, parsed.display) == expected, typed


def test_landlines_and_other_countries_take_the_library_path():
    assert parse_phone("010-6234 5678", "CN").e164 == "+861062345678"
    assert parse_phone("+44 20 7946 0000", "CN").display == "+44 20 7946 0000"
    with pytest.raises(ValidationError):
        parse_phone("12345", "CN")


def test_the_first_five_digits_decide_whether_a_mobile_number_is_valid():
    """The shortcut caches validity by a number's first MOBILE_DECIDING_DIGITS digits: for
    every such start, numbers going on differently must all be valid or all invalid."""
    rng = random.Random(5)
    digits, rest = MOBILE_DECIDING_DIGITS, 11 - MOBILE_DECIDING_DIGITS
    disagreeing = []
    for start in range(10 ** (digits - 1), 2 * 10 ** (digits - 1)):
        ends = ["0" * rest, "9" * rest, *(f"{rng.randrange(10**rest):0{rest}d}" for _ in range(4))]
        valid = {_library_accepts(f"{start}{end}") for end in ends}
        if len(valid) > 1:
            disagreeing.append(start)
    assert disagreeing == []


def _library_accepts(digits: str) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(digits, "CN"))
    except phonenumbers.NumberParseException:  # 1104 100 9764: read as a carrier code first
        return False
