"""Preparing a customer import's rows ahead of the batch being written, in a second process.

What a row needs before it meets the database — its checks (phone numbers parsed, dates, choices,
custom fields), its duplicate-detection record and blocking keys, its search text — depends on
the row alone. That is about a third of the importer's Python work, and it would otherwise
alternate with the database's work on the batch instead of running beside it: on two cores the
importer waits for PostgreSQL about as long as it computes. So while the importer matches and
writes one batch, a worker process prepares the next ones.

The worker never touches the database. Whatever checking needs from it (custom field
definitions, owners by username) is read by the importing process: the definitions once, with
the :class:`RowContext` the worker is sent, the owners of each batch before the batch is sent.
It is started with ``spawn`` (a fresh interpreter, not a copy of a process holding a database
connection) and only for files of many batches; the first batch is prepared in the importing
process while it starts.
"""

import concurrent.futures
import multiprocessing
import pickle
from collections import deque
from collections.abc import Iterable, Iterator

from django.utils import translation

from guanxi.customers.search import build_search_text
from guanxi.dedup.matching.blocking import record_key_hashes

from . import preparing_worker
from .customer_rows import CustomerRow, RowContext, clean_customer_row
from .mapping import ColumnMapping
from .readers import SourceRow

# A file with fewer rows left than this is prepared in the importing process: starting the
# worker (a second interpreter importing Django and the text libraries) costs about two seconds.
WORKER_ABOVE_ROWS = 10_000
# Batches prepared ahead of the one being written.
AHEAD = 2

Prepared = list[tuple[SourceRow, CustomerRow | list[str]]]


def prepare_rows(
    batch: list[SourceRow], mapping: ColumnMapping, context, *, search_text: bool = False
) -> Prepared:
    """Each row checked — a :class:`CustomerRow`, or the reasons it is rejected — and for a row
    that names no organisation (whose name would come from the database) its record and keys,
    and with ``search_text`` its search text as it stands. Only the worker makes the search
    text ahead: it is wasted on the rows that turn out to update or merge into a customer, which
    costs nothing on the worker's core but would in the importing process."""
    prepared: Prepared = []
    for source in batch:
        if source.problem:
            prepared.append((source, [source.problem]))
            continue
        cleaned = clean_customer_row(source.number, mapping.apply(source.cells), context)
        if isinstance(cleaned, CustomerRow) and not cleaned.organization_external_id:
            cleaned.record = cleaned.match_record()
            cleaned.keys = record_key_hashes(cleaned.record)
            if search_text:
                cleaned.search_text = build_search_text(
                    name=cleaned.scalars["name"],
                    company=cleaned.scalars.get("company", ""),
                    phones=[(p.parsed.e164, p.parsed.display) for p in cleaned.phones],
                    emails=[e["address"] for e in cleaned.emails],
                    tags=cleaned.tags,
                    external_id=cleaned.external_id,
                    person=cleaned.scalars.get("party_type", "person") == "person",
                )
        prepared.append((source, cleaned))
    return prepared


class RowPreparer:
    """Yields ``(batch, prepared rows)`` in file order, preparing ahead in a worker process when
    there are more than ``worker_above`` rows to go (see the module docstring)."""

    def __init__(
        self,
        *,
        mapping: ColumnMapping,
        context: RowContext,
        rows_left: int,
        worker_above: int = WORKER_ABOVE_ROWS,
    ):
        self.mapping = mapping
        self.context = context
        self.use_worker = rows_left > worker_above
        self.pool: concurrent.futures.ProcessPoolExecutor | None = None
        # Owners are one column at most (the mapping refuses a second one).
        self.owner_column = mapping.targets.index("owner") if "owner" in mapping.targets else None

    def __enter__(self) -> "RowPreparer":
        if self.use_worker:
            self.pool = concurrent.futures.ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=preparing_worker.start,
                initargs=(
                    pickle.dumps((self.mapping, self.context)),
                    translation.get_language() or "en",
                ),
            )
        return self

    def __exit__(self, *exc) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)

    def _owners_of(self, batch: list[SourceRow]) -> dict[str, int | str]:
        """The batch's owners by username, looked up here (with the database) for the worker."""
        column = self.owner_column
        if column is None:
            return {}
        names = {s.cells[column].strip() for s in batch if column < len(s.cells)}
        return {name: self.context.owner(name) for name in names if name}

    def batches(self, batches: Iterable[list[SourceRow]]) -> Iterator[tuple[list, Prepared]]:
        if self.pool is None:
            for batch in batches:
                yield batch, prepare_rows(batch, self.mapping, self.context)
            return
        batches = iter(batches)
        first = next(batches, None)
        if first is None:
            return
        ahead: deque = deque()

        def send_next() -> None:
            batch = next(batches, None)
            if batch is not None:
                owners = self._owners_of(batch)
                ahead.append((batch, self.pool.submit(preparing_worker.prepare, batch, owners)))

        for _ in range(AHEAD):
            send_next()
        # The worker is still starting: the first batch is prepared here meanwhile.
        yield first, prepare_rows(first, self.mapping, self.context)
        while ahead:
            batch, future = ahead.popleft()
            prepared = future.result()
            send_next()
            yield batch, prepared
