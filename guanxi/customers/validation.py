"""Checking customer data before anything is written.

Web forms and API schemas check shapes early for a friendly message, but the service trusts
neither: every write goes through :func:`clean_customer_data`, which returns clean values or
raises one ``ValidationError`` whose keys name the offending fields (``phones[1].number``,
``custom_fields.budget``), so nothing is half-written.
"""

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from guanxi.accounts.roles import Role
from guanxi.audit.summaries import Summary
from guanxi.core.limits import at_most_characters, column_length
from guanxi.core.masking import is_masked, mask_key, mask_phone, masks_match
from guanxi.core.phones import (
    NOT_A_PHONE,
    NOT_A_VALID_PHONE,
    ParsedPhone,
    is_fixed_line,
    parse_phone,
)
from guanxi.core.text import UNSTORABLE_TEXT

from .models import Address, Customer, CustomFieldDefinition, Email, MarketingConsent, Phone, Tag
from .visibility import may_own_customers

SCALAR_FIELDS = frozenset(
    {
        "party_type",
        "name",
        "organization_id",
        "company",
        "job_title",
        "kind",
        "relationship_level",
        "lifecycle_stage",
        "industry",
        "region",
        "source_channel",
        "owner_id",
        "birth_date",
        "website",
        "notes",
        "external_id",
    }
)
NESTED_FIELDS = frozenset({"phones", "emails", "addresses", "tags", "consents", "custom_fields"})
ALL_FIELDS = SCALAR_FIELDS | NESTED_FIELDS | {"id_number"}

# Fields that hold one line of text. A line break or another control character in one of them
# is a paste gone wrong or a broken file (a CSV quote left open joins the next rows into the
# cell), never part of a name.
ONE_LINE_FIELDS = ("name", "company", "job_title", "industry", "region", "external_id")
_CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def has_control_characters(text: str) -> bool:
    """Whether ``text`` holds a line break, tab or other control character."""
    return _CONTROL_CHARACTER.search(text) is not None


def unstorable_text_paths(value: Any, path: str = "") -> list[str]:
    """The paths (``addresses[0].city``) of the texts in ``value`` that no column can hold."""
    if isinstance(value, str):
        return [path] if UNSTORABLE_TEXT.search(value) else []
    if isinstance(value, Mapping):
        return [
            found
            for key, item in value.items()
            for found in unstorable_text_paths(item, f"{path}.{key}" if path else str(key))
        ]
    if isinstance(value, list | tuple):
        return [
            found
            for i, item in enumerate(value)
            for found in unstorable_text_paths(item, f"{path}[{i}]")
        ]
    return []


# The columns' lengths, for the values checked here rather than by the model's validation.
EMAIL_LENGTH = Email._meta.get_field("address").max_length
PHONE_DISPLAY_LENGTH = Phone._meta.get_field("display").max_length

_CN_ID = re.compile(r"^\d{17}[\dX]$")
_ID_CHARS = re.compile(r"^[0-9A-Z-]{5,30}$")
_CN_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CN_ID_CHECK = "10X98765432"


@dataclass
class PhoneItem:
    parsed: ParsedPhone
    label: str
    is_primary: bool


@dataclass
class CleanCustomerData:
    """Validated input. ``None`` for a nested field means "leave as it is"."""

    scalars: dict[str, Any] = field(default_factory=dict)
    phones: list[PhoneItem] | None = None
    emails: list[dict[str, Any]] | None = None
    addresses: list[dict[str, Any]] | None = None
    tags: list[str] | None = None
    consents: list[dict[str, Any]] | None = None
    custom_fields: dict[str, Any] | None = None
    id_number: str | None = None  # "" clears it


class _Errors:
    def __init__(self) -> None:
        self.by_field: dict[str, list[str]] = {}
        # The same messages, untranslated where they were given so (a ``Summary``), for a
        # caller that keeps them to be read later in the reader's language: an import's
        # rejected rows.
        self.untranslated: dict[str, list[Summary | str]] = {}

    def add(self, name: str, message: "str | Summary") -> None:
        text = message.render() if isinstance(message, Summary) else str(message)
        self.by_field.setdefault(name, []).append(text)
        self.untranslated.setdefault(name, []).append(
            message if isinstance(message, Summary) else text
        )

    def add_validation_error(self, prefix: str, exc: ValidationError) -> None:
        if hasattr(exc, "error_dict"):
            for name, errors in exc.message_dict.items():
                for message in errors:
                    self.add(f"{prefix}{name}", message)
        else:
            for message in exc.messages:
                self.add(prefix.rstrip("."), message)

    def raise_if_any(self) -> None:
        if self.by_field:
            raise ValidationError(self.by_field)


