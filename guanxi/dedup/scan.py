"""The whole-database duplicate scan behind ``guanxi dedup scan``.

Reads every customer from the stored duplicate-detection index (profiles and blocking keys,
completed first for customers that lack one), runs the engine (blocking, comparison, a model
fitted on this data, transitive pairs), writes the pairs at or above the threshold to a CSV file
and to the review queue, and keeps the fitted model for the form and the importer.

The queue keeps people's decisions: a pair someone rejected or merged is never proposed again;
open pairs that this scan no longer finds (the data changed) are dropped, unless they were queued
after the scan began reading, or concern a customer changed since (by an import, an edit or a
merge meanwhile): the scan's view of those is out of date. Nor does it queue a pair of a customer
sent to the recycle bin meanwhile. While the scan writes the queue, the pairs table is locked
against other writers, so a merge or an import queueing a pair then waits a moment instead of
colliding with it.
"""

import csv
import heapq
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from guanxi.core.bulk import insert, update
from guanxi.core.files import replaced_on_success
from guanxi.core.formulas import neutralise_formula
from guanxi.customers.models import Customer

from .keys import complete_match_index, indexed_records
from .matching.blocking import DEFAULT_MAX_BLOCK, BlockingStats
from .matching.engine import REVIEW_THRESHOLD, add_transitive_pairs, find_duplicates
from .matching.model import MatchModel, rounded_reasons, scores_without
from .matching.records import RecordTable
from .models import DuplicatePair, MatchModelFit

CSV_COLUMNS = ("left_id", "right_id", "left_external_id", "right_external_id", "score")


@dataclass
class ScanResult:
    indexed: int  # customers whose stored index was missing or outdated, made before scanning
    customers: int
    candidate_pairs: int
    pairs: int  # at or above the threshold, inferred ones included
    inferred_pairs: int
    queued_new: int
    queued_updated: int
    previously_decided: int
    dropped: int
    model: MatchModel
    blocking: BlockingStats
    seconds: dict[str, float] = field(default_factory=dict)


def scan_duplicates(
    *,
    threshold: float = REVIEW_THRESHOLD,
    output: Path | None = None,
    queue: bool = True,
    max_block: int = DEFAULT_MAX_BLOCK,
    progress=None,
) -> ScanResult:
    """Scan every customer for duplicates; see the module docstring."""
    seconds: dict[str, float] = {}
    read_from = timezone.now()
    started = time.perf_counter()
    repaired = complete_match_index()
    seconds["indexing"] = time.perf_counter() - started
    started = time.perf_counter()
    records, external_ids, key_hashes, key_positions = indexed_records(progress)
    table = RecordTable(records)
    seconds["reading"] = time.perf_counter() - started

    search = find_duplicates(
        table, key_hashes=key_hashes, key_positions=key_positions, max_block=max_block
    )
    seconds.update(search.seconds)
    started = time.perf_counter()
    search = add_transitive_pairs(search, table, threshold=threshold)
    # Pairs likely without their ID numbers are queued too, even where disagreeing numbers
    # make them unlikely: whoever may not see ID numbers is shown the score without them
    # (``DuplicatePair.score_without_id_number``), and a pair missing from their queue would
    # tell them the numbers disagree. The file has the pairs at or above the threshold.
    likely = search.scores >= threshold
    without_id_numbers = scores_without(search.model, search.scores, search.levels)
    queued = likely | ((without_id_numbers >= threshold) & ~search.inferred)
    search, without_id_numbers = search.where(queued), without_id_numbers[queued]
    reported = search.scores >= threshold
    seconds["transitive"] = time.perf_counter() - started

    ids = np.fromiter((r.ref for r in records), dtype=np.int64, count=len(records))
    left_ids, right_ids = ids[search.left], ids[search.right]
    order = np.lexsort((right_ids, left_ids))
    order = order[reported[order]]
    if output is not None:
        started = time.perf_counter()
        with replaced_on_success(Path(output)) as handle:
            writer = csv.writer(handle)
            writer.writerow(CSV_COLUMNS)
            for i in order:
                writer.writerow(
                    [
                        int(left_ids[i]),
                        int(right_ids[i]),
                        # External ids come from imported files and the API as any text;
                        # the file is for opening in a spreadsheet.
                        neutralise_formula(external_ids[search.left[i]] or ""),
                        neutralise_formula(external_ids[search.right[i]] or ""),
                        f"{search.scores[i]:.6f}",
                    ]
                )
        seconds["writing"] = time.perf_counter() - started

    result = ScanResult(
        indexed=repaired,
        customers=len(records),
        candidate_pairs=search.blocking.candidate_pairs,
        pairs=int(np.count_nonzero(reported)),
        inferred_pairs=int(np.count_nonzero(search.inferred)),
        queued_new=0,
        queued_updated=0,
        previously_decided=0,
        dropped=0,
        model=search.model,
        blocking=search.blocking,
        seconds=seconds,
    )
    started = time.perf_counter()
    with transaction.atomic():
        if queue:
            _update_queue(
                result,
                search,
                left_ids,
                right_ids,
                without_id_numbers=without_id_numbers,
                read_from=read_from,
            )
        people = int(np.count_nonzero(table.columns["party_type"] == "person"))
        MatchModelFit.objects.create(
            parameters={**search.model.to_dict(), "people": people},
            customers=len(records),
            candidate_pairs=search.blocking.candidate_pairs,
            seconds=sum(seconds.values()),
        )
    seconds["queue"] = time.perf_counter() - started
    return result


