"""A customer that does not exist yet — a form being typed, an API draft — as a
duplicate-detection record."""

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from guanxi.core.crypto import lookup_hash
from guanxi.core.phones import is_valid_e164
from guanxi.customers.models import Customer
from guanxi.customers.validation import normalise_id_number
from guanxi.customers.visibility import VIEW

from .matching.normalize import phone_key
from .matching.records import MatchRecord, match_record


def _texts(items, key: str) -> list[str]:
    """Phones or emails given as text or as ``{"number": …}`` / ``{"address": …}`` items."""
    texts = []
    for item in items or []:
        value = item.get(key) if isinstance(item, Mapping) else item
        if isinstance(value, str) and value.strip():
            texts.append(value)
    return texts


def draft_record(
    data: Mapping[str, Any], *, actor, refuse_unknown_organization: bool = False
) -> MatchRecord:
    """Whatever is filled in; values that do not parse (half a phone number) are left out.

    An ``organization_id`` that names no organisation ``actor`` may see is left out too while
    someone types (the form's hints), and with ``refuse_unknown_organization`` (a caller who
    sent it on purpose: the API) it is a ``ValidationError`` on that field, worded as creating
    the customer would word it: a check answered as if the company were unknown would be taken
    for "no duplicates".

    An organisation is only looked up by id among the customers ``actor`` may see, so a draft
    cannot be used to learn another team's organisation names. The ID number counts only for
    who may see ID numbers in full: others see them masked (1****************X) beside the
    birth date and an address, which leave a hundred or so candidates, and a match would tell
    them which one it is."""
    company = data.get("company") or ""
    organization_id = data.get("organization_id")
    if organization_id:
        organization = (
            Customer.objects.visible_to(actor, VIEW)
            .filter(pk=organization_id, party_type=Customer.PartyType.ORGANIZATION)
            .only("name")
            .first()
        )
        if organization is not None:
            company = organization.name
        elif refuse_unknown_organization:
            raise ValidationError({"organization_id": _("No such organisation.")})
    id_number = normalise_id_number(data.get("id_number") or "")
    if not actor.may_view_sensitive():
        id_number = ""
    return match_record(
        ref=None,
        name=data.get("name") or "",
        party_type=data.get("party_type") or Customer.PartyType.PERSON,
        company=company,
        phones=_texts(data.get("phones"), "number"),
        emails=_texts(data.get("emails"), "address"),
        id_number=lookup_hash(id_number) if id_number else "",
        birth_date=data.get("birth_date"),
        addresses=[dict(a) for a in data.get("addresses") or [] if isinstance(a, Mapping)],
    )


def numbers_typed_in_full(data: Mapping[str, Any]) -> set[str]:
    """The whole phone numbers among a draft's phones: a hint saying "same mobile phone" of one
    answers yes or no to it as a search by it does, and is limited as one
    (``customers.services.whole_number_lookups_count``).

    Read as the hints compare them (``phone_key``, as ``draft_record`` passes them on), not as
    the search reads a query: libphonenumber also takes an extension after an x, dashes of
    other widths and keypad letters (138-0012-JMPT), which the search does not read as a
    number, and each would otherwise be a guess answered without being counted. Only valid
    numbers, as every stored one is: a number typed halfway (+86138) is none."""
    numbers = set()
    for text in _texts(data.get("phones"), "number"):
        key = phone_key(text)
        if key and is_valid_e164(key):
            numbers.add(key)
    return numbers
