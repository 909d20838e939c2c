"""Checking one row of a customer import: the same rules as every other way in (the field
cleaners of ``customers.validation``), without a query per row.

What needs the database — owners by username, custom field definitions — is looked up once per
import by :class:`RowContext` and shared by all rows.
"""

import datetime as dt
import functools
import re
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import models
from django.utils import translation
from django.utils.translation import gettext_noop

from guanxi.accounts.models import User
from guanxi.audit.summaries import Choices, Summary
from guanxi.core.crypto import lookup_hash
from guanxi.core.keyset import MAX_ID
from guanxi.core.masking import is_masked
from guanxi.customers.models import Customer, CustomFieldDefinition, Tag
from guanxi.customers.validation import (
    ONE_LINE_FIELDS,
    CustomValueError,
    Errors,
    PhoneItem,
    clean_addresses,
    clean_emails,
    clean_phones,
    clean_tags,
    coerce_custom_value,
    has_control_characters,
    id_number_problem,
    normalise_id_number,
    owner_assignment_problem,
)
from guanxi.dedup.matching.records import MatchRecord, match_record

from .reasons import Reason, field_reason


def _column_length(name: str) -> int:
    return Customer._meta.get_field(name).max_length


# Scalar fields of the import and the model field each fills, with its length limit: the
# column's own (a longer value would fail the whole batch on PostgreSQL), or for the notes,
# which have none, a sane one.
TEXT_FIELDS = {
    "name": ("name", _column_length("name")),
    "company": ("company", _column_length("company")),
    "job_title": ("job_title", _column_length("job_title")),
    "industry": ("industry", _column_length("industry")),
    "sales_region": ("region", _column_length("region")),
    "notes": ("notes", 10_000),
}
WEBSITE_LENGTH = _column_length("website")
EXTERNAL_ID_LENGTH = _column_length("external_id")
CHOICE_FIELDS = {
    "party_type": Customer.PartyType,
    "kind": Customer.Kind,
    "lifecycle_stage": Customer.LifecycleStage,
    "relationship_level": Customer.RelationshipLevel,
    "source_channel": Customer.SourceChannel,
}
# Chinese words people write for the choices, beside the codes and the English labels.
CHOICE_WORDS = {
    "party_type": {
        "个人": "person",
        "公司": "organization",
        "企业": "organization",
        "机构": "organization",
    },
    "kind": {
        "潜在客户": "potential",
        "潜在": "potential",
        "意向客户": "intent",
        "意向": "intent",
        "准客户": "prospect",
        "签约客户": "signed",
        "签约": "signed",
        "合作伙伴": "partner",
        "内部": "internal",
    },
}
_ONE_LINE = gettext_noop("one line only: no line breaks, tabs or control characters")
_REQUIRED = gettext_noop("this custom field is required")
# The separators of a cell of several values, each with its full-width form, as typed on a
# Chinese keyboard ("、" is Chinese already); customers.exports.tags_cell quotes a tag holding one.
_SPLIT = re.compile(r"[;；,，、|｜/／]+")
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日")


@dataclass
class CustomerRow:
    """A row that passed every check: the customer's fields as the services write them."""

    number: int
    scalars: dict[str, Any]
    phones: list[PhoneItem]
    emails: list[dict[str, Any]]
    addresses: list[dict[str, Any]]
    tags: list[str]
    custom_fields: dict[str, Any]
    id_number: str  # normalised; "" for none
    external_id: str | None
    organization_external_id: str | None
    # Guanxi's own number of the customer the row updates (the export's ``id`` column); None
    # for a row without one.
    guanxi_id: int | None = None
    cells: dict[str, str] = field(default_factory=dict)
    # Worked out ahead by ``preparing.prepare_rows`` for a row that names no organisation: its
    # duplicate-detection record and blocking keys, and its search text as a customer alone.
    record: MatchRecord | None = None
    keys: list[tuple[int, int]] | None = None
    search_text: str = ""
    # Required custom fields the row leaves empty. Only a row that makes a new customer must
    # fill them (the importer refuses it then); one that updates or merges into a customer
    # keeps what is stored, as an export, which carries no custom fields, imported back must.
    missing_required: tuple[str, ...] = ()
    # The owner the row names, where that user cannot be given customers (one who has left, or
    # may no longer change customers), with why. Naming a customer's owner as it is assigns
    # nothing: a row going into the customer they own keeps them, as an export of a departed
    # rep's customers imported back must; one that would make a new customer or give a customer
    # to them is refused then (see ``kept_owner_reason``).
    kept_owner: "KeptOwner | None" = None

    def match_record(self, *, company: str = "") -> MatchRecord:
        return match_record(
            ref=self.number,
            name=self.scalars["name"],
            party_type=self.scalars.get("party_type", Customer.PartyType.PERSON),
            company=company or self.scalars.get("company", ""),
            phones=[p.parsed.e164 for p in self.phones],
            emails=[e["address"] for e in self.emails],
            id_number=lookup_hash(self.id_number) if self.id_number else "",
            birth_date=self.scalars.get("birth_date"),
            addresses=self.addresses,
        )


