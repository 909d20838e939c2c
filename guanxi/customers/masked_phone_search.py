"""What the customer search may match in a phone number for someone who sees it masked.

The search finds a customer by any four consecutive digits of their phones (``customers.search``).
For whoever sees numbers masked (``mask_phone``: +86 138 **** 5678) that would confirm a guess at
the hidden digits: searching 0012 lists the customers whose hidden digits hold 0012, and four
searches of the right guesses give a whole number away. So for them a query's digits match a
phone only

* as the number's visible last four digits (the commonest phone search: 5678),
* as the start of the number up to where the mask hides it (+86 138, 0755 for +86 755 …; a
  number of the default country also without its code: 138, 755), or
* as the whole number, in any usual spelling (+86 138 1234 5678, 13812345678, 021-6234 5678):
  whoever types all of it knows it already, and a rep must find the caller who reads it out.

A query's digits may also be found in what the mask does not hide (an external id
ERP-2024-0012, a tag, an email address, a name). The tokens cannot tell which field a match
came from, so every customer's document also holds marks (``customers.search``): the tokens of
fields other than the phones that start with digits, again after ``#``, and what the mask
shows of each phone (``core.masking.shown_digits``), after ``~l``, ``~s`` and ``~w``. For a
masked searcher every term with digits then asks, beside itself, for one of those marks:
:func:`masked_terms`. Whether they are there must not depend on the phones: "found unless a
phone holds the digits" would list a customer tagged 0012 exactly when its hidden digits do
not hold 0012, and a rep may tag their customers as they like. Digits inside a field's token
(x0012, wang0012@…) are no mark, lest the index have found the customer by the hidden digits
alone.

The index answers it all. Before the marks, this was a condition read from the phone, email,
tag and organisation rows of each customer the index found: with the thousands of customers
whose hidden digits hold four common ones (every number beginning +86 150 holds 6150), about a
quarter of a sales rep's search by the last four digits.
"""

from collections.abc import Iterable
from contextlib import suppress

from django.core.exceptions import ValidationError

from guanxi.core.masking import (
    FIRST_DIGITS_SHOWN_OF_LONG,
    LAST_DIGITS_SHOWN,
    country_code_of,
)
from guanxi.core.phones import is_valid_e164, parse_phone

from .search import (
    FIELD_DIGITS_MARK,
    LAST_DIGITS_MARK,
    MAX_TOKEN,
    PHONE_RUN,
    SHOWN_START_MARK,
    TRUNK_COUNTRY_CODE,
    WHOLE_NUMBER_MARK,
    DialledNumber,
    Term,
    WholeToken,
    parse_query,
)


def whole_numbers(digits: str) -> set[str]:
    """The stored (E.164) numbers ``digits`` are all of, however they were typed: with the
    country code (8613812345678, 008613812345678), in national format (13812345678,
    02162345678, 2162345678)."""
    if len(digits) < 5:
        return set()
    numbers = {"+" + digits[2:] if digits.startswith("00") else "+" + digits}
    national = digits[1:] if digits.startswith("0") else digits
    numbers.add("+" + TRUNK_COUNTRY_CODE + national)
    with suppress(ValidationError):  # not a whole number as the default region writes them
        numbers.add(parse_phone(digits).e164)
    return numbers


def numbers_named_in_full(query: str) -> set[str]:
    """The stored (E.164) numbers that ``query`` names in full, one for each of its numbers
    (the first in order of those it may be): those whose match tells whoever sees numbers
    masked something the mask does not show, which ``services.whole_number_lookups_count``
    limits. Only valid numbers, as every stored number is (``core.phones.parse_phone``): the
    last four digits, the shown start of a number (+86 138) or an order number are none."""
    named = set()
    for term in parse_query(query):
        candidates = {
            number
            for text in term
            if _is_number(text)
            for number in whole_numbers(text)
            if is_valid_e164(number)
        }
        if candidates:
            named.add(min(candidates))
    return named


def _is_number(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _shown_lookups(digits: str) -> list[WholeToken]:
    """The marks of a phone that show ``digits`` (see ``core.masking.shown_digits``): the number
    they are all of, its last four digits, or its start up to where the mask hides it."""
    marks = [WHOLE_NUMBER_MARK + number.lstrip("+") for number in sorted(whole_numbers(digits))]
    if len(digits) == LAST_DIGITS_SHOWN:
        marks.append(LAST_DIGITS_MARK + digits)
    code = country_code_of(digits)
    if code and len(digits) - len(code) <= FIRST_DIGITS_SHOWN_OF_LONG:
        marks.append(SHOWN_START_MARK + digits)
    if len(digits) <= FIRST_DIGITS_SHOWN_OF_LONG and not digits.startswith("0"):
        # The start of a national number as the mask shows it (138 of 138****5678), for the
        # country whose numbers are typed without their code (as 0755 is read: see
        # ``search._digit_term``).
        marks.append(SHOWN_START_MARK + TRUNK_COUNTRY_CODE + digits)
    return [WholeToken(mark[:MAX_TOKEN]) for mark in marks]


def _field_lookup(digits: str) -> str:
    """The mark of a token of another field than the phones that starts with ``digits``: a
    prefix, or for four digits the whole mark of a token's first four
    (``SearchTokens.add_number_heads``)."""
    mark = (FIELD_DIGITS_MARK + digits)[:MAX_TOKEN]
    return WholeToken(mark) if len(digits) == PHONE_RUN else mark


def masked_terms(terms: Iterable[Term]) -> list[Term]:
    """The terms a customer must also match, beside the search's own ``terms``, to be found by
    someone who sees phone numbers masked: for every term with digits in it, one whose
    alternatives are the marks showing those digits in a phone or in another field, and the
    term's texts that are no number (no phone's token holds anything but digits, so the index
    matched the term through them elsewhere)."""
    masked = []
    for term in terms:
        if not any(_is_number(text) for text in term):
            continue
        alternatives: list[str] = []
        for text in term:
            if not _is_number(text):
                alternatives.append(text)
                continue
            alternatives += _shown_lookups(text)
            if not isinstance(text, DialledNumber):
                # Looked for only as a phone holds digits (``search.DialledNumber``), never as
                # the start of another field's token: a field starting with them (a tag 86157
                # for 0157) does not say why the index found the customer, the phones did.
                alternatives.append(_field_lookup(text))
        masked.append(tuple(dict.fromkeys(alternatives)))
    return masked
