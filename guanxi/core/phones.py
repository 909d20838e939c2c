"""Phone numbers parsed and formatted with Google's libphonenumber (``phonenumbers``)."""

from dataclasses import dataclass

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


@dataclass(frozen=True)
class ParsedPhone:
    e164: str  # +8613812345678: the canonical stored form
    display: str  # +86 138 1234 5678: international format for people


def parse_phone(raw: str, region: str | None = None) -> ParsedPhone:
    """Parse a number as typed (spaces, dashes, with or without +86); raise if it is not valid."""
    region = region or settings.GUANXI_DEFAULT_PHONE_REGION
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(
            _("“%(value)s” is not a phone number."), params={"value": raw}
        ) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(
            _("“%(value)s” is not a valid phone number."), params={"value": raw}, code="invalid"
        )
    return ParsedPhone(
        e164=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        display=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL),
    )
