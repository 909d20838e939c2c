"""What the customer search may match in a phone number for someone who sees it masked.

The search finds a customer by any four consecutive digits of their phones (``customers.search``).
For whoever sees numbers masked (``mask_phone``: +86 138 **** 5678) that would confirm a guess at
the hidden digits: searching 0012 lists the customers whose hidden digits hold 0012, and four
searches of the right guesses give a whole number away. So for them a query's digits match a
phone only

* as the number's visible last four digits (the commonest phone search: 5678),
* as the start of the number up to where the mask hides it (+86 138, 0755 for +86 755 …), or
* as the whole number, in any usual spelling (+86 138 1234 5678, 13812345678, 021-6234 5678):
  whoever types all of it knows it already, and a rep must find the caller who reads it out.

This is a condition added to the search on the few customers the index already found, read
from their phone rows, so the tokens stay as they are for everyone. A query's digits may also
be found in what the mask does not hide (an external id ERP-2024-0012, a tag, an email
address): such a match counts when no phone of the customer holds the digits at all. When one
does, the customer is left out even if the digits are in their external id too, since the
search index cannot tell which of the two the match came from.
"""

from collections.abc import Iterable
from contextlib import suppress

import phonenumbers
from django.core.exceptions import ValidationError
from django.db.models import Case, Exists, IntegerField, OuterRef, Q, Value, When
from django.db.models.functions import Length, Substr

from guanxi.core.phones import parse_phone

from .models import Phone
from .search import TRUNK_COUNTRY_CODE, Term, TokenMatch

# As mask_phone shows a number: its country code always; of a national number of this many
# digits or more, the first three and the last four; of a shorter one, the first two and the
# last two, never four consecutive digits to search by. (A number of four digits or fewer,
# shown whole, is found here by the whole number only.)
LONG_NATIONAL_NUMBER = 10
LAST_DIGITS_SHOWN = 4
FIRST_DIGITS_SHOWN_OF_LONG = 3
FIRST_DIGITS_SHOWN_OF_SHORT = 2

# A display of the number alone: one with an extension (+86 21 6234 5678 ext. 12, "доб." in
# some countries) has the extension's digits last, and the mask shows those instead.
_NOTHING_AFTER_THE_NUMBER = r"^[-+0-9 ().]+$"
_COUNTRY_CODES = frozenset(str(code) for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE)


def _country_code_of(digits: str) -> str:
    """The country code an international number starting with ``digits`` has ("" if none):
    country codes are prefix-free, so at most one of the first one, two or three digits is
    one."""
    for length in (1, 2, 3):
        if digits[:length] in _COUNTRY_CODES:
            return digits[:length]
    return ""


def _national_digits():
    """How many digits a stored (E.164) number has after its country code, in SQL."""
    one_digit = [code for code in _COUNTRY_CODES if len(code) == 1]
    two_digits = [code for code in _COUNTRY_CODES if len(code) == 2]
    country_code_length = Case(
        When(Q(country_code_1__in=one_digit), then=Value(1)),
        When(Q(country_code_2__in=two_digits), then=Value(2)),
        default=Value(3),
        output_field=IntegerField(),
    )
    return Length("number") - 1 - country_code_length


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


def _visible_match(digits: str) -> Q:
    """Phones in which ``digits`` are shown, or which they are all of."""
    condition = Q(number__in=whole_numbers(digits))
    if len(digits) == LAST_DIGITS_SHOWN:
        # In this order, the cheapest test first (Q would sort keyword arguments by name).
        condition |= (
            Q(number__endswith=digits)
            & Q(national_digits__gte=LONG_NATIONAL_NUMBER)
            & Q(display__regex=_NOTHING_AFTER_THE_NUMBER)
        )
    country_code = _country_code_of(digits)
    if country_code:
        national_start = len(digits) - len(country_code)
        if national_start <= FIRST_DIGITS_SHOWN_OF_SHORT:
            condition |= Q(number__startswith="+" + digits)
        elif national_start <= FIRST_DIGITS_SHOWN_OF_LONG:
            condition |= Q(
                number__startswith="+" + digits, national_digits__gte=LONG_NATIONAL_NUMBER
            )
    return condition


def _is_number(text: str) -> bool:
    return text.isascii() and text.isdigit()


def masked_phone_condition(terms: Iterable[Term]) -> Q:
    """The condition, beside the search's own ``TokenMatch(terms)``, under which a customer is
    found by someone who sees phone numbers masked: every term with digits in it matches a
    phone only where the mask shows them, or matches something other than a phone."""
    condition = Q()
    for term in terms:
        numbers = [text for text in term if _is_number(text)]
        if not numbers:
            continue
        visible = Q()
        for digits in numbers:
            visible |= _visible_match(digits)
        phones = Phone.objects.filter(customer_id=OuterRef("pk")).annotate(
            country_code_1=Substr("number", 2, 1), country_code_2=Substr("number", 2, 2)
        )
        allowed = Q(Exists(phones.annotate(national_digits=_national_digits()).filter(visible)))
        for text in term:
            # Matched through ``text`` itself (the search matched the term through one of its
            # texts, not necessarily this one), unless it is the term's only text.
            elsewhere = Q(TokenMatch([(text,)])) if len(term) > 1 else Q()
            if _is_number(text):
                # First, being the cheaper test and the one that fails for most customers a
                # number of hidden digits finds.
                holding = Phone.objects.filter(customer_id=OuterRef("pk"), number__contains=text)
                elsewhere = ~Q(Exists(holding)) & elsewhere
            allowed |= elsewhere
        condition &= allowed
    return condition
