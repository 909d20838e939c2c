"""Keeping each customer's duplicate-detection index in step with the customer: its blocking
keys (:class:`MatchKey`) and its profile (:class:`MatchProfile`, the normal forms).

Services call :func:`refresh_match_keys` in the same transaction as any change to what
duplicate detection looks at (names, phones, emails, addresses, birth date, ID number,
employer), so the form, the importer and the scan always work from the current data.
``guanxi dedup reindex`` rebuilds everything, for instance after the rules changed.
"""

from collections.abc import Iterable, Iterator

import numpy as np
from django.db import connection, transaction

from guanxi.core.bulk import indexes_suspended, insert_values

from .customer_records import iter_match_records, match_records_for
from .matching.blocking import RULE_CODES, record_key_hashes
from .matching.records import (
    PROFILE_VERSION,
    MatchRecord,
    profile_table_row,
    record_from_profile,
    record_profile,
    table_row,
)
from .models import MatchKey, MatchProfile

KEY_COLUMNS = ("customer_id", "key_hash", "rule")
PROFILE_COLUMNS = ("customer_id", "profile")


def match_key_values(record: MatchRecord, keys: list[tuple[int, int]] | None = None) -> list:
    """(customer id, key hash, rule) per distinct key hash of a record, for
    ``core.bulk.insert_values``; ``keys`` are the record's (rule, hash) pairs if known already."""
    rules: dict[int, int] = {}
    for rule, key in keys if keys is not None else record_key_hashes(record):
        rules.setdefault(key, rule)
    return [(record.ref, key, rule) for key, rule in rules.items()]


def match_key_rows(record: MatchRecord) -> list[MatchKey]:
    """One row per distinct key hash of a record."""
    return [MatchKey(customer_id=c, key_hash=k, rule=r) for c, k, r in match_key_values(record)]


def write_match_index(records: Iterable[MatchRecord], keys: dict | None = None) -> None:
    """Insert the keys and profiles of records of customers that have none yet (new ones, or
    after :func:`remove_match_keys`). ``keys`` maps a record's ref to its keys if known."""
    keys = keys or {}
    key_rows, profile_rows = [], []
    for record in records:
        key_rows += match_key_values(record, keys.get(record.ref))
        profile_rows.append((record.ref, record_profile(record)))
    insert_values(MatchKey, KEY_COLUMNS, key_rows)
    insert_values(MatchProfile, PROFILE_COLUMNS, profile_rows)


def refresh_match_keys(customer_ids: Iterable[int]) -> None:
    """Recompute the keys and profiles of these customers (a deleted customer keeps none)."""
    ids = set(customer_ids)
    if not ids:
        return
    records = match_records_for(list(ids))
    remove_match_keys(ids - set(records))
    rewrite_match_index(list(records.values()))


def rewrite_match_index(records: list[MatchRecord]) -> None:
    """Bring the stored keys and profiles of customers to what their current ``records`` say,
    writing only what differs.

    Most changes to a customer (a tag, a phone typed another way, a field filled in) leave its
    keys as they were, and deleting and inserting ten keys costs three index entries each,
    every one on a page of its own in a big table: the importer changes thousands of customers
    a batch."""
    if not records:
        return
    ids = [r.ref for r in records]
    stored_keys = set(
        MatchKey.objects.filter(customer_id__in=ids).values_list("customer_id", "key_hash")
    )
    stored_profiles = dict(
        MatchProfile.objects.filter(customer_id__in=ids).values_list("customer_id", "profile")
    )
    new_keys = [row for r in records for row in match_key_values(r)]
    gone = list(stored_keys - {(customer_id, key) for customer_id, key, _rule in new_keys})
    with connection.cursor() as cursor:
        for start in range(0, len(gone), 400):  # SQLite takes at most 999 parameters
            chunk = gone[start : start + 400]
            cursor.execute(
                "DELETE FROM dedup_matchkey WHERE (customer_id, key_hash) IN"  # noqa: S608
                f" (VALUES {', '.join(['(%s, %s)'] * len(chunk))})",
                [value for pair in chunk for value in pair],
            )
    insert_values(
        MatchKey, KEY_COLUMNS, [row for row in new_keys if (row[0], row[1]) not in stored_keys]
    )
    profiles = {r.ref: record_profile(r) for r in records}
    changed = {pk: p for pk, p in profiles.items() if stored_profiles.get(pk) != p}
    MatchProfile.objects.filter(
        customer_id__in=[pk for pk in changed if pk in stored_profiles]
    ).delete()
    insert_values(MatchProfile, PROFILE_COLUMNS, list(changed.items()))


def remove_match_keys(customer_ids: Iterable[int]) -> None:
    ids = list(customer_ids)
    MatchKey.objects.filter(customer_id__in=ids).delete()
    MatchProfile.objects.filter(customer_id__in=ids).delete()


def rows_where_in(cursor, select: str, values: list) -> list[tuple]:
    """The rows of ``select … WHERE column`` followed by ``IN (values)``, asked 500 values at a
    time: SQLite takes the list as that many parameters, and older builds allow 999 to a
    statement. (PostgreSQL callers pass one array parameter instead.)"""
    rows: list[tuple] = []
    for start in range(0, len(values), 500):
        part = values[start : start + 500]
        cursor.execute(f"{select} IN ({', '.join(['%s'] * len(part))})", part)
        rows += cursor.fetchall()
    return rows


