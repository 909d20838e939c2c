"""What the importers of rows that belong to a customer (interactions, orders) share: running
the file batch by batch, finding each row's customer, and the rejected-row record.

A row names its customer by ``customer_external_id`` (followed through merges) or by Guanxi id
``customer_id``; the importing user must have ``customer_action`` on it. Subclasses write one
batch in ``_run_batch``, inside the transaction :meth:`LinkedRowImporter.run` opens for it.
"""

from collections.abc import Callable, Iterable
from itertools import islice

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from guanxi.customers.models import Customer
from guanxi.dedup.selectors import merge_successor

from .customer_import import BATCH_SIZE
from .mapping import ColumnMapping
from .models import ImportJob, ImportRowError
from .readers import SourceRow, TableFile


class LinkedRowImporter:
    customer_action: int  # the visibility level the rows need on their customer

    def __init__(
        self,
        *,
        job: ImportJob,
        table: TableFile,
        mapping: ColumnMapping,
        batch_size: int = BATCH_SIZE,
        progress: Callable[[int], None] | None = None,
    ):
        self.job = job
        self.actor = job.started_by
        self.table = table
        self.mapping = mapping
        self.batch_size = batch_size
        self.progress = progress or (lambda n: None)
        self._dry_run_errors: list[ImportRowError] = []

    def run(self) -> ImportJob:
        job = self.job
        job.status = ImportJob.Status.RUNNING
        job.started_at = job.started_at or timezone.now()
        job.save(update_fields=["status", "started_at"])
        rows = iter(self.table.rows(start_after=job.last_row))
        savepoint_all = transaction.atomic() if job.dry_run else None
        if savepoint_all:
            savepoint_all.__enter__()
        try:
            while batch := list(islice(rows, self.batch_size)):
                with transaction.atomic():
                    self._run_batch(batch)
        finally:
            if savepoint_all:
                transaction.set_rollback(True)
                savepoint_all.__exit__(None, None, None)
                ImportRowError.objects.bulk_create(self._dry_run_errors, batch_size=2000)
        job.status = ImportJob.Status.FINISHED
        job.finished_at = timezone.now()
        job.save()
        return job

    def _run_batch(self, batch: list[SourceRow]) -> None:
        raise NotImplementedError

    def _refused(self, reference: str) -> str:
        """Why a row may not go to the customer it names (one the user may not act on)."""
        raise NotImplementedError

    def _allowed(self, customer_ids: Iterable[int]) -> set[int]:
        """Those of the customers the importing user has ``customer_action`` on."""
        return set(
            Customer.objects.visible_to(self.actor, self.customer_action)
            .filter(pk__in=list(customer_ids))
            .values_list("pk", flat=True)
        )

    def _customers(self, rows: list[dict[str, str]]) -> dict[str, int | str]:
        """Customer by the row's reference ("e:<external id>" or "i:<id>") -> id or reason."""
        external = {r["customer_external_id"] for r in rows if r.get("customer_external_id")}
        ids = {r["customer_id"] for r in rows if r.get("customer_id", "").isdigit()}
        found: dict[str, int | str] = {}
        candidates = Customer.objects.filter(
            Q(external_id__in=external) | Q(pk__in=[int(i) for i in ids if len(i) < 19])
        ).values_list("pk", "external_id", "deleted_at")
        for pk, external_id, deleted_at in candidates:
            target = pk if deleted_at is None else merge_successor(pk)
            if external_id in external:
                found[f"e:{external_id}"] = target or pk
            if str(pk) in ids:
                found[f"i:{pk}"] = target or pk
        allowed = self._allowed(v for v in found.values() if isinstance(v, int))
        for key, value in list(found.items()):
            if value not in allowed:
                found[key] = self._refused(key[2:])
        return found

    def _error(self, source: SourceRow, reasons: list[str]) -> ImportRowError:
        return ImportRowError(
            job=self.job, row_number=source.number, cells=source.cells, reason="; ".join(reasons)
        )
