"""What duplicate detection knows about one customer, already normalised.

:class:`MatchRecord` is built from plain values (see :func:`match_record`), whether they come
from the database, an import row, a form being typed or a benchmark file, so every entry point
compares exactly the same things. :class:`RecordTable` holds many records column by column, as
the vectorised comparisons want them.
"""

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .normalize import (
    NameForms,
    birth_date_key,
    company_name_key,
    company_place,
    email_key,
    is_personal_phone,
    is_role_email,
    organization_name_forms,
    person_name_forms,
    phone_key,
    place_key,
    postcode_key,
    street_key,
)

PERSON = "person"
ORGANIZATION = "organization"


@dataclass(frozen=True)
class MatchAddress:
    street: str = ""
    city: str = ""
    region: str = ""
    postcode: str = ""


@dataclass(frozen=True)
class MatchRecord:
    """One customer in normal form. ``ref`` is whatever identifies it to the caller (a
    customer id, a row number); the engine never looks inside it."""

    ref: object
    party_type: str
    name: NameForms
    company: str = ""  # company key of a person's employer; organisations use ``name``
    phones: frozenset[str] = frozenset()  # E.164
    emails: frozenset[str] = frozenset()
    id_number: str = ""  # an opaque key: equal values mean the same ID number
    birth_date: str = ""  # YYYYMMDD
    addresses: tuple[MatchAddress, ...] = ()
    place: str = ""  # where an organisation's name says it is registered (北京…)

    @property
    def first_address(self) -> MatchAddress:
        return self.addresses[0] if self.addresses else MatchAddress()


def match_record(
    *,
    ref: object,
    name: str,
    party_type: str = PERSON,
    company: str = "",
    phones: Iterable[str] = (),
    emails: Iterable[str] = (),
    id_number: str = "",
    birth_date=None,
    addresses: Iterable[dict] = (),
    phone_region: str = "CN",
) -> MatchRecord:
    """Normalise one customer's fields. Phones may be typed any way (they are parsed);
    invalid phones and emails are left out rather than compared."""
    is_org = party_type == ORGANIZATION
    normal_addresses = tuple(
        MatchAddress(
            street=street_key(a.get("street")),
            city=place_key(a.get("city")),
            region=place_key(a.get("region")),
            postcode=postcode_key(a.get("postcode")),
        )
        for a in addresses
        if any(a.get(k) for k in ("street", "city", "region", "postcode"))
    )
    return MatchRecord(
        ref=ref,
        party_type=ORGANIZATION if is_org else PERSON,
        name=organization_name_forms(name) if is_org else person_name_forms(name),
        company="" if is_org else company_name_key(company),
        phones=frozenset(p for p in (phone_key(x, phone_region) for x in phones) if p),
        emails=frozenset(e for e in (email_key(x) for x in emails) if e),
        id_number=(id_number or "").strip(),
        birth_date=birth_date_key(birth_date),
        addresses=normal_addresses,
        place=company_place(name) if is_org else "",
    )


# Bumped whenever normalisation changes what a record holds, so stored profiles made by older
# code are recognised and made again (``guanxi dedup reindex``; the scan does it by itself).
PROFILE_VERSION = 3