def _stored_profiles(customer_ids: list[int]) -> Iterator[tuple[int, str]]:
    """(customer id, stored profile) of those of the customers that have one."""
    with connection.cursor() as cursor:
        for start in range(0, len(customer_ids), 10_000):
            chunk = customer_ids[start : start + 10_000]
            if connection.vendor == "postgresql":
                cursor.execute(
                    "SELECT customer_id, profile FROM dedup_matchprofile"
                    " WHERE customer_id = ANY(%s)",
                    [chunk],
                )
                yield from cursor.fetchall()
                continue
            yield from rows_where_in(
                cursor,
                "SELECT customer_id, profile FROM dedup_matchprofile WHERE customer_id",
                chunk,
            )


def stored_match_records(customer_ids: Iterable[int]) -> dict[int, MatchRecord]:
    """Records of the given customers (not deleted) from their stored profiles; customers
    without a current profile are normalised from their data. (A deleted customer has no
    profile: deleting removes it.)"""
    ids = sorted(set(customer_ids))
    records: dict[int, MatchRecord] = {}
    for customer_id, profile in _stored_profiles(ids):
        record = record_from_profile(customer_id, profile)
        if record is not None:
            records[customer_id] = record
    missing = [i for i in ids if i not in records]
    if missing:
        records.update(match_records_for(missing))
    return records


def stored_match_rows(customer_ids: Iterable[int]) -> dict[int, tuple]:
    """What :func:`stored_match_records` gives, as each record's ``table_row`` (its values of
    the comparison table's columns) made straight from the stored profile: for callers that
    compare the customers and need nothing else of their records."""
    ids = sorted(set(customer_ids))
    rows: dict[int, tuple] = {}
    for customer_id, profile in _stored_profiles(ids):
        row = profile_table_row(profile)
        if row is not None:
            rows[customer_id] = row
    missing = [i for i in ids if i not in rows]
    if missing:
        rows.update((pk, table_row(r)) for pk, r in match_records_for(missing).items())
    return rows


def rebuild_match_keys(*, batch_size: int = 5000, progress=None) -> int:
    """Recompute every customer's keys and profile in one transaction; returns how many
    customers. On PostgreSQL the rows go in with COPY (a million customers have some ten
    million keys)."""
    count = 0
    with (
        transaction.atomic(),
        indexes_suspended(MatchKey),
        indexes_suspended(MatchProfile),
    ):
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("TRUNCATE dedup_matchkey, dedup_matchprofile")
        else:
            MatchKey.objects.all().delete()
            MatchProfile.objects.all().delete()
        batch: list[MatchRecord] = []
        for record, _external_id in iter_match_records():
            batch.append(record)
            count += 1
            if len(batch) >= batch_size:
                write_match_index(batch)
                batch = []
            if progress is not None:
                progress.update(1)
        write_match_index(batch)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE dedup_matchkey")
            cursor.execute("ANALYZE dedup_matchprofile")
    return count


def _stream(cursor, sql: str, params=(), size: int = 50_000):
    cursor.execute(sql, params)
    while rows := cursor.fetchmany(size):
        yield from rows


def complete_match_index(*, batch_size: int = 5000) -> int:
    """Write the index of every customer that lacks one or whose profile was made by older
    code (customers written before this code, or by a bulk load); returns how many."""
    marker = f"[{PROFILE_VERSION},"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.id FROM customers_customer c"
            " LEFT JOIN dedup_matchprofile p ON p.customer_id = c.id"
            " WHERE c.deleted_at IS NULL AND (p.customer_id IS NULL OR p.profile NOT LIKE %s)",
            [marker + "%"],
        )
        stale = [row[0] for row in cursor.fetchall()]
    for start in range(0, len(stale), batch_size):
        with transaction.atomic():
            refresh_match_keys(stale[start : start + batch_size])
    return len(stale)


def indexed_records(progress=None) -> tuple[list[MatchRecord], list, np.ndarray, np.ndarray]:
    """Every customer that is not deleted, from the stored index: the records, their external
    ids, and their pairing keys as two arrays (key hash, position in the records). Run
    :func:`complete_match_index` first."""
    records: list[MatchRecord] = []
    external_ids: list = []
    with connection.cursor() as cursor:
        for customer_id, profile, external_id in _stream(
            cursor,
            "SELECT p.customer_id, p.profile, c.external_id FROM dedup_matchprofile p"
            " JOIN customers_customer c ON c.id = p.customer_id"
            " WHERE c.deleted_at IS NULL ORDER BY p.customer_id",
        ):
            records.append(record_from_profile(customer_id, profile))
            external_ids.append(external_id)
            if progress is not None:
                progress.update(1)
        ids = np.fromiter((r.ref for r in records), dtype=np.int64, count=len(records))
        hashes: list[int] = []
        owners: list[int] = []
        for key_hash, customer_id in _stream(
            cursor,
            "SELECT key_hash, customer_id FROM dedup_matchkey WHERE rule <> %s",
            [RULE_CODES["name"]],  # keys kept for counting names, not for pairing
        ):
            hashes.append(key_hash)
            owners.append(customer_id)
    owner_ids = np.array(owners, dtype=np.int64)
    positions = np.searchsorted(ids, owner_ids)
    known = (positions < len(ids)) & (ids[np.minimum(positions, len(ids) - 1)] == owner_ids)
    return (
        records,
        external_ids,
        np.array(hashes, dtype=np.int64)[known],
        positions[known],
    )