def normalise_id_number(raw: str) -> str:
    """An ID number as stored and compared: full-width digits and letters (１１０１…, typed
    with a Chinese input method) as their ASCII forms (NFKC), no spaces, upper case."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", raw or "")).upper()


def check_id_number(value: str) -> str | None:
    """An error message for an implausible national ID number, or None."""
    problem = id_number_problem(value)
    return problem.render() if problem else None


def id_number_problem(value: str) -> Summary | None:
    """:func:`check_id_number`'s message, untranslated."""
    if not _ID_CHARS.match(value):
        return Summary(gettext_noop("An ID number has 5 to 30 letters, digits or dashes."))
    if len(value) == 18 and _CN_ID.match(value):
        total = sum(int(d) * w for d, w in zip(value[:17], _CN_ID_WEIGHTS, strict=True))
        if _CN_ID_CHECK[total % 11] != value[17]:
            return Summary(gettext_noop("The check digit of this resident ID number is wrong."))
    return None


def external_id_taken() -> str:
    """Why an external id another customer holds is refused, in the active language. The same
    whoever holds it (a customer the user sees, one out of their sight, one in the recycle bin)
    and whenever it is found taken (checked before saving, or refused by the database when
    someone saved it meanwhile): the id is unique among them all, so it must be refused, but
    the refusal names no one and links nowhere, and cannot be told apart by where the holder
    is."""
    return _("Another customer already has this external id.")


def clean_customer_data(
    data: Mapping[str, Any], *, actor, instance: Customer | None
) -> CleanCustomerData:
    """Validate ``data`` for creating (``instance`` is None) or updating ``instance``.

    On success the scalar values have been applied to ``instance`` (or a new unsaved customer,
    available as ``result.scalars``) and checked with the model's own field validation.
    """
    errors = _Errors()
    for name in data:
        if name not in ALL_FIELDS:
            errors.add(name, _("Unknown field."))
    # Refused before anything else is checked: the checks below look values up in the database,
    # which would fail on such text rather than answer.
    for path in unstorable_text_paths({k: v for k, v in data.items() if k in ALL_FIELDS}):
        errors.add(path, _("Text may not contain NUL characters or unpaired surrogates."))
    errors.raise_if_any()

    result = CleanCustomerData()
    result.scalars = {k: v for k, v in data.items() if k in SCALAR_FIELDS}
    for text_field in ("name", "company", "job_title", "industry", "region", "notes"):
        if isinstance(result.scalars.get(text_field), str):
            result.scalars[text_field] = result.scalars[text_field].strip()
    if "external_id" in result.scalars and not result.scalars["external_id"]:
        result.scalars["external_id"] = None
    for optional_text in (
        "company",
        "job_title",
        "industry",
        "region",
        "notes",
        "website",
        "source_channel",
    ):
        if optional_text in result.scalars and result.scalars[optional_text] is None:
            result.scalars[optional_text] = ""

    for name in ONE_LINE_FIELDS:
        value = result.scalars.get(name)
        if isinstance(value, str) and has_control_characters(value):
            errors.add(
                name, _("Must be one line, without line breaks, tabs or control characters.")
            )
    _check_scalars(result.scalars, actor=actor, instance=instance, errors=errors)
    if "phones" in data:
        stored = list(instance.phones.all()) if instance is not None and instance.pk else None
        result.phones = _clean_phones(data["phones"], errors, stored=stored)
    if "emails" in data:
        result.emails = _clean_emails(data["emails"], errors)
    if "addresses" in data:
        result.addresses = _clean_addresses(data["addresses"], errors)
    if "tags" in data:
        result.tags = _clean_tags(data["tags"], errors)
    if "consents" in data:
        result.consents = _clean_consents(data["consents"], errors)
    if "custom_fields" in data or instance is None:
        current = dict(instance.custom_fields) if instance is not None else {}
        result.custom_fields = clean_custom_fields(
            data.get("custom_fields") or {}, current=current, errors=errors
        )
    if "id_number" in data:
        value = normalise_id_number(data["id_number"] or "")
        stored_mask = instance.id_number_masked if instance is not None else ""
        if value and is_masked(value):
            # The number as the form or the API showed it, sent back: it stays as it is.
            if not stored_mask:
                # A new customer, or one without an ID number: there is nothing it could keep.
                errors.add(
                    "id_number",
                    _(
                        "“%(value)s” is masked, and there is no ID number on record to keep: "
                        "type the number in full, or leave it empty."
                    )
                    % {"value": value},
                )
            elif not masks_match(value, stored_mask):
                errors.add(
                    "id_number",
                    _(
                        "“%(value)s” is masked but is not this customer's ID number as shown "
                        "masked: type the number in full, leave it as shown, or clear it."
                    )
                    % {"value": value},
                )
            result.id_number = None
        else:
            message = check_id_number(value) if value else None
            if message:
                errors.add("id_number", message)
            result.id_number = value
    errors.raise_if_any()
    return result