@dataclass(frozen=True)
class KeptOwner:
    """A user who may stay the owner of the customers they have but be given no others."""

    user_id: int
    reason: Summary


def kept_owner_reason(row: CustomerRow, owner_id: int | None) -> Reason | None:
    """Why ``row`` cannot go into a customer owned by ``owner_id`` (None for a new customer or
    one without an owner): it names, as the owner, a user who cannot be given customers."""
    if row.kept_owner is None or row.kept_owner.user_id == owner_id:
        return None
    return field_reason("owner", row.kept_owner.reason)


class RowContext:
    """What checking rows needs from the database, read once per import."""

    def __init__(self, actor):
        self.actor = actor
        self.definitions = {d.key: d for d in CustomFieldDefinition.objects.filter(is_active=True)}
        # Tags whose names hold a separator (B2B/B2C): see _split_tags.
        self.tag_names = frozenset(
            Tag.objects.filter(name__regex=_SPLIT.pattern).values_list("name", flat=True)
        )
        # Username -> user id, or the user who may only stay an owner, or why no user of that
        # name can own the customers. Filled as rows ask; the worker that checks rows ahead is
        # sent the entries its batches need.
        self.owners: dict[str, int | KeptOwner | Summary | str] = {}

    def owner(self, username: str) -> int | KeptOwner | Summary | str:
        """The user id for a username; a user who cannot be given customers, with why; or the
        reason no user of that name can be the owner."""
        if username not in self.owners:
            user = User.objects.filter(username=username).first()
            inactive = _no_active_user(username)
            if user is None:
                self.owners[username] = inactive
            elif not user.is_active:
                self.owners[username] = KeptOwner(user.pk, inactive)
            else:
                problem = owner_assignment_problem(self.actor, user.pk)
                self.owners[username] = KeptOwner(user.pk, problem) if problem else user.pk
        return self.owners[username]

    def owner_left(self, username: str, user_id: int) -> KeptOwner:
        """The owner ``username`` named (``user_id``), found inactive or gone once the import
        locked them, though active when :meth:`owner` looked them up: from now on, as if they
        had been inactive then, they may only stay the owner of the customers they have."""
        kept = KeptOwner(user_id, _no_active_user(username))
        self.owners[username] = kept
        return kept


def _no_active_user(username: str) -> Summary:
    return Summary(gettext_noop("no active user “%(name)s”"), {"name": username})


def _choice(field_name: str, value: str) -> str | None:
    return choice_code(CHOICE_FIELDS[field_name], value) or CHOICE_WORDS.get(field_name, {}).get(
        value.strip()
    )


def choices_to_type(field_name: str) -> str:
    """What a cell of a choice field may say, for a reason that refuses one: each choice's
    label in the reader's language with its code (``潜在客户 (potential)``), both of which
    :func:`_choice` accepts, or the label alone where it is the code (``Potential``)."""
    return labels_and_codes(CHOICE_FIELDS[field_name])


def labels_and_codes(choices: type[models.TextChoices]) -> str:
    """As :func:`choices_to_type`, for any choices, in the active language."""
    return Choices.of(choices).render()


def choice_code(choices: type[models.TextChoices], value: str) -> str | None:
    """The code a cell of a choice field means: the code, or the label in English or Chinese,
    whichever language the importing user reads — a file is often typed by someone else than
    who imports it. None for anything else."""
    return _choice_words(choices).get(value.strip().casefold())


