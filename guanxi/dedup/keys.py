"""Keeping each customer's duplicate-detection index in step with the customer: its blocking
keys (:class:`MatchKey`) and its profile (:class:`MatchProfile`, the normal forms).

Services call :func:`refresh_match_keys` in the same transaction as any change to what
duplicate detection looks at (names, phones, emails, addresses, birth date, ID number,
employer), so the form, the importer and the scan always work from the current data.
``guanxi dedup reindex`` rebuilds everything, for instance after the rules changed.
"""

from collections.abc import Iterable

from django.db import connection, transaction

from guanxi.core.bulk import insert_values

from .customer_records import iter_match_records, match_records_for
from .matching.blocking import record_key_hashes
from .matching.records import MatchRecord, record_from_profile, record_profile
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
    ids = list(set(customer_ids))
    if not ids:
        return
    records = match_records_for(ids)
    remove_match_keys(ids)
    write_match_index(records.values())


def remove_match_keys(customer_ids: Iterable[int]) -> None:
    ids = list(customer_ids)
    MatchKey.objects.filter(customer_id__in=ids).delete()
    MatchProfile.objects.filter(customer_id__in=ids).delete()


def stored_match_records(customer_ids: Iterable[int]) -> dict[int, MatchRecord]:
    """Records of the given customers (not deleted) from their stored profiles; customers
    without a current profile are normalised from their data. (A deleted customer has no
    profile: deleting removes it.)"""
    ids = sorted(set(customer_ids))
    records: dict[int, MatchRecord] = {}
    with connection.cursor() as cursor:
        for start in range(0, len(ids), 10_000):
            chunk = ids[start : start + 10_000]
            if connection.vendor == "postgresql":
                cursor.execute(
                    "SELECT customer_id, profile FROM dedup_matchprofile"
                    " WHERE customer_id = ANY(%s)",
                    [chunk],
                )
                rows = cursor.fetchall()
            else:
                rows = []
                for small in range(0, len(chunk), 500):
                    part = chunk[small : small + 500]
                    cursor.execute(
                        "SELECT customer_id, profile FROM dedup_matchprofile"  # noqa: S608
                        f" WHERE customer_id IN ({', '.join(['%s'] * len(part))})",
                        part,
                    )
                    rows += cursor.fetchall()
            for customer_id, profile in rows:
                record = record_from_profile(customer_id, profile)
                if record is not None:
                    records[customer_id] = record
    missing = [i for i in ids if i not in records]
    if missing:
        records.update(match_records_for(missing))
    return records


def rebuild_match_keys(*, batch_size: int = 5000, progress=None) -> int:
    """Recompute every customer's keys and profile in one transaction; returns how many
    customers. On PostgreSQL the rows go in with COPY (a million customers have some ten
    million keys)."""
    count = 0
    with transaction.atomic():
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