def _check_scalars(scalars: dict[str, Any], *, actor, instance: Customer | None, errors) -> None:
    from .visibility import VIEW

    candidate = (
        Customer()
        if instance is None
        else Customer(
            **{f.attname: getattr(instance, f.attname) for f in Customer._meta.concrete_fields}
        )
    )
    if instance is None and "owner_id" not in scalars:
        scalars["owner_id"] = actor.pk
    for name, value in scalars.items():
        setattr(candidate, name, value)
    try:
        candidate.full_clean(
            exclude=["organization", "owner", "created_by", "search_text"],
            validate_unique=False,
            validate_constraints=False,
        )
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            for message in messages:
                errors.add(name, message)
    # Values after to_python (dates parsed, etc.) are what we store.
    for name in list(scalars):
        if name not in {"organization_id", "owner_id"} and name not in errors.by_field:
            scalars[name] = getattr(candidate, name)
    # The importer's rule (imports.customer_rows): a date nobody can have been born on is a slip.
    born = scalars.get("birth_date")
    if isinstance(born, dt.date) and (born > dt.date.today() or born.year < 1900):
        errors.add("birth_date", _("%(value)s is not a plausible birth date") % {"value": born})

    if scalars.get("external_id"):
        clash = Customer.objects.filter(external_id=scalars["external_id"])
        if instance is not None:
            clash = clash.exclude(pk=instance.pk)
        if clash.exists():
            errors.add("external_id", external_id_taken())

    if "organization_id" in scalars and scalars["organization_id"] is not None:
        org_id = scalars["organization_id"]
        if candidate.party_type != Customer.PartyType.PERSON:
            errors.add("organization_id", _("Only people can belong to an organisation."))
        elif (
            not _is_int(org_id)
            # Refused even when it is the person's own organisation: accepted for that one
            # only, the answer would tell the actor its number. A link left out stays as it
            # is, which is how the edit form keeps one out of the user's sight.
            or not Customer.objects.visible_to(actor, VIEW)
            .filter(pk=org_id, party_type=Customer.PartyType.ORGANIZATION)
            .exists()
        ):
            errors.add("organization_id", _("No such organisation."))
    elif (
        # Left out, the link stays; ``organization_id: None`` takes the person out of it as
        # they become an organisation.
        "organization_id" not in scalars
        and instance is not None
        and instance.organization_id
        and scalars.get("party_type", Customer.PartyType.PERSON) != Customer.PartyType.PERSON
    ):
        errors.add("party_type", _("Remove the organisation first: only people belong to one."))
    if (
        instance is not None
        and instance.party_type == Customer.PartyType.ORGANIZATION
        and scalars.get("party_type", instance.party_type) != Customer.PartyType.ORGANIZATION
        and Customer.objects.filter(organization_id=instance.pk).exists()
    ):
        # Its people would belong to a person, which the database's rule cannot see from the
        # people's rows.
        errors.add(
            "party_type",
            _("An organisation with people cannot become a person: move its people first."),
        )

    if "owner_id" in scalars:
        message = owner_assignment_error(actor, scalars["owner_id"])
        if message:
            errors.add("owner_id", message)


