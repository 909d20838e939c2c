"""How sensitive values look to people who may not see them in full."""

import re


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