def _update_queue(
    result: ScanResult, search, left_ids, right_ids, *, without_id_numbers, read_from
) -> None:
    """Bring the review queue in line with the pairs found. ``without_id_numbers`` holds each
    pair's score without the ID numbers' evidence (``matching.model.scores_without``); an
    inferred pair's is worked out from its links' (:func:`_inferred_score`)."""
    if connection.vendor == "postgresql":
        # Other writers of pairs (a merge settling its pairs, an import queueing) wait until
        # this transaction ends; readers do not. SQLite has one writer at a time anyway.
        with connection.cursor() as cursor:
            table = connection.ops.quote_name(DuplicatePair._meta.db_table)
            cursor.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
    existing: dict[tuple[int, int], int] = {}
    queued_since: set[tuple[int, int]] = set()  # after the scan began reading: kept
    decided: set[tuple[int, int]] = set()
    # Pairs a request queued hidden from whoever sees numbers masked (by the number typed on
    # the public form, see ``service.intake._queue_pair``): the scan finds them by that number
    # and, with the name typed to match, as likely as any, so its score without the ID numbers
    # would show them the pair and confirm a number guessed on the form. They stay hidden, and
    # so does a pair the scan infers through one.
    hidden: set[tuple[int, int]] = set()
    for pk, left, right, status, found_at, source, shown in DuplicatePair.objects.values_list(
        "pk", "left_id", "right_id", "status", "found_at", "source", "score_without_id_number"
    ).iterator(chunk_size=20_000):
        if status == DuplicatePair.Status.OPEN:
            existing[(left, right)] = pk
            # A service desk request's pair rests on an address on a ticket, which no scan
            # reads: kept until a person decides it.
            if found_at >= read_from or source == DuplicatePair.Source.INTAKE:
                queued_since.add((left, right))
            if source == DuplicatePair.Source.INTAKE and shown < REVIEW_THRESHOLD:
                hidden.add((left, right))
        else:
            decided.add((left, right))
    found = {}
    blind: dict[tuple[int, int], float] = {}
    for i in range(len(search)):
        pair = (int(left_ids[i]), int(right_ids[i]))
        details = {"fields": rounded_reasons(search.model.explain(search.levels[i]))}
        if search.inferred[i]:
            details["inferred"] = True
        else:
            blind[pair] = 0.0 if pair in hidden else float(without_id_numbers[i])
        found[pair] = (float(search.scores[i]), details)
    inferred = [pair for pair in found if pair not in blind]
    if inferred:
        links: dict[int, list[tuple[int, float]]] = {}
        for (a, b), score in blind.items():
            links.setdefault(a, []).append((b, score))
            links.setdefault(b, []).append((a, score))
        for pair in inferred:
            blind[pair] = _inferred_score(pair, links)
    # Customers changed since the scan read them (a merge moves pairs onto its survivor and
    # sends the other customer to the recycle bin; an import or an edit changes what matches):
    # the scan's view of their pairs is out of date, so their pairs are left as they are now.
    changed_since: set[int] = set()
    deleted_since: set[int] = set()
    for pk, deleted_at in Customer.objects.filter(updated_at__gte=read_from).values_list(
        "pk", "deleted_at"
    ):
        changed_since.add(pk)
        if deleted_at is not None:
            deleted_since.add(pk)
    found = {pair: value for pair, value in found.items() if not deleted_since.intersection(pair)}
    now = timezone.now()
    new, changed = [], []
    for pair, (score, details) in found.items():
        if pair in decided:
            result.previously_decided += 1
        elif pair in existing:
            changed.append(
                DuplicatePair(
                    pk=existing[pair],
                    score=score,
                    score_without_id_number=blind[pair],
                    details=details,
                )
            )
        else:
            new.append(
                DuplicatePair(
                    left_id=pair[0],
                    right_id=pair[1],
                    score=score,
                    score_without_id_number=blind[pair],
                    details=details,
                    source=DuplicatePair.Source.SCAN,
                    status=DuplicatePair.Status.OPEN,
                    found_at=now,
                )
            )
    stale = [
        pk
        for pair, pk in existing.items()
        if pair not in found and pair not in queued_since and not changed_since.intersection(pair)
    ]
    for start in range(0, len(stale), 5000):
        DuplicatePair.objects.filter(pk__in=stale[start : start + 5000]).delete()
    insert(new)
    update(changed, ["score", "score_without_id_number", "details"])
    result.queued_new, result.queued_updated, result.dropped = len(new), len(changed), len(stale)


def _inferred_score(pair: tuple[int, int], links: dict[int, list[tuple[int, float]]]) -> float:
    """An inferred pair's score without the ID numbers: as its score is that of the weakest
    link on its strongest path (``engine.add_transitive_pairs``), this is the same over the
    links' own scores without the ID numbers, so that a chain held together by one shared
    number says no more than that link does. The pair's group is small (eight customers at
    most), and only its links (``links``: each customer's direct pairs, with their scores
    without the ID numbers) are walked."""
    start, goal = pair
    best = {start: 1.0}
    waiting = [(-1.0, start)]
    while waiting:
        width, node = heapq.heappop(waiting)
        width = -width
        if node == goal:
            return width
        if width < best.get(node, 0.0):
            continue
        for other, score in links.get(node, ()):
            through = min(width, score)
            if through > best.get(other, 0.0):
                best[other] = through
                heapq.heappush(waiting, (-through, other))
    return 0.0