def owner_assignment_error(actor, owner_id) -> str | None:
    """Whether ``actor`` may make ``owner_id`` the account manager of a customer they write."""
    problem = owner_assignment_problem(actor, owner_id)
    return problem.render() if problem else None


def owner_assignment_problem(actor, owner_id) -> Summary | None:
    """:func:`owner_assignment_error`'s message, untranslated."""
    from guanxi.accounts.models import User

    if actor is None:  # a customer who wrote in by themselves: they join the unowned pool
        return (
            None
            if owner_id is None
            else Summary(gettext_noop("Only staff assign account managers."))
        )
    if owner_id is None:
        if actor.is_superuser or actor.role in (Role.ADMIN, Role.MANAGER):
            return None
        return Summary(gettext_noop("You cannot leave a customer without an account manager."))
    if not _is_int(owner_id):
        return Summary(gettext_noop("Not a valid user id."))
    owner = User.objects.filter(pk=owner_id, is_active=True).first()
    if owner is None:
        return Summary(gettext_noop("No such active user."))
    if not may_own_customers(owner):
        return Summary(
            gettext_noop("%(user)s may not change customers, so cannot own them."),
            {"user": owner.label},
        )
    if actor.is_superuser or actor.role == Role.ADMIN or owner.pk == actor.pk:
        return None
    if actor.role == Role.MANAGER and owner.department_id == actor.department_id:
        return None
    return Summary(gettext_noop("You cannot assign customers to this user."))


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63


_AT_MOST = gettext_noop("At most %(n)d characters.")
# A tag too long is named: the customer form shows the tags' errors together under the one box
# they are typed in, and an import's reason under the one column, where a position would say
# nothing. Its first characters are enough to find it, and keep the message short.
_TAG_TOO_LONG = gettext_noop("Tag “%(tag)s” is longer than %(n)d characters.")
TAG_SHOWN_LENGTH = 30

# The most phones, emails, addresses and tags a customer holds. The API states them as its
# lists' ``maxItems`` (guanxi.api.schemas); they are checked here, where the web form, the API
# and the import all pass, so that no customer holds more than a client that read it through
# the API may send back. A person or a company has a few numbers, addresses and mailboxes; 50
# is a switchboard's worth. A hundred tags is more than any team's whole list of them.
MAX_PHONES = 50
MAX_EMAILS = 50
MAX_ADDRESSES = 50
MAX_TAGS = 100
# The most custom fields a write of a customer names. A customer holds at most a value of each
# field the administrators defined, all of which its form shows on one page: a few dozen already
# make a long form, and 200 is far past any a desk fills in. Values left out stay as they are,
# so a client need not send them all back, and the form sends only those typed anew. The limit
# keeps a request's answer small: a body of 70,000 keys nobody defined was answered with an
# error for each.
MAX_CUSTOM_FIELDS = 200
# Every limit is at least 2, so the plural is always the right English.
_AT_MOST_ITEMS = gettext_noop("At most %(n)d items.")


def _as_list(value, name: str, errors, *, limit: int | None = None) -> list:
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        errors.add(name, Summary(gettext_noop("Expected a list.")))
        return []
    if limit is not None and len(value) > limit:
        # Refused whole, as the API refuses it, rather than checking each of thousands.
        errors.add(name, Summary(_AT_MOST_ITEMS, {"n": limit}))
        return []
    return list(value)


def _as_item(item, name: str, errors) -> Mapping[str, Any] | None:
    if isinstance(item, str):
        return None
    if not isinstance(item, Mapping):
        errors.add(name, Summary(gettext_noop("Expected an object.")))
        return None
    return item


def _choice(value, choices, default: str, name: str, errors) -> str:
    if value in (None, ""):
        return default
    if value not in choices.values:
        # As text: a summary's parameters are words and numbers, and a list or an object
        # sent as the label would make the refusal itself fail (an object with a "message"
        # would even be read as a sentence to translate).
        errors.add(
            name,
            Summary(gettext_noop("“%(value)s” is not a valid choice."), {"value": str(value)}),
        )
    return value