def record_profile(record: MatchRecord) -> str:
    """A record's normal forms as compact JSON, for storing next to the customer: what the
    importer and the scan read instead of normalising every candidate again."""
    return json.dumps(
        [
            PROFILE_VERSION,
            record.party_type,
            record.name.han,
            list(record.name.tokens),
            record.company,
            sorted(record.phones),
            sorted(record.emails),
            record.id_number,
            record.birth_date,
            [[a.street, a.city, a.region, a.postcode] for a in record.addresses],
            record.place,
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )


def record_from_profile(ref: object, profile: str) -> MatchRecord | None:
    """The record a stored profile describes, or None if it was made by older code."""
    data = json.loads(profile)
    if not data or data[0] != PROFILE_VERSION:
        return None
    (
        _version,
        party_type,
        han,
        tokens,
        company,
        phones,
        emails,
        id_number,
        birth,
        places,
        place,
    ) = data
    key = " ".join(tokens) if party_type == ORGANIZATION else " ".join(sorted(tokens))
    return MatchRecord(
        ref=ref,
        party_type=party_type,
        name=NameForms(han=han, tokens=tuple(tokens), key=key),
        company=company,
        phones=frozenset(phones),
        emails=frozenset(emails),
        id_number=id_number,
        birth_date=birth,
        addresses=tuple(MatchAddress(*a) for a in places),
        place=place,
    )


def _object_array(values: Iterable) -> np.ndarray:
    # ``fromiter`` takes each value whole, a tuple as one element, where assigning a list to a
    # slice of an object array first looks for nested sequences in it (twice the time).
    values = values if isinstance(values, list | tuple) else list(values)
    return np.fromiter(values, dtype=object, count=len(values))


def _codes(values: np.ndarray) -> np.ndarray:
    """Equal values get equal integers; the empty value (falsy) gets -1. Comparing codes is a
    vectorised integer comparison, where comparing the values pair by pair is a Python loop."""
    seen: dict = {}
    code = seen.setdefault  # len(seen) is taken before a new value goes in: the next integer
    # One array made from a list: storing into a numpy array item by item costs more than the
    # dictionary lookups (this and _set_codes are a third of the importer's matching).
    return np.array([code(value, len(seen)) if value else -1 for value in values], dtype=np.int64)


def _set_codes(values: np.ndarray, width: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Up to ``width`` codes per record for the members of its set (-1 for none), and whether a
    record has more members than that (those pairs are compared the slow way)."""
    seen: dict = {}
    code = seen.setdefault
    count = len(values)
    # Where each code goes in the flattened array, and the code: stored in one assignment.
    at: list[int] = []
    codes: list[int] = []
    more = np.zeros(count, dtype=bool)
    for i, members in enumerate(values):
        if not members:
            continue
        for j, member in enumerate(sorted(members) if len(members) > 1 else members):
            if j == width:
                more[i] = True
                break
            at.append(i * width + j)
            codes.append(code(member, len(seen)))
    out = np.full(count * width, -1, dtype=np.int64)
    out[np.array(at, dtype=np.int64)] = codes
    return out.reshape(count, width), more


# The columns of a :class:`RecordTable`, in the order of :func:`table_row`.
TABLE_COLUMNS = (
    "party_type",
    "name_han",
    "name_key",
    "name_joined",
    "name_tokens",
    "name_words",
    "company",
    "own_phones",
    "shared_contacts",
    "emails",
    "place",
    "id_number",
    "birth_date",
    "street",
    "street_numbers",
    "city",
    "region",
    "postcode",
)
# Columns compared for equality through integer codes (see :func:`_codes`).
CODED_COLUMNS = (
    "party_type",
    "name_han",
    "name_key",
    "name_joined",
    "company",
    "place",
    "id_number",
    "birth_date",
    "street",
    "street_numbers",
    "city",
    "postcode",
)
_NUMBERS = re.compile(r"\d+")
_NO_ADDRESS = ("", "", "", "")


def split_contacts(
    party_type: str, phones: Iterable[str], emails: Iterable[str]
) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """A customer's own phones, the contacts it shares, and its own emails.

    Own phones identify the customer: a person's mobiles, any number of an organisation. Shared
    contacts are what a whole office or family shares: a person's landlines (office or home
    numbers) and role mailboxes (info@, sales@ …)."""
    own_phones, shared, own_emails = set(), set(), set()
    for phone in phones:
        personal = party_type == ORGANIZATION or is_personal_phone(phone)
        (own_phones if personal else shared).add(phone)
    for email in emails:
        (shared if is_role_email(email) else own_emails).add(email)
    return frozenset(own_phones), frozenset(shared), frozenset(own_emails)


def _row_values(
    party_type: str,
    han: str,
    tokens: Sequence[str],
    key: str,
    company: str,
    phones: Iterable[str],
    emails: Iterable[str],
    id_number: str,
    birth_date: str,
    first_address: Sequence[str],
    place: str,
) -> tuple:
    """One record's values of :data:`TABLE_COLUMNS`."""
    own_phones, shared_contacts, own_emails = split_contacts(party_type, phones, emails)
    street, city, region, postcode = first_address
    return (
        party_type,
        han,
        key,
        "".join(tokens),
        frozenset(tokens),
        tuple(sorted(tokens)),
        company,
        own_phones,
        shared_contacts,
        own_emails,
        place,
        id_number,
        birth_date,
        street,
        tuple(sorted(_NUMBERS.findall(street))),
        city,
        region,
        postcode,
    )


def table_row(record: MatchRecord) -> tuple:
    """A record's values of :data:`TABLE_COLUMNS`."""
    first = record.first_address
    return _row_values(
        record.party_type,
        record.name.han,
        record.name.tokens,
        record.name.key,
        record.company,
        record.phones,
        record.emails,
        record.id_number,
        record.birth_date,
        (first.street, first.city, first.region, first.postcode),
        record.place,
    )


def profile_table_row(profile: str) -> tuple | None:
    """:func:`table_row` of the record a stored profile describes, without making the record
    (the importer compares thousands of stored candidates a batch and needs only this); None if
    the profile was made by older code."""
    data = json.loads(profile)
    if not data or data[0] != PROFILE_VERSION:
        return None
    _version, party_type, han, tokens, company, phones, emails, id_number, birth, places, place = (
        data
    )
    key = " ".join(tokens) if party_type == ORGANIZATION else " ".join(sorted(tokens))
    return _row_values(
        party_type,
        han,
        tokens,
        key,
        company,
        phones,
        emails,
        id_number,
        birth,
        places[0] if places else _NO_ADDRESS,
        place,
    )


@dataclass
class RecordTable:
    """Records column by column (numpy object arrays), indexed by position, with integer codes
    of the columns compared for equality and set overlap (see :func:`_codes`).

    ``rows`` are the records' :func:`table_row` values where the caller has them already (from
    :func:`profile_table_row`, say); :meth:`from_rows` makes a table of rows alone, whose
    ``records`` is empty: what the comparisons read is the columns and codes."""

    records: Sequence[MatchRecord]
    rows: Sequence[tuple] | None = field(default=None, repr=False)
    columns: dict[str, np.ndarray] = field(init=False)
    codes: dict[str, np.ndarray] = field(init=False)

    @classmethod
    def from_rows(cls, rows: Sequence[tuple]) -> "RecordTable":
        return cls(records=(), rows=rows)

    def __post_init__(self) -> None:
        rows = self.rows if self.rows is not None else [table_row(r) for r in self.records]
        self.rows = None  # not kept: the columns hold the same values
        count = len(rows)
        if count:
            self.columns = {
                name: _object_array(values)
                for name, values in zip(TABLE_COLUMNS, zip(*rows, strict=True), strict=True)
            }
        else:
            self.columns = {name: _object_array(()) for name in TABLE_COLUMNS}
        c = self.columns
        self.codes = {name: _codes(c[name]) for name in CODED_COLUMNS}
        self.codes["token_count"] = np.fromiter(
            (len(t) for t in c["name_tokens"]), dtype=np.int64, count=count
        )
        self.codes["birth_int"] = np.fromiter(
            (int(b) if b else -1 for b in c["birth_date"]), dtype=np.int64, count=count
        )
        for name in ("own_phones", "shared_contacts", "emails"):
            self.codes[name], self.codes[f"{name}_more"] = _set_codes(c[name])

    def __len__(self) -> int:
        return len(self.columns["party_type"])

    def refs(self) -> list:
        return [r.ref for r in self.records]