@functools.cache
def _choice_words(choices: type[models.TextChoices]) -> dict[str, str]:
    """Every word a cell may say for ``choices`` (codes, labels in every language, folded),
    with its code: made once, since it is asked for each cell of each row."""
    words = {}
    for language, _name in reversed(settings.LANGUAGES):
        with translation.override(language):
            words.update({str(label).casefold(): code for code, label in choices.choices})
    words.update({code.casefold(): code for code in choices.values})  # a code wins over a label
    return words


def parse_date(text: str) -> dt.date | None:
    for pattern in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text.strip(), pattern).date()
        except ValueError:
            continue
    return None


def clean_customer_row(
    number: int, values: dict[str, str], context: RowContext
) -> CustomerRow | list[Reason]:
    """A :class:`CustomerRow`, or the reasons the row cannot be imported, each naming its field
    (``phone: …``; the mapping puts the file's own column names in, see
    :meth:`ColumnMapping.naming_columns`), untranslated (see ``guanxi.imports.reasons``)."""
    problems: list[Reason] = []

    def problem(column: str, message: Reason) -> None:
        problems.append(field_reason(column, message))

    scalars: dict[str, Any] = {}
    for column, (model_field, limit) in TEXT_FIELDS.items():
        text = values.get(column, "").strip()
        if len(text) > limit:
            problem(column, Summary(gettext_noop("at most %(n)d characters"), {"n": limit}))
        elif model_field in ONE_LINE_FIELDS and has_control_characters(text):
            problem(column, Summary(_ONE_LINE))
        elif text:
            scalars[model_field] = text
    if not values.get("name", "").strip():
        problem("name", Summary(gettext_noop("a name is required")))
    for column in CHOICE_FIELDS:
        if values.get(column):
            code = _choice(column, values[column])
            if code is None:
                # The choices are kept untranslated, as the rest of the reason: their labels
                # read in the reader's language, as the cell may say them in either.
                problem(
                    column,
                    Summary(
                        gettext_noop("“%(value)s” is not one of %(choices)s"),
                        {"value": values[column], "choices": Choices.of(CHOICE_FIELDS[column])},
                    ),
                )
            else:
                scalars[column] = code
    if values.get("website"):
        if len(values["website"]) > WEBSITE_LENGTH:
            problem(
                "website", Summary(gettext_noop("at most %(n)d characters"), {"n": WEBSITE_LENGTH})
            )
        else:
            try:
                URLValidator()(values["website"])
                scalars["website"] = values["website"]
            except ValidationError:
                problem("website", Summary(gettext_noop("not a web address")))
    if values.get("birth_date"):
        born = parse_date(values["birth_date"])
        if born is None:
            problem(
                "birth_date",
                Summary(gettext_noop("“%(value)s” is not a date"), {"value": values["birth_date"]}),
            )
        elif born > dt.date.today() or born.year < 1900:
            problem(
                "birth_date",
                Summary(
                    gettext_noop("%(value)s is not a plausible birth date"), {"value": str(born)}
                ),
            )
        else:
            scalars["birth_date"] = born
    kept_owner = None
    if values.get("owner"):
        owner = context.owner(values["owner"].strip())
        if isinstance(owner, int):
            scalars["owner_id"] = owner
        elif isinstance(owner, KeptOwner):
            # Refused or not once the importer knows which customer the row goes into.
            kept_owner = owner
        else:
            problem("owner", owner)
    else:
        scalars["owner_id"] = context.actor.pk

    errors = Errors()
    # A customer export without full numbers shows them masked (138****1234), and one made by
    # someone who may not see them in full can show nothing else. A row keyed by its external id
    # goes back into the customer it came from, which has those numbers already: its masked
    # numbers are left out, so the export imports again as it is. Without an external id the
    # row is matched as a duplicate, on what it says: a masked number is still refused then,
    # rather than the row being taken for a new customer for want of it. A row keyed by its
    # Guanxi id goes back into its customer just the same.
    keyed = bool(values.get("external_id", "").strip()) or "guanxi_id" in values
    phones = clean_phones(
        [part for part in _split(values.get("phone", "")) if not (keyed and is_masked(part))],
        errors,
    )
    emails = clean_emails(_split(values.get("email", ""), emails=True), errors)
    address = {
        "street": values.get("address", ""),
        "city": values.get("city", ""),
        "region": values.get("region", ""),
        "postcode": values.get("postcode", ""),
        "country": values.get("country", "") or "CN",
    }
    has_address = any(address[k] for k in ("street", "city", "region", "postcode"))
    addresses = clean_addresses([address], errors) if has_address else []
    tags = clean_tags(_split_tags(values.get("tags", ""), context.tag_names), errors)
    for name, messages in errors.untranslated.items():
        # The list and its position (tags[0], phones[1].number) name the field, as the file's
        # column does: "tags[0]" named no column, and the reason read under that key.
        field = re.sub(r"\[\d+\].*", "", name).split(".")[0]
        column = {"phones": "phone", "emails": "email", "addresses": "address"}.get(field, field)
        for message in messages:
            problem(column, message)

    id_number = normalise_id_number(values.get("id_number", ""))
    if keyed and is_masked(id_number):
        id_number = ""  # as a masked phone, above
    if id_number:
        message = id_number_problem(id_number)
        if message:
            problem("id_number", message)

    custom: dict[str, Any] = {}
    for key, definition in context.definitions.items():
        raw = values.get(key, "").strip()
        if not raw:
            continue  # a required one is the importer's to refuse (see _unfilled_required)
        try:
            custom[key] = coerce_custom_value(definition, raw)
        except CustomValueError as error:
            problem(key, error.summary)

    external_id = values.get("external_id", "").strip() or None
    if external_id and len(external_id) > EXTERNAL_ID_LENGTH:
        problem(
            "external_id",
            Summary(gettext_noop("at most %(n)d characters"), {"n": EXTERNAL_ID_LENGTH}),
        )
    elif external_id and has_control_characters(external_id):
        problem("external_id", Summary(_ONE_LINE))
    guanxi_id = None
    if "guanxi_id" in values:
        guanxi_id = parse_guanxi_id(values["guanxi_id"])
        if guanxi_id is None:
            problem(
                "guanxi_id",
                Summary(
                    gettext_noop("“%(value)s” is not a Guanxi id, which is a whole number"),
                    {"value": values["guanxi_id"]},
                ),
            )
    organization_external_id = values.get("organization_external_id", "").strip() or None
    if organization_external_id and scalars.get("party_type") == Customer.PartyType.ORGANIZATION:
        problem(
            "organization_external_id",
            Summary(gettext_noop("only people belong to an organisation")),
        )
    if problems:
        return problems
    return CustomerRow(
        number=number,
        scalars=scalars,
        phones=phones,
        emails=emails,
        addresses=addresses,
        tags=tags,
        custom_fields=custom,
        id_number=id_number,
        external_id=external_id,
        organization_external_id=organization_external_id,
        guanxi_id=guanxi_id,
        cells=values,
        missing_required=tuple(_unfilled_required(values, context)),
        kept_owner=kept_owner,
    )