def _kept_phone(
    number: str, phone_id, unclaimed: dict[int, Phone], row: int, ambiguous: set[str]
) -> Phone | None:
    """The stored phone that ``number``, a masked number sent back in row ``row``, stands for:
    the one ``phone_id`` names (its id, as the form's row or the API's answer gave it), else
    the one in the same row if its mask is ``number``, else the first other one masked so.
    ``unclaimed`` holds the stored phones by their row; each is kept by one row at most, so
    the one found is taken out of it. None when it masks none of them, or when it is sent
    without an id and its mask is one of ``ambiguous`` (see :func:`_ambiguous_masks`)."""
    if phone_id is None and mask_key(number) in ambiguous:
        return None
    candidates = [
        position
        for position, phone in unclaimed.items()
        if masks_match(number, mask_phone(phone.display))
        and (phone_id is None or phone.pk == phone_id)
    ]
    if not candidates:
        return None
    return unclaimed.pop(row if row in candidates else candidates[0])


def _named_phone(item, stored: list[Phone]) -> int | None:
    """The id of the stored phone a masked row names, if it names one of ``stored``. An id no
    longer the customer's (the number was removed meanwhile, or typed in again as a new row)
    names none, and the row's mask alone is read, as from a row without one."""
    if not isinstance(item, Mapping) or not is_masked(str(item.get("number") or "")):
        return None
    phone_id = item.get("id")
    return phone_id if any(phone.pk == phone_id for phone in stored) else None


def _ambiguous_masks(rows: list, stored: list[Phone]) -> set[str]:
    """The masks of stored numbers that the masked rows sent without an id cannot tell apart.

    Two of a customer's numbers can be masked alike (138****5678, the hidden digits
    differing). Sent back both, each is kept; but with one of them removed the rows below move
    up, and which of the two the row left stands for cannot be told from its place: keeping
    the one in its place would keep the number the user removed and remove the one they kept.
    Such a row must name the number by its id."""
    named = {_named_phone(item, stored) for item in rows}
    left: dict[str, int] = {}
    for phone in stored:
        if phone.pk not in named:
            key = mask_key(mask_phone(phone.display))
            left[key] = left.get(key, 0) + 1
    sent: dict[str, int] = {}
    for item in rows:
        number = item.get("number") if isinstance(item, Mapping) else item
        if isinstance(number, str) and is_masked(number) and _named_phone(item, stored) is None:
            sent[mask_key(number)] = sent.get(mask_key(number), 0) + 1
    return {key for key, count in left.items() if count > 1 and sent.get(key, 0) < count}


def _clean_phones(value, errors, *, stored: list[Phone] | None = None) -> list[PhoneItem]:
    """The phone rows, checked. With ``stored`` (the phones of the customer being changed), a
    number sent back masked as it was shown (+86 138 **** 5678) keeps the stored number it
    masks, so that whoever may not see numbers in full can save the customer without retyping
    them; a masked number that masks none of them is refused naming the row."""
    items: list[PhoneItem] = []
    seen: set[str] = set()
    unclaimed = dict(enumerate(stored or ()))
    stored_labels = {phone.number: phone.label for phone in stored or ()}
    rows = _as_list(value, "phones", errors, limit=MAX_PHONES)
    ambiguous = _ambiguous_masks(rows, stored or [])
    for i, raw in enumerate(rows):
        name = f"phones[{i}]"
        item = _as_item(raw, name, errors)
        number = raw if isinstance(raw, str) else (item or {}).get("number")
        if not number or not isinstance(number, str):
            errors.add(f"{name}.number", Summary(gettext_noop("This field is required.")))
            continue
        if stored is not None and is_masked(number):
            phone_id = _named_phone(item, stored)
            kept = _kept_phone(number, phone_id, unclaimed, i, ambiguous)
            if kept is None and phone_id is None and mask_key(number) in ambiguous:
                errors.add(
                    f"{name}.number",
                    Summary(
                        gettext_noop(
                            "Several of this customer's numbers are shown as “%(value)s” and "
                            "not all of them are sent back, so which one this is cannot be "
                            "told: send it with its id."
                        ),
                        {"value": number},
                    ),
                )
                continue
            if kept is None:
                errors.add(
                    f"{name}.number",
                    Summary(
                        gettext_noop(
                            "“%(value)s” is masked but masks none of this customer's numbers: "
                            "type the number in full, leave it as shown, or remove it."
                        ),
                        {"value": number},
                    ),
                )
                continue
            parsed = ParsedPhone(e164=kept.number, display=kept.display)
        else:
            try:
                parsed = parse_phone(number)
            except ValidationError as exc:
                message = NOT_A_VALID_PHONE if exc.code == "invalid" else NOT_A_PHONE
                errors.add(f"{name}.number", Summary(message, {"value": number}))
                continue
        if len(parsed.display) > PHONE_DISPLAY_LENGTH:
            # Only an extension makes it this long: "+86 10 8765 4321 ext. 12345678901234567890".
            errors.add(
                f"{name}.number",
                Summary(
                    gettext_noop(
                        "“%(value)s” is too long to keep: at most %(n)d characters written out."
                    ),
                    {"value": number, "n": PHONE_DISPLAY_LENGTH},
                ),
            )
            continue
        if parsed.e164 in seen:
            errors.add(f"{name}.number", Summary(gettext_noop("This number is listed twice.")))
            continue
        seen.add(parsed.e164)
        chosen = (item or {}).get("label")
        # No label sent: a number the customer has keeps the one it has (perhaps chosen by
        # someone); a new one is labelled by what it is (021 5555 1234 is an office's line, not
        # a mobile). A label sent is the user's choice, whatever the number.
        unchosen = Phone.Label.MOBILE
        if chosen in (None, ""):
            unchosen = stored_labels.get(parsed.e164) or (
                Phone.Label.WORK if is_fixed_line(parsed.e164) else Phone.Label.MOBILE
            )
        label = _choice(chosen, Phone.Label, unchosen, f"{name}.label", errors)
        items.append(PhoneItem(parsed, label, bool((item or {}).get("is_primary"))))
    _settle_primary(items)
    return items


