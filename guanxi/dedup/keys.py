"""Keeping each customer's stored blocking keys (:class:`MatchKey`) in step with the customer.

Services call :func:`refresh_match_keys` in the same transaction as any change to what
duplicate detection looks at (names, phones, emails, addresses, birth date, ID number,
employer), so the form and the importer always find candidates by the current data.
``guanxi dedup reindex`` rebuilds every key, for instance after the rules changed.
"""

from collections.abc import Iterable

from django.db import transaction

from .customer_records import iter_match_records, match_records_for
from .matching.blocking import record_key_hashes
from .matching.records import MatchRecord
from .models import MatchKey


def match_key_rows(record: MatchRecord) -> list[MatchKey]:
    """One row per distinct key hash of a record."""
    rules: dict[int, int] = {}
    for rule, key in record_key_hashes(record):
        rules.setdefault(key, rule)
    return [
        MatchKey(customer_id=record.ref, key_hash=key, rule=rule) for key, rule in rules.items()
    ]


def refresh_match_keys(customer_ids: Iterable[int]) -> None:
    """Recompute the keys of these customers (a deleted customer keeps none)."""
    ids = list(set(customer_ids))
    if not ids:
        return
    records = match_records_for(ids)
    MatchKey.objects.filter(customer_id__in=ids).delete()
    rows = [row for record in records.values() for row in match_key_rows(record)]
    MatchKey.objects.bulk_create(rows, batch_size=2000)


def remove_match_keys(customer_ids: Iterable[int]) -> None:
    MatchKey.objects.filter(customer_id__in=list(customer_ids)).delete()


def rebuild_match_keys(*, batch_size: int = 5000, progress=None) -> int:
    """Recompute every customer's keys in one transaction; returns how many customers."""
    count = 0
    with transaction.atomic():
        MatchKey.objects.all().delete()
        batch: list[MatchKey] = []
        for record, _external_id in iter_match_records():
            batch += match_key_rows(record)
            count += 1
            if len(batch) >= batch_size:
                MatchKey.objects.bulk_create(batch, batch_size=batch_size)
                batch = []
            if progress is not None:
                progress.update(1)
        MatchKey.objects.bulk_create(batch, batch_size=batch_size)
    return count
