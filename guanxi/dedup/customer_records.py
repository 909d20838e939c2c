"""Customers from the database as duplicate-detection records (``matching.records``).

Two ways in: :func:`match_records_for` fetches a few customers through the ORM (the form, the
importer's candidates, a merge), and :func:`iter_match_records` streams every customer with
plain SQL, four sorted queries merged on the customer id, for the scan over a whole database.
"""

from collections.abc import Iterable, Iterator
from itertools import groupby

from django.db import connection

from guanxi.customers.models import Customer

from .matching.records import MatchRecord, match_record


def record_for_customer(customer: Customer, *, phones=None, emails=None, addresses=None):
    """A customer's record, from its phones, emails and addresses as given, else as loaded
    (or prefetched)."""
    phones = customer.phones.all() if phones is None else phones
    emails = customer.emails.all() if emails is None else emails
    addresses = customer.addresses.all() if addresses is None else addresses
    return match_record(
        ref=customer.pk,
        name=customer.name,
        party_type=customer.party_type,
        company=customer.company_label or "",
        phones=[p.number for p in phones],
        emails=[e.address for e in emails],
        id_number=customer.id_number_hash,
        birth_date=customer.birth_date,
        addresses=[
            {"street": a.street, "city": a.city, "region": a.region, "postcode": a.postcode}
            for a in addresses
        ],
    )


def match_records_for(
    customer_ids: Iterable[int], *, organisations: bool = True
) -> dict[int, MatchRecord]:
    """Records of the given customers that are not deleted, by id: four plain queries per
    thousand customers, no model instances (the importer asks for tens of thousands).

    A person's employer is their organisation's name, or with ``organisations=False`` their
    own company text: the record as someone who may not see the organisation may compare it
    (see ``selectors.likely_duplicates``)."""
    customers_sql = _CUSTOMERS_BY_ID if organisations else _CUSTOMERS_OWN_COMPANY_BY_ID
    ids = sorted(set(customer_ids))
    records: dict[int, MatchRecord] = {}
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        with connection.cursor() as cursor:
            marks = ", ".join(["%s"] * len(chunk))
            rows = {}
            for sql, target in (
                (_PHONES_BY_ID, "phones"),
                (_EMAILS_BY_ID, "emails"),
                (_ADDRESSES_BY_ID, "addresses"),
            ):
                cursor.execute(sql.format(ids=marks), chunk)
                for customer_id, *values in cursor.fetchall():
                    rows.setdefault((customer_id, target), []).append(values)
            cursor.execute(customers_sql.format(ids=marks), chunk)
            for customer_id, party_type, name, company, id_hash, birth, _ext in cursor.fetchall():
                records[customer_id] = match_record(
                    ref=customer_id,
                    name=name,
                    party_type=party_type,
                    company=company or "",
                    phones=[v[0] for v in rows.get((customer_id, "phones"), [])],
                    emails=[v[0] for v in rows.get((customer_id, "emails"), [])],
                    id_number=id_hash or "",
                    birth_date=birth,
                    addresses=[
                        {"street": s, "city": c, "region": r, "postcode": p}
                        for s, c, r, p in rows.get((customer_id, "addresses"), [])
                    ],
                )
    return records


_CUSTOMERS_BY_ID = """
    SELECT c.id, c.party_type, c.name, COALESCE(o.name, c.company), c.id_number_hash,
           c.birth_date, c.external_id
    FROM customers_customer c
    LEFT JOIN customers_customer o ON o.id = c.organization_id
    WHERE c.deleted_at IS NULL AND c.id IN ({ids})
"""
_CUSTOMERS_OWN_COMPANY_BY_ID = """
    SELECT c.id, c.party_type, c.name, c.company, c.id_number_hash,
           c.birth_date, c.external_id
    FROM customers_customer c
    WHERE c.deleted_at IS NULL AND c.id IN ({ids})
"""
_PHONES_BY_ID = "SELECT customer_id, number FROM customers_phone WHERE customer_id IN ({ids})"
_EMAILS_BY_ID = "SELECT customer_id, address FROM customers_email WHERE customer_id IN ({ids})"
_ADDRESSES_BY_ID = """
    SELECT customer_id, street, city, region, postcode FROM customers_address
    WHERE customer_id IN ({ids}) ORDER BY id
"""


_CUSTOMERS_SQL = """
    SELECT c.id, c.party_type, c.name, COALESCE(o.name, c.company), c.id_number_hash,
           c.birth_date, c.external_id
    FROM customers_customer c
    LEFT JOIN customers_customer o ON o.id = c.organization_id
    WHERE c.deleted_at IS NULL
    ORDER BY c.id
"""
_PHONES_SQL = """
    SELECT p.customer_id, p.number FROM customers_phone p
    JOIN customers_customer c ON c.id = p.customer_id AND c.deleted_at IS NULL
    ORDER BY p.customer_id
"""
_EMAILS_SQL = """
    SELECT e.customer_id, e.address FROM customers_email e
    JOIN customers_customer c ON c.id = e.customer_id AND c.deleted_at IS NULL
    ORDER BY e.customer_id
"""
_ADDRESSES_SQL = """
    SELECT a.customer_id, a.street, a.city, a.region, a.postcode FROM customers_address a
    JOIN customers_customer c ON c.id = a.customer_id AND c.deleted_at IS NULL
    ORDER BY a.customer_id, a.id
"""


def _stream(sql: str, size: int = 20_000) -> Iterator[tuple]:
    # A separate cursor per stream; on PostgreSQL a named (server-side) cursor so a million
    # rows are not held in memory at once.
    if connection.vendor == "postgresql":
        with connection.connection.cursor(name=f"dedup_{abs(hash(sql))}") as cursor:
            cursor.itersize = size
            cursor.execute(sql)
            yield from cursor
    else:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            while rows := cursor.fetchmany(size):
                yield from rows


def _grouped(rows: Iterator[tuple]) -> Iterator[tuple[int, list[tuple]]]:
    for customer_id, group in groupby(rows, key=lambda row: row[0]):
        yield customer_id, [row[1:] for row in group]


class _Follower:
    """Walks a stream grouped by customer id alongside the customers (both sorted by id)."""

    def __init__(self, rows: Iterator[tuple]):
        self.groups = _grouped(rows)
        self.current = next(self.groups, None)

    def take(self, customer_id: int) -> list[tuple]:
        while self.current is not None and self.current[0] < customer_id:
            self.current = next(self.groups, None)
        if self.current is not None and self.current[0] == customer_id:
            values = self.current[1]
            self.current = next(self.groups, None)
            return values
        return []


def iter_match_records() -> Iterator[tuple[MatchRecord, str | None]]:
    """Every customer that is not deleted, as (record, external id), in id order.

    Must run inside a transaction on PostgreSQL (server-side cursors live in one)."""
    phones = _Follower(_stream(_PHONES_SQL))
    emails = _Follower(_stream(_EMAILS_SQL))
    addresses = _Follower(_stream(_ADDRESSES_SQL))
    for customer_id, party_type, name, company, id_hash, birth, external_id in _stream(
        _CUSTOMERS_SQL
    ):
        record = match_record(
            ref=customer_id,
            name=name,
            party_type=party_type,
            company=company or "",
            phones=[row[0] for row in phones.take(customer_id)],
            emails=[row[0] for row in emails.take(customer_id)],
            id_number=id_hash or "",
            birth_date=birth,
            addresses=[
                {"street": s, "city": c, "region": r, "postcode": p}
                for s, c, r, p in addresses.take(customer_id)
            ],
        )
        yield record, external_id