def _clean_emails(value, errors) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, raw in enumerate(_as_list(value, "emails", errors, limit=MAX_EMAILS)):
        name = f"emails[{i}]"
        item = _as_item(raw, name, errors)
        address = raw if isinstance(raw, str) else (item or {}).get("address")
        if not address or not isinstance(address, str):
            errors.add(f"{name}.address", Summary(gettext_noop("This field is required.")))
            continue
        address = address.strip().lower()
        if len(address) > EMAIL_LENGTH:
            errors.add(f"{name}.address", Summary(_AT_MOST, {"n": EMAIL_LENGTH}))
            continue
        try:
            validate_email(address)
        except ValidationError:
            errors.add(
                f"{name}.address",
                Summary(
                    gettext_noop("“%(value)s” is not a valid email address."), {"value": address}
                ),
            )
            continue
        if address in seen:
            errors.add(f"{name}.address", Summary(gettext_noop("This address is listed twice.")))
            continue
        seen.add(address)
        label = _choice(
            (item or {}).get("label"), Email.Label, Email.Label.WORK, f"{name}.label", errors
        )
        items.append(
            {"address": address, "label": label, "is_primary": bool((item or {}).get("is_primary"))}
        )
    _settle_primary(items)
    return items


def _settle_primary(items: list) -> None:
    """Exactly one primary entry: the first marked one, else the first."""
    if not items:
        return
    get = (lambda x: x["is_primary"]) if isinstance(items[0], dict) else (lambda x: x.is_primary)
    first = next((i for i, x in enumerate(items) if get(x)), 0)
    for i, item in enumerate(items):
        if isinstance(item, dict):
            item["is_primary"] = i == first
        else:
            item.is_primary = i == first


_ADDRESS_LINES = ("street", "city", "region", "postcode", "country")


def _clean_addresses(value, errors) -> list[dict[str, Any]]:
    items = []
    for i, raw in enumerate(_as_list(value, "addresses", errors, limit=MAX_ADDRESSES)):
        name = f"addresses[{i}]"
        item = _as_item(raw, name, errors)
        if item is None:
            if isinstance(raw, str):
                errors.add(name, Summary(gettext_noop("Expected an object.")))
            continue
        clean: dict[str, Any] = {
            "label": _choice(
                item.get("label"), Address.Label, Address.Label.OFFICE, f"{name}.label", errors
            )
        }
        for key in _ADDRESS_LINES:
            limit = column_length(Address, key)
            text = item.get(key) or ""
            if not isinstance(text, str):
                errors.add(f"{name}.{key}", Summary(gettext_noop("Expected text.")))
                continue
            text = text.strip().upper() if key == "country" else text.strip()
            if len(text) > limit:
                errors.add(f"{name}.{key}", Summary(_AT_MOST, {"n": limit}))
            clean[key] = text
        unknown = set(item) - set(_ADDRESS_LINES) - {"label", "id"}
        for key in sorted(unknown):
            errors.add(f"{name}.{key}", Summary(gettext_noop("Unknown field.")))
        if not any(clean.get(k) for k in ("street", "city", "region", "postcode")):
            errors.add(
                name,
                Summary(
                    gettext_noop("An address needs at least a street, city, region or postcode.")
                ),
            )
        items.append(clean)
    return items


