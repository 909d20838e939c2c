"""Measuring duplicate detection on data sets whose duplicates are known.

The engine here is exactly the scan's (``scan.scan_duplicates`` differs only in reading the
records from the database): records normalised by ``matching.records.match_record``, blocking,
comparison, a model fitted by EM on the data itself (no labels are used), transitive pairs, and
the pairs at or above the threshold compared with the truth.
"""

import time
from dataclasses import dataclass

from .datasets import chinese, febrl
from .matching.engine import REVIEW_THRESHOLD, add_transitive_pairs, find_duplicates
from .matching.evaluation import Quality, quality, true_pairs
from .matching.records import RecordTable, match_record


@dataclass(frozen=True)
class Evaluation:
    dataset: str
    records: int
    quality: Quality
    seconds: float


def febrl_records(name: str):
    rows = febrl.load(name)
    records = [
        match_record(
            ref=row.rec_id,
            name=row.name,
            birth_date=row.birth_date,
            id_number=row.id_number,
            addresses=[
                {
                    "street": row.street,
                    "city": row.city,
                    "region": row.region,
                    "postcode": row.postcode,
                }
            ],
        )
        for row in rows
    ]
    return records, [row.entity for row in rows]


def chinese_records(*, entities: int, seed: int):
    rows = chinese.generate(entities=entities, seed=seed)
    records = [
        match_record(
            ref=row.external_id,
            name=row.name,
            party_type=row.party_type,
            company=row.company,
            phones=row.phones,
            emails=row.emails,
            id_number=row.id_number,
            birth_date=row.birth_date,
            addresses=row.addresses,
        )
        for row in rows
    ]
    return records, [row.entity for row in rows]


def evaluate_dataset(
    name: str, *, threshold: float = REVIEW_THRESHOLD, entities: int = 5000, seed: int = 7
) -> Evaluation:
    started = time.perf_counter()
    if name == "chinese":
        records, entity_of = chinese_records(entities=entities, seed=seed)
    else:
        records, entity_of = febrl_records(name)
    table = RecordTable(records)
    search = find_duplicates(table)
    search = add_transitive_pairs(search, table, threshold=threshold).above(threshold)
    found = zip(search.left.tolist(), search.right.tolist(), strict=True)
    measured = quality(found, true_pairs(entity_of))
    return Evaluation(name, len(records), measured, time.perf_counter() - started)