def required_custom_field_reasons(row: CustomerRow, absorbed: list[CustomerRow]) -> list[Reason]:
    """Why a row cannot make a new customer: the required custom fields neither it nor the rows
    going into the same new customer fill, each named by its column."""
    filled = {key for other in absorbed for key in other.custom_fields}
    return [
        field_reason(key, Summary(_REQUIRED)) for key in row.missing_required if key not in filled
    ]


def unfilled_required_reasons(
    values: dict[str, str], context: RowContext, *, filled: set[str]
) -> list[Reason]:
    """:func:`required_custom_field_reasons` for a row rejected for its cells (which has no
    :class:`CustomerRow`): the required custom fields neither its ``values`` nor ``filled`` (those
    the later rows going into the same new customer fill) give."""
    return [
        field_reason(key, Summary(_REQUIRED))
        for key in _unfilled_required(values, context)
        if key not in filled
    ]


def _unfilled_required(values: dict[str, str], context: RowContext) -> list[str]:
    """The required custom fields a row's ``values`` leave empty (blank counts as empty)."""
    return [
        key
        for key, definition in context.definitions.items()
        if definition.required and not values.get(key, "").strip()
    ]


def kept_owner_of(values: dict[str, str], context: RowContext) -> KeptOwner | None:
    """The owner a row's ``values`` name where they may only stay the owner of the customers
    they have (see ``CustomerRow.kept_owner``), for a row rejected for its cells."""
    owner = context.owner(values["owner"].strip()) if values.get("owner", "").strip() else None
    return owner if isinstance(owner, KeptOwner) else None