def _clean_tags(value, errors) -> list[str]:
    tags: list[str] = []
    limit = column_length(Tag, "name")
    raw_items = value.split(",") if isinstance(value, str) else _as_list(value, "tags", errors)
    for i, raw in enumerate(raw_items):
        if not isinstance(raw, str):
            errors.add(f"tags[{i}]", Summary(gettext_noop("Expected text.")))
            continue
        tag = raw.strip()
        if not tag:
            continue
        if len(tag) > limit:
            shown = tag if len(tag) <= TAG_SHOWN_LENGTH else tag[:TAG_SHOWN_LENGTH] + "…"
            errors.add(f"tags[{i}]", Summary(_TAG_TOO_LONG, {"tag": shown, "n": limit}))
        elif tag not in tags:
            tags.append(tag)
    # Counted as kept (blank and repeated ones dropped), since those are what a client reads.
    if len(tags) > MAX_TAGS:
        errors.add("tags", Summary(_AT_MOST_ITEMS, {"n": MAX_TAGS}))
        return []
    return tags


def _clean_consents(value, errors) -> list[dict[str, Any]]:
    items = []
    seen = set()
    for i, raw in enumerate(_as_list(value, "consents", errors)):
        name = f"consents[{i}]"
        item = _as_item(raw, name, errors)
        if item is None:
            if isinstance(raw, str):
                errors.add(name, _("Expected an object."))
            continue
        channel = item.get("channel")
        if channel not in MarketingConsent.Channel.values:
            errors.add(
                f"{name}.channel", _("“%(value)s” is not a valid choice.") % {"value": channel}
            )
            continue
        if channel in seen:
            errors.add(f"{name}.channel", _("This channel is listed twice."))
            continue
        seen.add(channel)
        granted = item.get("granted")
        if not isinstance(granted, bool):
            errors.add(f"{name}.granted", _("Expected true or false."))
        method = item.get("method")
        if method not in MarketingConsent.Method.values:
            errors.add(
                f"{name}.method",
                _("Say how consent was given: %(choices)s.")
                % {"choices": ", ".join(MarketingConsent.Method.values)},
            )
        # None when not given: the service dates a consent it writes, and leaves one sent
        # again unchanged as it is.
        recorded_at = item.get("recorded_at") or None
        if isinstance(recorded_at, str):
            try:
                parsed = parse_datetime(recorded_at)
            except ValueError:
                parsed = None
            if parsed is None:
                errors.add(f"{name}.recorded_at", _("Not a valid date and time."))
            recorded_at = parsed
        if isinstance(recorded_at, dt.datetime):
            if timezone.is_naive(recorded_at):
                recorded_at = timezone.make_aware(recorded_at)
            if recorded_at > timezone.now() + dt.timedelta(minutes=5):
                errors.add(f"{name}.recorded_at", _("Consent cannot be given in the future."))
        evidence = item.get("evidence") or ""
        evidence_length = column_length(MarketingConsent, "evidence")
        if not isinstance(evidence, str):
            errors.add(f"{name}.evidence", _("Expected text."))
        elif len(evidence) > evidence_length:
            errors.add(f"{name}.evidence", at_most_characters(evidence_length))
        items.append(
            {
                "channel": channel,
                "granted": granted,
                "method": method,
                "recorded_at": recorded_at,
                "evidence": evidence,
            }
        )
    return items


