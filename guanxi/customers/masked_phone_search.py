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

This is a condition added to the search on the few customers the index already found, read
from their phone rows, so the tokens stay as they are for everyone. A query's digits may also
be found in what the mask does not hide (an external id ERP-2024-0012, a tag, an email
address, a name). The search index cannot tell which of a customer's fields its match came
from, so whether they are there is read from those fields themselves, and it must not depend
on the phones: "found unless a phone holds the digits" would list a customer tagged 0012
exactly when its hidden digits do not hold 0012, and a rep may tag their customers as they
like. The fields are read by patterns that hold only where the digits start a token of the
search text (see ``_OUTSIDE_PHONES``); where a word runs into them (x0012, wang0012@…) they do
not count, lest the index have found the customer by the hidden digits alone.
"""

from collections.abc import Iterable
from contextlib import suppress

import phonenumbers
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q, Subquery

from guanxi.core.phones import is_valid_e164, parse_phone

from .models import Customer, Email, Phone
from .search import (
    _HAN_CLASS,
    MAX_TAILS,
    TRUNK_COUNTRY_CODE,
    DialledNumber,
    Term,
    TokenMatch,
    parse_query,
)

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

# Where digits start a token of a customer's search text outside its phones (``SearchTokens``),
# as patterns on the fields themselves, the digits in place of {digits}. Each may miss a token
# (digits after a letter of a name), never claim one that is not there: that would let the
# hidden digits list the customer. In a name, company, tag or id without "@": at the start or
# after a space, one of - . _ + or a Han character (each a token's start). In an email address:
# at the start of the local part or of one of its pieces (after - . _ +), or of the domain.
_OUTSIDE_PHONES = {
    "text": "^([^@]*[-. _+" + _HAN_CLASS + "])?{digits}[^@]*$",
    "address": "^([^@]*[-._+])?{digits}|@{digits}",
}
# An external id is also stored as its runs of letters and of digits run together from each of
# the first MAX_TAILS runs on (ERP-2024-0012 -> 20240012), which the separators between the
# digits may split. Only for an id of printable ASCII, whose runs these classes count.
_ASCII_ID = "^[ -~]*$"
_NOT_A_RUN = "[^0-9A-Za-z]"
_RUN = f"(?:{_NOT_A_RUN}*(?:[0-9]+|[A-Za-z]+))"
# Before the digits: no run, or up to MAX_TAILS - 1 runs, the last of letters or of digits
# followed by a separator (else the digits would continue it).
_BEFORE_AN_ID_TAIL = (
    f"^(?:{_NOT_A_RUN}*|{_RUN}{{0,{MAX_TAILS - 2}}}"
    f"(?:{_NOT_A_RUN}*[A-Za-z]{_NOT_A_RUN}*|{_NOT_A_RUN}*[0-9]{_NOT_A_RUN}+))"
)


def _country_code_of(digits: str) -> str:
    """The country code an international number starting with ``digits`` has ("" if none):
    country codes are prefix-free, so at most one of the first one, two or three digits is
    one."""
    for length in (1, 2, 3):
        if digits[:length] in _COUNTRY_CODES:
            return digits[:length]
    return ""


def _long_national_number() -> str:
    """A pattern of the stored (E.164) numbers whose national number has
    ``LONG_NATIONAL_NUMBER`` digits or more after their country code. Country codes are
    prefix-free, so at most one of the alternatives fits a number's start; one that starts
    with no code of one or two digits has a code of three."""
    codes = sorted(_COUNTRY_CODES)
    one_digit = "".join(code for code in codes if len(code) == 1)
    two_digits = "|".join(code for code in codes if len(code) == 2)
    return rf"^\+(?:[{one_digit}]|{two_digits}|[0-9]{{3}})[0-9]{{{LONG_NATIONAL_NUMBER}}}"


# One pattern rather than the national number's length worked out in SQL (a CASE over the
# country codes' lists): the same test, which Django builds into a query in under half the
# time (2.5 ms instead of 5.7 for a rep's search by four digits, measured on a busy machine).
_LONG_NATIONAL_NUMBER = _long_national_number()


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


def _visible_match(digits: str) -> Q:
    """Phones in which ``digits`` are shown, or which they are all of."""
    condition = Q(number__in=whole_numbers(digits))
    if len(digits) == LAST_DIGITS_SHOWN:
        # In this order, the cheapest test first (Q would sort keyword arguments by name).
        condition |= (
            Q(number__endswith=digits)
            & Q(number__regex=_LONG_NATIONAL_NUMBER)
            & Q(display__regex=_NOTHING_AFTER_THE_NUMBER)
        )
    country_code = _country_code_of(digits)
    if country_code:
        condition |= _shown_start(digits, len(digits) - len(country_code))
    if len(digits) <= FIRST_DIGITS_SHOWN_OF_LONG and not digits.startswith("0"):
        # The start of a national number as the mask shows it (138 of 138****5678), for the
        # country whose numbers are typed without their code (as 0755 is read: see
        # ``search._digit_term``). The search index found the customer by the digits anywhere
        # in a number; this keeps only the numbers they start, a test on the same phone rows
        # (no further query), so the search costs what it did.
        condition |= _shown_start(TRUNK_COUNTRY_CODE + digits, len(digits))
    return condition


def _shown_start(digits: str, national_start: int) -> Q:
    """Phones that start with ``digits``, their country code and the first ``national_start``
    digits of their national number, where the mask shows that many (none where it does not)."""
    if national_start <= FIRST_DIGITS_SHOWN_OF_SHORT:
        return Q(number__startswith="+" + digits)
    if national_start <= FIRST_DIGITS_SHOWN_OF_LONG:
        return Q(number__startswith="+" + digits) & Q(number__regex=_LONG_NATIONAL_NUMBER)
    return Q()


def _is_number(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _holds(field: str, digits: str, pattern: str) -> Q:
    """``field`` matches ``pattern``, in which ``digits`` stand as they are: tested first as a
    plain substring, which most of the customers the index found fail. PostgreSQL then never
    runs the pattern on them (about a seventh of a masked search's time on the thousands of
    customers whose phones hold four common digits, as every number beginning +86 150 holds
    6150)."""
    return Q(**{f"{field}__contains": digits}) & Q(**{f"{field}__regex": pattern})


def _shown_outside_phones(digits: str) -> Q:
    """Customers whose search text has a token starting with ``digits`` from a field other
    than their phones, as far as the fields tell (see :data:`_OUTSIDE_PHONES`)."""
    text = _OUTSIDE_PHONES["text"].format(digits=digits)
    address = _OUTSIDE_PHONES["address"].format(digits=digits)
    id_tail = _BEFORE_AN_ID_TAIL + (_NOT_A_RUN + "*").join(digits)
    # Scalar subqueries, not EXISTS: under OR, PostgreSQL answered an EXISTS with a hashed
    # subplan reading every email address and organisation (half a second each for a million
    # customers), where this asks once for each customer the index found.
    organisation = Customer.objects.filter(
        _holds("name", digits, text), pk=OuterRef("organization_id")
    )
    tagged = Customer.tags.through.objects.filter(
        _holds("tag__name", digits, text), customer_id=OuterRef("pk")
    )
    addressed = Email.objects.filter(_holds("address", digits, address), customer_id=OuterRef("pk"))
    return (
        _holds("name", digits, text)
        | _holds("external_id", digits, text)
        | (Q(external_id__regex=_ASCII_ID) & Q(external_id__regex=id_tail))
        | (Q(organization__isnull=True) & _holds("company", digits, text))
        | Q(organization_id=Subquery(organisation.order_by().values("pk")[:1]))
        | Q(pk=Subquery(tagged.order_by().values("customer_id")[:1]))
        | Q(pk=Subquery(addressed.order_by().values("customer_id")[:1]))
    )


def masked_phone_condition(terms: Iterable[Term]) -> Q:
    """The condition, beside the search's own ``TokenMatch(terms)``, under which a customer is
    found by someone who sees phone numbers masked: every term with digits in it matches a
    phone only where the mask shows them, or matches something other than a phone, as that
    something tells, never as the phones do."""
    condition = Q()
    for term in terms:
        numbers = [text for text in term if _is_number(text)]
        if not numbers:
            continue
        visible = Q()
        for digits in numbers:
            visible |= _visible_match(digits)
        allowed = Q(Exists(Phone.objects.filter(customer_id=OuterRef("pk")).filter(visible)))
        for text in term:
            if isinstance(text, DialledNumber):
                # Looked for only as a phone holds digits (``search.DialledNumber``), never as
                # the start of another field's token: a field starting with them (a tag 86157
                # for 0157) does not say why the index found the customer, the phones did.
                continue
            if _is_number(text):
                allowed |= _shown_outside_phones(text)
            else:
                # No phone's token holds anything but digits, so the index matched the term
                # through ``text`` (the term's only text would not be here) elsewhere.
                allowed |= Q(TokenMatch([(text,)]))
        condition &= allowed
    return condition