def parse_guanxi_id(text: str) -> int | None:
    """A Guanxi id as a cell holds it (the export writes digits, a workbook a number), or None
    for anything else, a number no customer can have included."""
    text = text.strip()
    if not text.isascii() or not text.isdigit() or len(text) > len(str(MAX_ID)):
        return None
    number = int(text)
    return number if 1 <= number <= MAX_ID else None


# A tag in double quotes (one inside doubled), then the separators after it or the end.
_QUOTED_TAG = re.compile(rf'\s*"((?:[^"]|"")*)"\s*({_SPLIT.pattern}|$)')
_SEMICOLONS = re.compile(r"[;；]+")


def _split_tags(text: str, known: frozenset[str]) -> list[str]:
    """The tags of a cell. An export writes them separated by "; ", and a tag holding any of the
    separators a cell of several values is split on ("B2B/B2C", "华东, 华南") in double quotes,
    one inside doubled (``customers.exports.tags_cell``): a tag so quoted, up to a separator or
    the end, is that one tag, whatever it holds, known here or not, also when typed so among
    others (``VIP, "B2B/B2C"``). An unquoted piece between semicolons that names a tag holding a
    separator stays whole too, as exports written before such tags were quoted have them.
    Anything else is split as any cell of several values (a quote that does not close its tag,
    as in ``"a"b``, is kept as typed)."""
    text = text or ""
    tags: list[str] = []
    position = 0
    after_semicolon = True  # at the start of the cell or of a piece between semicolons
    while position < len(text):
        quoted = _QUOTED_TAG.match(text, position)
        if quoted:
            tags.append(quoted[1].replace('""', '"'))
            position = quoted.end()
            after_semicolon = bool(_SEMICOLONS.search(quoted[2]))
            continue
        if after_semicolon:
            semicolons = _SEMICOLONS.search(text, position)
            piece = text[position : semicolons.start() if semicolons else len(text)].strip()
            if piece in known:
                tags.append(piece)
                position = semicolons.end() if semicolons else len(text)
                continue
        separators = _SPLIT.search(text, position)
        if tag := text[position : separators.start() if separators else len(text)].strip():
            tags.append(tag)
        position = separators.end() if separators else len(text)
        after_semicolon = bool(separators and _SEMICOLONS.search(separators[0]))
    return tags


# A cell of emails: whitespace separates the addresses too. "|" and "/" may stand in an address
# (a/b@example.cn), and the address check takes their full-width forms in a domain typed in
# Chinese, so a piece that is one address as a whole is not split on them: the addresses a
# customer has come back from an export as they are. Two addresses run together never pass for
# one (an address holds a single "@"), so "a@example.cn/b@example.cn" is still split; and a "|"
# or "/" at either end of a piece is a separator typed beside a space ("a@example.cn /b@…").
_EMAIL_SPLIT = re.compile(r"[;；,，、\s]+")
_EMAIL_INNER_SEPARATORS = "|｜/／"
_EMAIL_INNER_SPLIT = re.compile(f"[{_EMAIL_INNER_SEPARATORS}]+")


def _split(text: str, *, emails: bool = False) -> list[str]:
    """Several values in one cell. Phones keep their inner spaces (138 1234 5678); emails
    cannot contain any, so whitespace separates them too (see _EMAIL_SPLIT)."""
    if not emails:
        return [part.strip() for part in _SPLIT.split(text or "") if part.strip()]
    addresses: list[str] = []
    for piece in _EMAIL_SPLIT.split(text or ""):
        piece = piece.strip(_EMAIL_INNER_SEPARATORS)
        if _EMAIL_INNER_SPLIT.search(piece) and not _is_one_address(piece):
            addresses.extend(part for part in _EMAIL_INNER_SPLIT.split(piece) if part)
        elif piece:
            addresses.append(piece)
    return addresses


def _is_one_address(text: str) -> bool:
    try:
        validate_email(text)
    except ValidationError:
        return False
    return True