def clean_custom_fields(
    values: Mapping[str, Any], *, current: Mapping[str, Any], errors=None
) -> dict[str, Any]:
    """Merge ``values`` into ``current`` custom field values, checking each against its
    definition. A value of None or "" removes the field. Required fields must end up set."""
    own_errors = errors is None
    errors = errors or _Errors()
    if not isinstance(values, Mapping):
        errors.add("custom_fields", _("Expected an object."))
        if own_errors:
            errors.raise_if_any()
        return dict(current)
    if len(values) > MAX_CUSTOM_FIELDS:
        # Refused whole, as the API refuses it, rather than answering for each of thousands.
        errors.add("custom_fields", Summary(_AT_MOST_ITEMS, {"n": MAX_CUSTOM_FIELDS}))
        if own_errors:
            errors.raise_if_any()
        return dict(current)
    definitions = {d.key: d for d in CustomFieldDefinition.objects.filter(is_active=True)}
    result = {k: v for k, v in current.items() if k in definitions}
    for key, value in values.items():
        name = f"custom_fields.{key}"
        definition = definitions.get(key)
        if definition is None:
            errors.add(name, _("Unknown custom field."))
            continue
        if value is None or value == "":
            result.pop(key, None)
            continue
        try:
            result[key] = _coerce_custom_value(definition, value)
        except CustomValueError as exc:
            errors.add(name, exc.summary)
    for key, definition in definitions.items():
        if definition.required and key not in result:
            errors.add(f"custom_fields.{key}", _("This field is required."))
    if own_errors:
        errors.raise_if_any()
    return result


class CustomValueError(ValidationError):
    """A custom field's value refused, with the message untranslated too (``summary``)."""

    def __init__(self, summary: Summary):
        super().__init__(summary.render())
        self.summary = summary


# The years a custom date field takes, and a date-time a client sends the API (``updated_since``,
# ``api.schemas.Timestamp``). No record is older or newer, and inside them any UTC offset or time
# zone can be turned into UTC and still be a date the databases store (0001-01-01T00:00+14:00 is
# in the year 0 in UTC, which Python and SQLite cannot represent).
DATE_YEARS = (1900, 2999)


def _coerce_custom_value(definition: CustomFieldDefinition, value):
    kind = definition.field_type
    if kind == CustomFieldDefinition.FieldType.TEXT:
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise CustomValueError(Summary(gettext_noop("Expected text.")))
        text = str(value).strip()
        if len(text) > 1000:
            raise CustomValueError(Summary(_AT_MOST, {"n": 1000}))
        return text
    if kind == CustomFieldDefinition.FieldType.NUMBER:
        if isinstance(value, bool):
            raise CustomValueError(Summary(gettext_noop("Expected a number.")))
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise CustomValueError(Summary(gettext_noop("Expected a number."))) from None
        # copy_abs(), not abs(): abs() rounds to the decimal context, and a number written with
        # an exponent beyond it ("1E+999999999") raised Overflow, a server error.
        if not number.is_finite() or number.copy_abs() >= Decimal("1e15"):
            raise CustomValueError(Summary(gettext_noop("Expected a number.")))
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == CustomFieldDefinition.FieldType.DATE:
        parsed = value if isinstance(value, dt.date) else None
        if isinstance(value, str):
            try:
                parsed = parse_date(value)
            except ValueError:  # well formed but impossible, such as 2026-02-30
                parsed = None
        if parsed is None:
            raise CustomValueError(Summary(gettext_noop("Expected a date as YYYY-MM-DD.")))
        if not DATE_YEARS[0] <= parsed.year <= DATE_YEARS[1]:
            # 0001-01-01 is another program's empty date, no day anyone meant.
            raise CustomValueError(
                Summary(
                    gettext_noop("Expected a date between the years %(first)d and %(last)d."),
                    {"first": DATE_YEARS[0], "last": DATE_YEARS[1]},
                )
            )
        return parsed.isoformat()
    if kind == CustomFieldDefinition.FieldType.CHOICE:
        if value not in definition.choices:
            raise CustomValueError(
                Summary(
                    gettext_noop("Choose one of: %(choices)s."),
                    {"choices": ", ".join(definition.choices)},
                )
            )
        return value
    raise CustomValueError(Summary(gettext_noop("Unsupported field type.")))


# The cleaners of single fields, for callers that check many records at once with the same rules
# (the importer validates thousands of rows per batch without a query per row).
Errors = _Errors
clean_phones = _clean_phones
clean_emails = _clean_emails
clean_addresses = _clean_addresses
clean_tags = _clean_tags
coerce_custom_value = _coerce_custom_value
