"""Importing customers from a file, batch by batch.

Every row ends in exactly one outcome:

* **created** — a new customer;
* **updated** — the row's Guanxi id (the export's ``id`` column) names a customer, or its
  external id belongs to a customer already (or to an earlier row of the file): the row's
  non-empty values replace that customer's, and phones, emails, addresses and tags it lacks
  are added. A row that changes nothing is counted as updated and unchanged,
  and writes nothing: importing the same file twice changes nothing the second time (but an ID
  number from an importer who may not see ID numbers in full is always written: see
  ``_apply_scalars``);
* **merged** — with ``--dedup auto``, the row is very probably a customer already there (a score
  of at least ``MERGE_THRESHOLD`` from the duplicate engine): it fills that customer's empty
  fields and adds its contact details;
* **rejected** — with the reasons, each naming its column; the rows go to the error file. An
  updated or merged row is rejected too when its phones, emails, addresses or tags would leave
  the customer more of one of them than a customer may hold (see ``_beyond_list_limits``).
  A merged row refused so (or because its customer went away meanwhile) takes the rows
  following it, by its external id, into no customer: they are rejected with its reason, in
  its batch or a later one.

Rows scoring between the review and the merge threshold are created and the pair is put in the
review queue (with ``--dedup review``, every likely duplicate is). The user must be allowed to
change a customer to update or merge into it; a sure duplicate of someone else's customer is
created and queued for those who may decide.

Each batch is one transaction, together with the job's counters and position: an interrupted
import leaves the database as it was before the batch being written, and resuming carries on
from the first row not yet written, knowing what the rows written before tell the later ones
(see ``_reasons_if_new``), as an uninterrupted import would. Writes are bulk (one INSERT per
table per batch) and every created or changed customer gets its audit row.
"""

import dataclasses
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

import numpy as np
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError, connection, transaction
from django.db.models import CharField, Value
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from guanxi.analytics.services import follow_ups_follow_customers
from guanxi.audit.models import AuditEvent
from guanxi.audit.services import audit_record, audit_record_many, diff_values, summary_fields
from guanxi.audit.summaries import Summary
from guanxi.core.bulk import insert, reserve_ids, update
from guanxi.core.collection import fewer_collections
from guanxi.core.crypto import encrypt_text, lookup_hash
from guanxi.core.locking import key_share_active_users, key_shared
from guanxi.core.masking import NUMBERS_WOULD_BE_LOST, mask_id_number, texts_as_read
from guanxi.core.write_behind import WriteBehind
from guanxi.customers.exports import address_key
from guanxi.customers.models import Address, Customer, Email, Phone, Tag
from guanxi.customers.search import build_search_text
from guanxi.customers.services import (
    CUSTOMER_LOCK_ORDER,
    CUSTOMERS_PER_STATEMENT,
    SENSITIVE_FIELDS,
    blind_id_number_change,
    customer_chunks,
    refresh_people_of,
    search_text_of,
    snapshot_of,
)
from guanxi.customers.validation import MAX_ADDRESSES, MAX_EMAILS, MAX_PHONES, MAX_TAGS
from guanxi.customers.visibility import CHANGE, VIEW, customer_scope
from guanxi.dedup.customer_records import record_for_customer
from guanxi.dedup.keys import rewrite_match_index, stored_match_rows, write_match_index
from guanxi.dedup.matching.blocking import PAIRING_CODES, RULE_CODES, record_key_hashes
from guanxi.dedup.matching.compare import FIELDS, compare_pairs
from guanxi.dedup.matching.engine import MERGE_THRESHOLD, REVIEW_THRESHOLD
from guanxi.dedup.matching.model import rounded_reasons, score_without
from guanxi.dedup.matching.normalize import email_key
from guanxi.dedup.matching.records import (
    PERSON,
    MatchRecord,
    RecordTable,
    match_record,
    table_row,
)
from guanxi.dedup.models import DuplicatePair
from guanxi.dedup.selectors import (
    candidate_ids_by_key,
    current_match_model,
    merge_successors,
    name_counts,
)
from guanxi.service.services import tickets_customers_release

from . import preparing
from .cancelling import stop_if_cancel_requested
from .customer_rows import (
    CustomerRow,
    RowContext,
    kept_owner_of,
    kept_owner_reason,
    parse_guanxi_id,
    required_custom_field_reasons,
    unfilled_required_reasons,
)
from .dry_run import dry_run_database
from .identity import StoredIdentity, row_agrees
from .mapping import ColumnMapping
from .models import ImportJob, ImportRememberedId, ImportRowError
from .preparing import Prepared, RowPreparer, prepare_rows
from .readers import SourceRow, TableFile
from .reasons import Reason, field_reason, joined, reasons_text, stored_reasons

BATCH_SIZE = 2000
# The job's fields a run keeps up to date, batch by batch (a dry run: once, as it ends).
COUNTED = [
    "rows_read",
    "created",
    "updated",
    "merged",
    "rejected",
    "unchanged",
    "queued_for_review",
    "last_row",
]


def importer_deactivated(actor) -> PermissionDenied:
    """How an import stops when whoever started it was deactivated while it ran, in the job's
    language: the job's message, which the job's page shows as it is, and whoever reads it
    may not be the one who left."""
    return PermissionDenied(
        _("%(user)s, who started this import, has been deactivated: the import stopped.")
        % {"user": actor.get_username()}
    )


# How long the comparison rows of stored candidates are reused (see _candidate_rows).
CANDIDATE_CACHE_SECONDS = 60.0
# The customer fields an import may change.
UPDATED_FIELDS = (
    "name",
    "party_type",
    "organization",
    "company",
    "job_title",
    "kind",
    "lifecycle_stage",
    "relationship_level",
    "industry",
    "region",
    "source_channel",
    "owner",
    "birth_date",
    "website",
    "notes",
    "external_id",
    "custom_fields",
    "id_number_encrypted",
    "id_number_masked",
    "id_number_hash",
    "version",
    "updated_at",
)
CREATED, UPDATED, MERGED, REJECTED = "created", "updated", "merged", "rejected"
# The PostgreSQL advisory lock (one-key form) every batch of a customer import holds until it
# commits, so that the batches of imports running at once take turns (see _take_turn).
BATCH_LOCK_KEY = 0x47584349  # "GXCI"


class Interrupted(Exception):
    """Raised out of a dry run to roll everything back."""


class DryRunGaveWay(Exception):
    """A dry run stopped so as not to hold up an import that waits for the rows it wrote."""


@dataclass
class _NewCustomer:
    """A customer this batch creates; later rows of the batch may add to it."""

    row: CustomerRow
    record: MatchRecord
    keys: list[tuple[int, int]]  # (rule, hash) of the record
    absorbed: list[tuple[CustomerRow, bool]] = field(default_factory=list)  # (row, overwrite)
    customer: Customer | None = None
    data: dict[str, Any] = field(default_factory=dict)  # the row and the absorbed ones combined
    # The organisation its row names: a stored one's id, or a customer this batch creates.
    organization: "int | _NewCustomer | None" = None
    company: str = ""  # its organisation's name, else its own company


@dataclass
class _Organisations:
    """The organisations the rows of a batch name by external id: those stored that the user
    can see, and those an earlier row of the batch makes (as in a file listing companies and
    then their people), wherever that row goes — a customer the batch creates, or one it
    merges into. A row naming one of those links to it whatever batch it is in; to none where
    that row is refused as it is written (``unreached``), as in a later batch. So is one made by
    an organisation row of an earlier batch that left no customer with its id (``earlier``):
    the rows naming it are refused as they are matched, as in that row's batch."""

    stored: dict[str, int]  # external id -> customer id
    names: dict[int, str]  # stored organisation id -> name
    rows: dict[str, CustomerRow] = field(default_factory=dict)  # made by a row of the batch
    # Where each of those rows went, once matched; missing when it went into a customer who
    # keeps another external id, so that the id names nothing (as in a later batch).
    homes: dict[str, "int | _NewCustomer"] = field(default_factory=dict)
    named: set[str] = field(default_factory=set)  # the external ids rows of the batch name
    # Those of ``stored`` deleted, merged or given to someone else since they were looked up
    # (see CustomerImporter._locked_customers); no longer in ``stored``.
    gone: set[str] = field(default_factory=set)
    # Those of ``rows`` whose row was refused as it was written into the customer it was
    # matched to (see :meth:`not_reached`); no longer in ``homes``.
    unreached: set[str] = field(default_factory=set)
    # Made by an organisation row of an earlier batch (see CustomerImporter._organisation_rows)
    # that no stored customer has: known, and naming no customer. A person naming one is
    # rejected as in that row's batch, where it leads the rows with its external id (rather
    # than as naming an unknown organisation, which leads none: see process_batch).
    earlier: set[str] = field(default_factory=set)
    # Those of ``rows`` that went into a customer already expected to take the external id of
    # an earlier row of the batch: the customer takes theirs instead if those rows are refused
    # as they are written, as in a later batch (see :meth:`inherit`). Until then the rows
    # naming them link to that customer; they are rejected if it does not take the id.
    heirs: dict[str, "int | _NewCustomer"] = field(default_factory=dict)

    def knows(self, external_id: str) -> bool:
        return external_id in self.stored or external_id in self.rows or external_id in self.earlier

    def resolve(self, external_id: str) -> "int | _NewCustomer | None":
        if external_id in self.stored:
            return self.stored[external_id]
        return self.homes.get(external_id, self.heirs.get(external_id))

    def name_of(self, target: "int | _NewCustomer | None") -> str:
        if isinstance(target, _NewCustomer):
            return (target.data.get("scalars") or target.row.scalars)["name"]
        return self.names.get(target, "") if target is not None else ""

    def name_for_matching(self, external_id: str | None) -> str:
        """The organisation's name, before the batch is matched: a new one's from its row."""
        if not external_id:
            return ""
        if external_id in self.stored:
            return self.names.get(self.stored[external_id], "")
        row = self.rows.get(external_id)
        return row.scalars["name"] if row is not None else ""

    def not_reached(self, row: CustomerRow) -> None:
        """``row`` was refused as it was written. If it makes an organisation and was its home's
        row, it never reached that customer, which does not take its external id: the id names
        no organisation, as it names none for a later batch, and people naming it are not linked
        to that customer."""
        external_id = row.external_id
        if external_id and self.rows.get(external_id) is row and external_id in self.homes:
            del self.homes[external_id]
            self.unreached.add(external_id)

    def inherit(self, taken: Callable[["int | _NewCustomer"], str | None]) -> None:
        """Settle the ``heirs`` once their customers took their rows (``taken``: the external id
        a customer has then, or None where that is not known yet): each becomes its customer's
        organisation where that customer took its id, as where its row comes first; else it
        names none, and the rows naming it are rejected (see ``unreached``)."""
        for external_id, target in self.heirs.items():
            if taken(target) == external_id:
                self.homes[external_id] = target
            else:
                self.unreached.add(external_id)
        self.heirs.clear()

    def missing_reason(self, row: CustomerRow) -> Summary:
        """Why the organisation a row names cannot be linked to."""
        if row.organization_external_id in self.gone:
            return Summary(
                gettext_noop(
                    "organization_external_id: the organisation %(id)s was deleted, merged or "
                    "given to someone else during the import; import this row again"
                ),
                {"id": row.organization_external_id},
            )
        return _no_organisation(row)


@dataclass
class _Change:
    """Rows of this batch that go into one existing customer."""

    customer_id: int
    rows: list[tuple[CustomerRow, bool]] = field(default_factory=list)  # (row, overwrite)


@dataclass
class _StoredDetails:
    """A changed customer's phones, emails and addresses and its tags' names, as stored, each
    in the order its model sorts them (the order ``customer.phones.all()`` gives)."""

    phones: list[Phone] = field(default_factory=list)
    emails: list[Email] = field(default_factory=list)
    addresses: list[Address] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)


def _stored_details(customers: list[Customer]) -> dict[int, _StoredDetails]:
    """The stored details of these customers, by id, in one query a table.

    Not ``prefetch_related``: it gives every customer a queryset of its own for each of the four
    relations to hold the rows, and making those (cloning a query each time) cost the importer
    more of its time than the four queries themselves."""
    by_id = {customer.pk: customer for customer in customers}
    details = {pk: _StoredDetails() for pk in by_id}
    ids = list(by_id)
    for model, name in ((Phone, "phones"), (Email, "emails"), (Address, "addresses")):
        link = model._meta.get_field("customer")
        for item in model.objects.filter(customer_id__in=ids):
            link.set_cached_value(item, by_id[item.customer_id])  # no query to read it back
            getattr(details[item.customer_id], name).append(item)
    tags = (
        Customer.tags.through.objects.filter(customer_id__in=ids)
        .order_by("tag__name")
        .values_list("customer_id", "tag__name")
    )
    for customer_id, name in tags:
        details[customer_id].tags.append(name)
    return details


@dataclass
class BatchResult:
    counts: dict[str, int]
    unchanged: int
    queued: int
    errors: list[ImportRowError]
    # The external ids of the batch's rows that left no customer with them, those of them
    # whose later rows follow a rejected row, with the reason, and those whose rows were merged
    # into a customer, with its id (see _reasons_if_new).
    seen: set[str] = field(default_factory=set)
    followed: dict[str, Reason] = field(default_factory=dict)
    merged_into: dict[str, int] = field(default_factory=dict)
    # Those of ``seen`` whose first row to be matched made an organisation.
    organisation_rows: set[str] = field(default_factory=set)


def batched(rows: Iterable[SourceRow], size: int) -> Iterator[list[SourceRow]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


class CustomerImporter:
    """Runs one customer import job over its file (see the module docstring)."""

    def __init__(
        self,
        *,
        job: ImportJob,
        table: TableFile,
        mapping: ColumnMapping,
        batch_size: int = BATCH_SIZE,
        progress: Callable[[int], None] | None = None,
        worker_above: int | None = None,
    ):
        self.job = job
        # Rows left above which a worker process prepares the rows (see ``preparing``).
        self.worker_above = preparing.WORKER_ABOVE_ROWS if worker_above is None else worker_above
        self.actor = job.started_by
        self.table = table
        self.mapping = mapping
        self.batch_size = batch_size
        self.progress = progress or (lambda n: None)
        self.context = RowContext(self.actor)
        # Whether the file has a Guanxi id column: only then are its rows' ids looked up.
        self.reads_guanxi_ids = "guanxi_id" in mapping.targets
        # Whether rows are matched to customers on their ID numbers (see _match).
        self.compares_id_numbers = self.actor.may_view_sensitive()
        self.model, self.people = current_match_model()
        self._tags: dict[str, int] = {}
        self._changeable_cache: set[int] = set()
        # Whether the importer may change a customer of a user who may only keep theirs, by id
        # (see _reasons_if_new).
        self._owns_changeable: dict[int, bool] = {}
        self._dry_run_errors: list[ImportRowError] = []
        # The external ids of the earlier batches' rows that left no customer with them, the
        # reasons the later rows following a rejected one get, and the customers the later rows
        # following a merged one go into (see _reasons_if_new).
        self._seen: set[str] = set()
        self._followed: dict[str, Reason] = {}
        self._merged_into: dict[str, int] = {}
        # Those of them whose first row to be matched made an organisation: a person of a later
        # batch naming one is rejected as in its batch (see _Organisations.earlier).
        self._organisation_rows: set[str] = set()
        self._holding_turn = False  # a dry run's batch lock (see _take_dry_run_turn)
        self._name_count_cache: dict[str, int] = {}
        # Stored candidates' comparison rows, kept from batch to batch (see _candidate_rows).
        self._candidate_cache: dict[int, tuple] = {}
        self._candidate_cache_started = time.monotonic()
        self.seconds: dict[str, float] = defaultdict(float)

    # --- running ---------------------------------------------------------------------------

    def run(self) -> ImportJob:
        with fewer_collections():
            return self._run()

    def _run(self) -> ImportJob:
        job = self.job  # claimed as running by import_job_run
        if not job.dry_run:
            # What the batches written before an interruption remembered (none for a new job),
            # read a chunk at a time: a big file may have left many.
            self._remember(
                ImportRememberedId.objects.filter(job=job)
                .order_by("pk")
                .values_list("external_id", "reason", "customer_id", "organisation")
                .iterator(chunk_size=2000)
            )
        rows = self.table.rows(start_after=job.last_row)
        preparer = RowPreparer(
            mapping=self.mapping,
            context=self.context,
            rows_left=(job.total_rows or 0) - job.rows_read,
            worker_above=self.worker_above,
        )
        if job.dry_run:
            try:
                # On SQLite against a copy, so as not to keep every other writer waiting
                # for the whole file (see ``dry_run``).
                with dry_run_database(), transaction.atomic(), preparer:
                    for batch, prepared in self._prepared_batches(preparer, rows):
                        # Stopped, it is cancelled with nothing kept, as all it wrote is undone.
                        stop_if_cancel_requested(job)
                        self._run_batch(batch, prepared)
                        self._end_dry_run_turn()
                    raise Interrupted
            except Interrupted:
                pass
            finally:
                # After a batch that failed, once its transaction has rolled back.
                self._end_dry_run_turn()
            # The counts of the rolled-back run are what the real import would do; its rejected
            # rows are kept, for the error file.
            ImportRowError.objects.bulk_create(self._dry_run_errors, batch_size=2000)
            job.status = ImportJob.Status.FINISHED
            job.finished_at = timezone.now()
            # Only what the run owns: a request to stop that came after the last batch stays
            # recorded (the whole row from memory would write its time and asker back empty).
            job.save(update_fields=["status", "finished_at", *COUNTED])
            return job
        with preparer:
            for batch, prepared in self._prepared_batches(preparer, rows):
                # Between batches, so that a stopped import has written whole batches only.
                stop_if_cancel_requested(job)
                with transaction.atomic():
                    self._run_batch(batch, prepared)
                    started = time.perf_counter()
                self.seconds["committing"] += time.perf_counter() - started
        # In one transaction, as a cancel or a discard ends a job: a finished job never keeps
        # the ids remembered for a resume (only a resume reads them, and a finished import is
        # not resumed), nor goes without its audit row.
        with transaction.atomic():
            job.status = ImportJob.Status.FINISHED
            job.finished_at = timezone.now()
            job.save(update_fields=["status", "finished_at"])
            ImportRememberedId.objects.filter(job=job).delete()
            self._audit_summary()
        return job

    def _timed_batches(self, rows: Iterable[SourceRow]) -> Iterator[list[SourceRow]]:
        batches = batched(rows, self.batch_size)
        while True:
            started = time.perf_counter()
            batch = next(batches, None)
            self.seconds["reading"] += time.perf_counter() - started
            if batch is None:
                return
            yield batch

    def _prepared_batches(
        self, preparer: RowPreparer, rows: Iterable[SourceRow]
    ) -> Iterator[tuple[list[SourceRow], Prepared]]:
        """The batches with their rows checked; the time spent checking them here, or waiting
        for the worker that checks them, counts as checking."""
        batches = preparer.batches(self._timed_batches(rows))
        while True:
            started, reading = time.perf_counter(), self.seconds["reading"]
            item = next(batches, None)
            waited = time.perf_counter() - started - (self.seconds["reading"] - reading)
            self.seconds["checking"] += waited
            if item is None:
                return
            yield item

    def _run_batch(self, batch: list[SourceRow], prepared: Prepared | None = None) -> None:
        result = self.process_batch(batch, prepared)
        job = self.job
        job.rows_read += len(batch)
        job.created += result.counts[CREATED]
        job.updated += result.counts[UPDATED]
        job.merged += result.counts[MERGED]
        job.rejected += result.counts[REJECTED]
        job.unchanged += result.unchanged
        job.queued_for_review += result.queued
        job.last_row = batch[-1].number
        # An id seen in an earlier batch is written again where its first row to be matched is
        # in this one: with the reason it was rejected with, or the customer it went into.
        remembered = [
            ImportRememberedId(
                job=job,
                external_id=external_id,
                reason=_stored_reason(result.followed[external_id])
                if external_id in result.followed
                else None,
                customer_id=result.merged_into.get(external_id),
                organisation=external_id in result.organisation_rows,
            )
            for external_id in sorted(result.seen | set(result.followed))
            if external_id not in self._seen
            or external_id in result.followed
            or external_id in result.merged_into
            or external_id in result.organisation_rows
        ]
        self._seen |= result.seen | set(result.followed)
        self._followed.update(result.followed)
        self._merged_into.update(result.merged_into)
        self._organisation_rows |= result.organisation_rows
        if job.dry_run:
            # Kept here and written as it ends: on PostgreSQL, writing the job's row in the dry
            # run's transaction would lock it to the end, and a request to stop would wait
            # for the whole file instead of stopping it.
            self._dry_run_errors += result.errors
        else:
            ImportRowError.objects.bulk_create(result.errors)
            # With the batch, so that a resumed import knows them as an uninterrupted one does.
            ImportRememberedId.objects.bulk_create(remembered, batch_size=2000)
            job.save(update_fields=COUNTED)
        self.progress(len(batch))

    def _remember(self, remembered: Iterable[tuple[str, Any, int | None, bool]]) -> None:
        """Take back what the batches written before remembered: ``ImportRememberedId``'s
        external id, reason, customer and whether its row made an organisation, in the order
        they were written (an id written again by a later batch: its later row last)."""
        for external_id, reason, customer_id, organisation in remembered:
            self._seen.add(external_id)
            if reason is not None:
                self._followed[external_id] = _reason_from(reason)
            if customer_id is not None:
                self._merged_into[external_id] = customer_id
            if organisation:
                self._organisation_rows.add(external_id)

    def _take_dry_run_turn(self) -> None:
        """Take turns with the imports running at once, as their batches do, for this batch only.

        A dry run is one transaction, so the transaction-level lock real batches take would be
        held to its end, keeping every other customer import waiting for the whole file. What
        the lock is for (a batch sees the customers of the batches before it) needs it only
        while a batch looks up and writes; what a dry run writes is never committed, so nobody
        waits for it afterwards. It holds the session-level form for one batch instead.

        Rows it wrote stay locked to its end: an import writing the same customers waits for
        them, holding its turn, so the dry run can never have its next one. Rather than wait
        for each other (and have the database cancel one of them, perhaps the real import),
        the dry run gives way."""
        if connection.vendor != "postgresql":
            return  # SQLite: one writer at a time already (see _take_turn)
        with connection.cursor() as cursor:
            while True:
                cursor.execute("SELECT pg_try_advisory_lock(%s)", [BATCH_LOCK_KEY])
                if cursor.fetchone()[0]:
                    self._holding_turn = True
                    return
                cursor.execute(
                    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' "
                    "AND granted AND classid = 0 AND objid = %s::bigint::oid AND objsubid = 1 "
                    "AND database = (SELECT oid FROM pg_database "
                    "WHERE datname = current_database()) "
                    "AND pg_backend_pid() = ANY(pg_blocking_pids(pid)))",
                    [BATCH_LOCK_KEY],
                )
                if cursor.fetchone()[0]:
                    raise DryRunGaveWay(
                        _(
                            "The dry run stopped so as not to hold up an import writing the "
                            "same customers; run it again once that import has finished."
                        )
                    )
                time.sleep(0.05)

    def _end_dry_run_turn(self) -> None:
        if not self._holding_turn:
            return
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [BATCH_LOCK_KEY])
        except DatabaseError:
            # In a transaction that failed: let go as soon as it has rolled back.
            return
        self._holding_turn = False

    def _audit_summary(self) -> None:
        job = self.job
        audit_record(
            actor=self.actor,
            action=AuditEvent.Action.IMPORT,
            object_type="import",
            object_id=job.pk,
            summary=Summary(
                gettext_noop("%(rows)d rows imported from %(file)s"),
                {"rows": job.rows_read, "file": job.filename},
            ),
            changes={
                name: {"before": None, "after": getattr(job, name)}
                for name in ("rows_read", "created", "updated", "merged", "rejected")
            },
        )

    # --- one batch -------------------------------------------------------------------------

    def process_batch(
        self, batch: list[SourceRow], prepared: Prepared | None = None
    ) -> BatchResult:
        """Check (unless ``prepared`` holds the checked rows already), match and write a batch."""
        started = time.perf_counter()
        counts = dict.fromkeys((CREATED, UPDATED, MERGED, REJECTED), 0)
        errors: list[ImportRowError] = []
        # The rows' external ids by row number, and those of them left with no customer, for
        # the later batches (see _reasons_if_new).
        external_id_at: dict[int, str] = {}
        seen: set[str] = set()
        followed: dict[str, Reason] = {}
        # Where the rows of the batch with an external id that were merged went: a stored
        # customer's id, or a customer the batch creates.
        merged_into: dict[str, int | _NewCustomer] = {}

        def reject(source: SourceRow, reasons: list[Reason]) -> None:
            counts[REJECTED] += 1
            external_id = external_id_at.get(source.number)
            if external_id and external_id not in by_external_id:  # no customer has it
                seen.add(external_id)
            errors.append(
                ImportRowError(
                    job=self.job,
                    row_number=source.number,
                    cells=source.cells,
                    reason=reasons_text(reasons, self.mapping),
                    reasons=stored_reasons(reasons, self.mapping),
                )
            )

        if prepared is None:
            prepared = prepare_rows(batch, self.mapping, self.context)
            self.seconds["checking"] += time.perf_counter() - started
        rows: list[tuple[SourceRow, CustomerRow]] = []
        failed: list[tuple[SourceRow, list[Reason], str | None, int | None]] = []
        failed_cells: dict[int, dict[str, str]] = {}
        for source, cleaned in prepared:
            if isinstance(cleaned, list):
                # Rejected once it is known whether its external id (or Guanxi id) names a
                # customer the user may not change: then that is why, not the cells (a rep
                # re-importing a colleague's customer with its owner was told they may not
                # assign it).
                cells = {} if source.problem else self.mapping.apply(source.cells)
                guanxi_id = parse_guanxi_id(cells["guanxi_id"]) if "guanxi_id" in cells else None
                failed.append(
                    (source, cleaned, cells.get("external_id", "").strip() or None, guanxi_id)
                )
                failed_cells[source.number] = cells
            else:
                rows.append((source, cleaned))
        sources = {row.number: source for source, row in rows}
        for source, row in rows:
            if row.external_id:
                external_id_at[source.number] = row.external_id
        for source, _reasons, external_id, _guanxi_id in failed:
            if external_id:
                external_id_at[source.number] = external_id

        started = time.perf_counter()
        if self.job.dry_run:
            self._take_dry_run_turn()
        else:
            _take_turn()
        self._lock_owners([row for _s, row in rows])
        by_external_id = self._existing_by_external_id(
            [*(r.external_id for _s, r in rows), *(e for _s, _r, e, _g in failed)]
        )
        by_guanxi_id: dict[int, int | Summary] = {}
        external_ids_of: dict[int, str | None] = {}
        names_of: dict[int, tuple[str, bool]] = {}
        if self.reads_guanxi_ids:
            by_guanxi_id, external_ids_of, names_of = self._existing_by_guanxi_id(
                self.actor, [*(r.guanxi_id for _s, r in rows), *(g for _s, _r, _e, g in failed)]
            )
        organisations = self._organisations(r.organization_external_id for _s, r in rows)
        merged_before = self._merged_into_now(r.external_id for _s, r in rows)
        changeable = self._changeable(
            [v for v in [*by_external_id.values(), *by_guanxi_id.values()] if isinstance(v, int)]
        )
        named = (by_guanxi_id.get(r.guanxi_id) for _s, r in rows if r.guanxi_id is not None)
        identities = self._stored_identities(
            # Ids only: a reason (why a row's id cannot be used) is no key of a set.
            {pk for pk in named if isinstance(pk, int) and pk in changeable},
            external_ids_of,
            names_of,
        )
        file_rows = _ByExternalId(rows, failed) if failed else None
        for source, reasons, external_id, guanxi_id in failed:
            existing = by_external_id.get(external_id) if external_id else None
            if isinstance(existing, int) and existing not in changeable:
                reasons = [_not_yours(external_id)]
            elif guanxi_id is not None:
                target = by_guanxi_id.get(guanxi_id) or _no_such_guanxi_id(guanxi_id)
                if isinstance(target, Reason):
                    reasons = [target]
                elif target not in changeable:
                    reasons = [_not_yours_by_guanxi_id(guanxi_id)]
            elif existing is None:
                cells = failed_cells[source.number]
                reasons = [*reasons, *self._reasons_if_new(source, cells, file_rows)]
            reject(source, reasons)
        new: list[_NewCustomer] = []
        changes: dict[int, _Change] = {}
        to_match: list[tuple[SourceRow, CustomerRow]] = []
        # A later row with the external id of an earlier row of the batch that is still to be
        # matched follows it, as an update, wherever it goes.
        leaders: dict[str, CustomerRow] = {}
        followers: dict[int, list[CustomerRow]] = defaultdict(list)

        def update(customer_id: int, row: CustomerRow) -> None:
            """Send a row into a stored customer as an update, after the rows before it."""
            changes.setdefault(customer_id, _Change(customer_id)).rows.append((row, True))
            counts[UPDATED] += 1

        for source, row in rows:
            if row.organization_external_id:
                if not organisations.knows(row.organization_external_id):
                    reject(source, [_no_organisation(row)])
                    continue
                organisations.named.add(row.organization_external_id)
            if row.guanxi_id is not None:
                target = self._guanxi_id_target(
                    row,
                    by_guanxi_id,
                    external_ids_of,
                    by_external_id,
                    leaders,
                    changeable,
                    identities,
                )
                if isinstance(target, Reason):
                    reject(source, [target])
                    continue
                # A second row of the file naming the same customer updates it after the first.
                update(target, row)
                continue
            external_id = row.external_id
            if external_id and external_id in leaders:
                followers[leaders[external_id].number].append(row)
                counts[UPDATED] += 1
                continue
            existing = by_external_id.get(external_id) if external_id else None
            if isinstance(existing, Reason):
                reject(source, [field_reason("external_id", existing)])
                continue
            if existing is not None:
                if existing not in changeable:
                    reject(source, [_not_yours(external_id)])
                    continue
                update(existing, row)
                continue
            if external_id in self._followed:
                # It follows the rejected first row of an earlier batch with its id, as a row of
                # that batch would have (see below).
                reject(source, [self._followed[external_id]])
                continue
            if external_id in merged_before:
                # It follows the first row of an earlier batch with its id into the customer that
                # row was merged into, who keeps another id, as a row of that batch would have:
                # there, the followers of a row merged into a stored customer go into it with it
                # (below), and those of one merged into a new customer, once it is stored.
                update(merged_before[external_id], row)
                continue
            if external_id:
                leaders[external_id] = row
                if row.scalars.get("party_type") == Customer.PartyType.ORGANIZATION:
                    organisations.rows[external_id] = row
            to_match.append((source, row))
        self.seconds["resolving"] += time.perf_counter() - started

        started = time.perf_counter()
        decisions, table_rows = self._match(to_match, organisations)
        self.seconds["matching"] += time.perf_counter() - started
        started = time.perf_counter()
        queue: list[tuple[_NewCustomer, int | _NewCustomer, float, list]] = []

        def unlink(row: CustomerRow, outcome: str, reason: Reason) -> None:
            """Take back a row's outcome and reject it. A created or merged row with an external
            id leads the rows with it: they are rejected with it (those of its batch still to be
            applied: see ``refused_with_lead``), rather than going into the customer it never
            reached, or the one that went into since."""
            counts[outcome] -= 1
            reject(sources[row.number], [reason])
            if outcome in (CREATED, MERGED):
                lead_rejected(row, reason)

        def lead_rejected(row: CustomerRow, reason: Reason) -> None:
            """Remember the reason a rejected row's followers get, for the later batches' rows
            with its id, which would have followed it in its batch."""
            if row.external_id and leaders.get(row.external_id) is row:
                followed[row.external_id] = reason

        # Rows of this batch created before a row are candidates too: every earlier row sharing
        # a key is scored at once, and the decisions below look only at those created.
        earlier = self._earlier_in_batch([(d[0], d[1]) for d in decisions], table_rows)
        created_by_position: dict[int, _NewCustomer] = {}
        # The stored external ids of the customers rows may merge into, where a row making an
        # organisation of the batch may: whether that customer takes the row's external id.
        stored_ids = self._external_ids_of_merge_targets(decisions, organisations)
        given_ids: set[int] = set()  # those of them given one by an earlier row
        for position, (
            (source, row),
            (record, keys, best_id, best_score, explanation),
        ) in enumerate(zip(to_match, decisions, strict=True)):
            updates = [(follower, True) for follower in followers.get(row.number, [])]
            organization = None
            if row.organization_external_id:
                organization = organisations.resolve(row.organization_external_id)
                if organization is None:  # its row went into a customer with another id
                    reject(source, [_no_organisation(row)])
                    lead_rejected(row, _no_organisation(row))
                    for follower, _overwrite in updates:
                        unlink(follower, UPDATED, _no_organisation(row))
                    continue
            makes_organisation = organisations.rows.get(row.external_id or "") is row
            batch_best, batch_score, batch_explanation = earlier.best(position, created_by_position)
            in_batch = batch_best is not None and batch_score > best_score
            auto = self.job.dedup == ImportJob.Dedup.AUTO
            if in_batch and auto and batch_score >= MERGE_THRESHOLD:
                batch_best.absorbed += [(row, False), *updates]
                counts[MERGED] += 1
                if row.external_id:
                    seen.add(row.external_id)  # perhaps not the id of the customer it went into
                    merged_into[row.external_id] = batch_best
                if makes_organisation and _external_id_of(batch_best) == row.external_id:
                    organisations.homes[row.external_id] = batch_best
                elif makes_organisation and not batch_best.row.external_id:
                    organisations.heirs[row.external_id] = batch_best
                continue
            if (
                best_id is not None
                and self.job.dedup == ImportJob.Dedup.AUTO
                and best_score >= MERGE_THRESHOLD
                and best_id in self._changeable_cache
            ):
                changes.setdefault(best_id, _Change(best_id)).rows += [(row, False), *updates]
                counts[MERGED] += 1
                if row.external_id:
                    seen.add(row.external_id)  # perhaps not the id of the customer it went into
                    merged_into[row.external_id] = best_id
                takes_id = best_id in stored_ids and not stored_ids[best_id]
                if row.external_id and takes_id and best_id not in given_ids:
                    given_ids.add(best_id)
                    if makes_organisation:
                        organisations.homes[row.external_id] = best_id
                elif row.external_id and takes_id and makes_organisation:
                    organisations.heirs[row.external_id] = best_id
                continue
            missing = required_custom_field_reasons(row, [follower for follower, _ in updates])
            owner_reason = kept_owner_reason(row, None)
            if owner_reason is not None:
                missing = [owner_reason, *missing]
            if missing:
                # Only a new customer must fill the required custom fields, and have an owner
                # who may be given customers (see CustomerRow).
                reject(source, missing)
                lead_rejected(row, missing[0])
                for follower, _overwrite in updates:
                    unlink(follower, UPDATED, missing[0])
                continue
            created = _NewCustomer(
                row=row, record=record, keys=keys, absorbed=updates, organization=organization
            )
            new.append(created)
            counts[CREATED] += 1
            created_by_position[position] = created
            if makes_organisation:
                organisations.homes[row.external_id] = created
            if in_batch and batch_score >= REVIEW_THRESHOLD:
                queue.append((created, batch_best, batch_score, batch_explanation))
            elif best_id is not None and best_score >= REVIEW_THRESHOLD:
                queue.append((created, best_id, best_score, explanation))
        # Each customer takes its rows in the file's order, as batches of one row would give
        # them: the rows naming it were gathered before those merged into it and their
        # followers, and a merged row's followers before the rows merged after it.
        for change in changes.values():
            change.rows.sort(key=lambda item: item[0].number)
        for item in new:
            item.absorbed.sort(key=lambda absorbed: absorbed[0].number)

        self.seconds["matching within the file"] += time.perf_counter() - started

        # Everything the writing needs from the database is read first; then the rows are
        # built while a second thread writes what is ready (see ``guanxi.core.write_behind``).
        started = time.perf_counter()
        changing = self._locked_customers(organisations, changes)
        stored = _stored_details(changing)
        for lost in set(changes) - {customer.pk for customer in changing}:
            # Deleted, merged away or given to someone else since the batch was matched: its
            # rows are rejected, to be imported again, rather than written where they may not go.
            for row, overwrite in changes.pop(lost).rows:
                by_id = by_external_id.get(row.external_id or "") == lost
                unlink(
                    row, UPDATED if overwrite else MERGED, _gone_reason(row, by_external_id=by_id)
                )
            # An organisation row of the batch that went into it took it as its home: people
            # naming that organisation cannot be linked to it either.
            for external_id, home in list(organisations.homes.items()):
                if home == lost:
                    del organisations.homes[external_id]
                    organisations.gone.add(external_id)
            for external_id, home in list(organisations.heirs.items()):
                if home == lost:
                    del organisations.heirs[external_id]
                    organisations.gone.add(external_id)
        if organisations.gone:
            new, queue = self._without_gone_organisations(new, queue, organisations, unlink)
        # Organisations with people — stored, or linked by rows of this batch — stay
        # organisations (customer_update's rule; a person with people would be nonsense).
        with_people = self._with_people(changing, changes)
        new_with_people: set[int] = set()  # by their rows' numbers
        # People naming an organisation row held as a possible home of its id have people
        # only once that customer took the id (see _OrganisationRules._has_people): otherwise
        # they are rejected, and a row of the batch turning it into a person is not refused
        # for them, as in a later batch.
        heirs_people: dict[tuple, set[str]] = defaultdict(set)  # by _heir_key
        for external_id in organisations.named:
            target = organisations.resolve(external_id)
            if external_id in organisations.heirs:
                heirs_people[_heir_key(target)].add(external_id)
            elif isinstance(target, _NewCustomer):
                new_with_people.add(target.row.number)
            elif target is not None:
                with_people.add(target)
        new_ids = reserve_ids(Customer, len(new)) if connection.vendor == "postgresql" else []
        self._tag_ids(
            {
                tag
                for rows in [
                    *([item.row, *(r for r, _o in item.absorbed)] for item in new),
                    *([r for r, _o in change.rows] for change in changes.values()),
                ]
                for row in rows
                for tag in row.tags
            }
        )
        self.seconds["reading for writing"] += time.perf_counter() - started

        def refuse(row: CustomerRow, overwrite: bool, reason: Reason) -> None:
            """Reject a row found, as it is applied, to break a rule about organisations (or
            any other that refuses it as it is applied: a limit, its owner, its first row)."""
            unlink(row, UPDATED if overwrite else MERGED, reason)
            organisations.not_reached(row)

        def lead_refused(row: CustomerRow) -> Reason | None:
            """The reason the row of this batch that ``row`` follows was rejected with, once
            matched (it was merged into a customer it would take past a limit, say); None when
            it was not, or ``row`` follows none."""
            external_id = row.external_id
            if external_id in followed and leaders.get(external_id) is not row:
                return followed[external_id]
            return None

        rules = _OrganisationRules(
            organisations, with_people, new_with_people, refuse, lead_refused, heirs_people
        )
        with WriteBehind() as writes:
            # The customers organisation rows of the batch went into take those rows first:
            # whether each row reaches its customer (within the limits, say) is then known
            # before any person naming it is linked to that customer (not_reached).
            started = time.perf_counter()
            new_homes, homes, changing = self._homes_first(new, changing, changes, organisations)
            for item in new_homes:
                item.data = _combine(item, rules)
            unchanged, renamed = self._change(homes, stored, changes, rules, writes)
            # Which of the organisation rows that came after another into the same customer
            # gave it their external id (those before them refused), before anyone is linked.
            taken = {customer.pk: customer.external_id for customer in homes}
            organisations.inherit(
                lambda target: (
                    target.data.get("external_id")
                    if isinstance(target, _NewCustomer)
                    else taken.get(target)
                )
            )
            if organisations.unreached:
                new, queue = self._without_gone_organisations(new, queue, organisations, unlink)
                new_ids = new_ids[: len(new)]  # those left over are never used
            self.seconds["updating"] += time.perf_counter() - started
            started = time.perf_counter()
            self._create(new, rules, new_ids, writes)
            self.seconds["creating"] += time.perf_counter() - started
            started = time.perf_counter()
            unchanged_too, renamed_too = self._change(changing, stored, changes, rules, writes)
            unchanged, renamed = unchanged + unchanged_too, renamed | renamed_too
            self.seconds["updating"] += time.perf_counter() - started
            started = time.perf_counter()
            queued = self._queue(queue, writes)
            self.seconds["queueing"] += time.perf_counter() - started
            started = time.perf_counter()
            writes.wait()
            self.seconds["waiting for the writes"] += time.perf_counter() - started
            if renamed:
                # Once the batch's writes are done, so the people are read as it left them
                # (those it created or changed included).
                started = time.perf_counter()
                for person_id in refresh_people_of(renamed):
                    self._candidate_cache.pop(person_id, None)
                self.seconds["reindexing people of renamed organisations"] += (
                    time.perf_counter() - started
                )
        return BatchResult(
            counts=counts,
            unchanged=unchanged,
            queued=queued,
            errors=errors,
            seen=seen,
            followed=followed,
            organisation_rows=seen & set(organisations.rows),
            # A new customer by the id it was given; none where the merged row was rejected
            # after all (the customer gone, not created as its organisation is, or refused the
            # row as it was applied): the later rows follow it with its reason instead.
            merged_into={
                external_id: target.customer.pk if isinstance(target, _NewCustomer) else target
                for external_id, target in merged_into.items()
                if external_id not in followed
                and (not isinstance(target, _NewCustomer) or target.customer is not None)
            },
        )

    def _reasons_if_new(
        self, source: SourceRow, cells: dict[str, str], file_rows: "_ByExternalId"
    ) -> list[Reason]:
        """What else refuses a row rejected for its cells, where that is certain without
        matching it: the checks put off until the importer knows where a row goes (see
        ``CustomerRow``), which bind a row making a new customer. So that the user learns them
        with the rest, instead of after putting those right and importing again.

        Only a row that cannot update a customer — no Guanxi id, and an external id (if any)
        that no stored customer has (the caller's ``existing is None``) and no earlier row of
        the file, which it would follow — is sure to make a new customer. An earlier row of its
        batch is found among the batch's rows; one of an earlier batch that left no customer
        with the id (rejected, or merged into a customer with another) is remembered, for the
        whole file, in ``_seen``: a set of ids, small beside the rows. So is the reason a row of
        an earlier batch that the later rows with its id follow was rejected with, once matched
        (``_followed``): those rows are rejected with it, as in its batch, rather than making
        the customer it did not; and the customer a row of an earlier batch was merged into
        (``_merged_into``): the later rows with its id go into that customer as updates, as in
        its batch, rather than being matched on their own. Where the batches end thus changes
        neither what a row is told nor what it does. All three are written with each batch
        (``ImportRememberedId``), so that a resumed import reads them back and goes on as an
        uninterrupted one would.

        Not remembered: the custom fields that later rows with the id fill (``filled``) are
        looked for in the row's batch only, as the rows after it are not read yet.

        A row sure to make a new customer might still, with ``--dedup auto``, have merged into
        a stored customer as a sure duplicate, which keeps its own custom fields and owner:
        that cannot be told without matching the row, which a rejected row is not (its cells
        may be what it would match on). So with ``auto`` the required fields are not named,
        and the owner only when they own no customer the importer may change, the only ones a
        row merges into."""
        if "guanxi_id" in cells:
            return []
        external_id = cells.get("external_id", "").strip()
        if external_id and (
            file_rows.first[external_id] < source.number or external_id in self._seen
        ):
            return []
        reasons: list[Reason] = []
        owner = kept_owner_of(cells, self.context)
        auto = self.job.dedup == ImportJob.Dedup.AUTO
        if owner is not None and not (auto and self._owns_changeable_customers(owner.user_id)):
            reasons.append(field_reason("owner", owner.reason))
        if not auto:
            # The later rows of the batch with its external id would follow it into the new
            # customer and may fill what it leaves empty.
            filled = file_rows.filled.get(external_id, set())
            reasons += unfilled_required_reasons(cells, self.context, filled=filled)
        return reasons

    def _merged_into_now(self, external_ids: Iterable[str | None]) -> dict[str, int]:
        """The customers the rows of earlier batches with these external ids were merged into,
        as ``_merged_into`` remembers them (see :meth:`_reasons_if_new`), each one merged away
        since standing for the one it was merged into, as for a stored external id. Whether
        the importer may still change them is asked as the batch locks them
        (:meth:`_locked_customers`), as for the customers rows are merged into."""
        remembered = {e: self._merged_into[e] for e in external_ids if e in self._merged_into}
        if not remembered:
            return {}
        successors = merge_successors(set(remembered.values()))
        return {e: successors.get(pk, pk) for e, pk in remembered.items()}

    def _owns_changeable_customers(self, owner_id: int) -> bool:
        """Whether ``owner_id`` owns a customer the importer may change (one a row may merge
        into and keep that owner). Asked once an import: it only decides what else a rejected
        row is told."""
        if owner_id not in self._owns_changeable:
            self._owns_changeable[owner_id] = (
                Customer.objects.visible_to(self.actor, CHANGE).filter(owner_id=owner_id).exists()
            )
        return self._owns_changeable[owner_id]

    # --- looking things up -----------------------------------------------------------------

    @staticmethod
    def _existing_by_external_id(external_ids: Iterable[str | None]) -> dict[str, Any]:
        """External id -> customer id, or the reason it cannot be used (a deleted customer).
        A customer merged away stands for the one it was merged into. (The check of the first
        rows finds them so too: see ``owner_check``.)"""
        wanted = {e for e in external_ids if e}
        found: dict[str, Any] = {}
        if not wanted:
            return found
        rows = Customer.objects.filter(external_id__in=wanted).values_list(
            "pk", "external_id", "deleted_at"
        )
        rows = list(rows)
        # The customers merged away that rows name, looked up together.
        successors = merge_successors(pk for pk, _e, deleted_at in rows if deleted_at is not None)
        for pk, external_id, deleted_at in rows:
            if deleted_at is None:
                found[external_id] = pk
                continue
            successor = successors.get(pk)
            found[external_id] = successor or _in_recycle_bin(external_id)
        return found

    @staticmethod
    def _existing_by_guanxi_id(
        actor, guanxi_ids: Iterable[int | None]
    ) -> tuple[dict[int, int | Summary], dict[int, str | None], dict[int, tuple[str, bool]]]:
        """Guanxi id -> the id of the customer a row naming it updates, or why it cannot; and
        those customers' external ids, and names with whether each is an organisation's. Only
        customers the user may see are found, so the reason for one they may not see is that for
        an id no customer has: the import never tells whether an id exists. A customer merged
        away stands for the one it was merged into; one in the recycle bin that the user would
        see is refused saying so. Whether the user may change them is asked with the rest
        (``_changeable``)."""
        wanted = {g for g in guanxi_ids if g is not None}
        found: dict[int, int | Summary] = {}
        external_ids: dict[int, str | None] = {}
        names: dict[int, tuple[str, bool]] = {}
        if not wanted:
            return found, external_ids, names
        seen = Customer.objects.filter(
            customer_scope(actor, VIEW, deleted=True), pk__in=wanted
        ).values_list("pk", "deleted_at", "external_id", "name", "party_type")
        seen = list(seen)
        successors = merge_successors(pk for pk, deleted_at, *_rest in seen if deleted_at)
        merged: dict[int, int] = {}
        for pk, deleted_at, external_id, name, party_type in seen:
            if deleted_at is None:
                found[pk] = pk
                external_ids[pk] = external_id
                names[pk] = (name, party_type == Customer.PartyType.ORGANIZATION)
                continue
            successor = successors.get(pk)
            if successor is None:
                found[pk] = field_reason("guanxi_id", _in_recycle_bin(pk))
            else:
                merged[pk] = successor
        if merged:
            survivors = (
                Customer.objects.visible_to(actor)
                .filter(pk__in=set(merged.values()))
                .values_list("pk", "external_id", "name", "party_type")
            )
            for pk, external_id, name, party_type in survivors:
                external_ids[pk] = external_id
                names[pk] = (name, party_type == Customer.PartyType.ORGANIZATION)
            for pk, successor in merged.items():
                if successor in names:
                    found[pk] = successor
        return found, external_ids, names

    def _stored_identities(
        self,
        customer_ids: set[int | str | None],
        external_ids: dict[int, str | None],
        names: dict[int, tuple[str, bool]],
    ) -> dict[int, StoredIdentity]:
        """What the customers rows of the batch name by Guanxi id are known by (see
        ``identity``): their phones and emails read in one query, for the batch's customers
        together."""
        ids = {pk for pk in customer_ids if isinstance(pk, int)}
        if not ids:
            return {}
        identities = {}
        for pk in ids:
            name, organization = names[pk]
            identities[pk] = StoredIdentity(name, external_ids.get(pk), organization=organization)
        none = Value("", output_field=CharField())
        phones = (
            Phone.objects.filter(customer_id__in=ids)
            .order_by()
            .values_list("customer_id", "number", "display")
        )
        emails = (
            Email.objects.filter(customer_id__in=ids)
            .order_by()
            .annotate(none=none)
            .values_list("customer_id", "address", "none")
        )
        for customer_id, value, display in phones.union(emails, all=True):
            if display:  # a phone's: every stored phone is displayed
                identities[customer_id].add_phone(value, display)
            else:
                identities[customer_id].emails.add(email_key(value))
        return identities

    def _guanxi_id_target(
        self,
        row: CustomerRow,
        by_guanxi_id: dict[int, int | Summary],
        external_ids_of: dict[int, str | None],
        by_external_id: dict[str, Any],
        leaders: dict[str, CustomerRow],
        changeable: set[int],
        identities: dict[int, StoredIdentity],
    ) -> int | Summary:
        """The customer a row with a Guanxi id updates, or why it is rejected.

        The row's external id must not be another customer's: one stored, or one an earlier
        row of the file is making. An empty one leaves the customer's as it is (an empty cell
        never clears a field); a new one is given to a customer without one, and then names
        it for the rest of the file (``by_external_id`` is updated), as a new external id
        would have named the customer a row made.

        Without the same external id, the row must agree with the customer on a phone, an
        email or the name (``identity.row_agrees``): a file from another Guanxi installation
        has ids that name other customers here."""
        guanxi_id = row.guanxi_id
        target = by_guanxi_id.get(guanxi_id) or _no_such_guanxi_id(guanxi_id)
        if isinstance(target, Reason):
            return target
        if target not in changeable:
            return _not_yours_by_guanxi_id(guanxi_id)
        external_id = row.external_id
        if external_id is not None:
            named = by_external_id.get(external_id)
            if named == target:
                return target
            column = self.mapping.column_kept("external_id")
            # (A row of an earlier batch merged into a customer keeping another id, or rejected
            # once matched, leads the rows with its id as a row of this one still to be
            # matched does.)
            if (
                named is not None
                or external_id in leaders
                or external_id in self._merged_into
                or external_id in self._followed
            ):
                return Summary(
                    gettext_noop(
                        "guanxi_id: %(column)s “%(external_id)s” is another customer's than the "
                        "customer %(id)s; correct one of the two columns"
                    ),
                    {"column": column, "external_id": external_id, "id": guanxi_id},
                )
            own = external_ids_of.get(target)
            if own:
                return Summary(
                    gettext_noop(
                        "guanxi_id: the customer %(id)s has the external id “%(own)s”, not "
                        "%(column)s “%(external_id)s”; an import does not replace an external id"
                    ),
                    {"id": guanxi_id, "own": own, "column": column, "external_id": external_id},
                )
        if not row_agrees(row, identities[target]):
            return Summary(
                gettext_noop(
                    "guanxi_id: the customer %(id)s here is someone else: the row shares no name, "
                    "phone, email or external id with them. The file may come from another Guanxi "
                    "installation, whose ids are its own: remove the %(column)s column to import "
                    "its rows as new customers or match them by their details"
                ),
                {"id": guanxi_id, "column": self.mapping.column_kept("guanxi_id")},
            )
        if external_id is not None:
            by_external_id[external_id] = target
            external_ids_of[target] = external_id
        return target

    def _organisations(self, external_ids: Iterable[str | None]) -> _Organisations:
        """The stored organisations the rows name, with their names (read without a lock: see
        :meth:`_locked_customers`)."""
        wanted = {e for e in external_ids if e}
        if not wanted:
            return _Organisations(stored={}, names={})
        found = (
            Customer.objects.visible_to(self.actor)
            .filter(external_id__in=wanted, party_type=Customer.PartyType.ORGANIZATION)
            .values_list("external_id", "pk", "name")
        )
        stored, names = {}, {}
        for external_id, pk, name in found:
            stored[external_id] = pk
            names[pk] = name
        earlier = (wanted & self._organisation_rows) - set(stored)
        return _Organisations(stored=stored, names=names, earlier=earlier)

    def _changeable(self, customer_ids: list[int]) -> set[int]:
        if not customer_ids:
            return set()
        return set(
            Customer.objects.visible_to(self.actor, CHANGE)
            .filter(pk__in=customer_ids)
            .values_list("pk", flat=True)
        )

    def _with_people(self, customers: list[Customer], changes: dict[int, "_Change"]) -> set[int]:
        """Those of the organisations rows would make people that have people of their own."""
        turning = [
            customer.pk
            for customer in customers
            if customer.party_type == Customer.PartyType.ORGANIZATION
            and any(
                overwrite and row.scalars.get("party_type", "") == Customer.PartyType.PERSON
                for row, overwrite in changes[customer.pk].rows
            )
        ]
        if not turning:
            return set()
        return set(
            Customer.objects.filter(organization_id__in=turning, deleted_at__isnull=True)
            .values_list("organization_id", flat=True)
            .distinct()
        )

    def _external_ids_of_merge_targets(
        self, decisions: list[tuple], organisations: "_Organisations"
    ) -> dict[int, str | None]:
        """The external ids of the stored customers that rows making an organisation named by
        another row may merge into (they take the row's external id if they have none)."""
        if not organisations.named - set(organisations.stored) - organisations.earlier:
            return {}
        targets = {
            best_id
            for record, _keys, best_id, score, _explanation in decisions
            if best_id is not None and score >= MERGE_THRESHOLD and record.party_type != PERSON
        }
        if not targets:
            return {}
        return dict(Customer.objects.filter(pk__in=targets).values_list("pk", "external_id"))

    def _match(
        self,
        rows: list[tuple[SourceRow, CustomerRow]],
        organisations: "_Organisations",
    ) -> tuple[list[tuple[MatchRecord, list, int | None, float, list]], list[tuple]]:
        """Each row's record, its keys, and its most likely existing duplicate (id, score,
        reasons); and the records' ``table_row`` values, which the comparison within the batch
        uses too."""
        # Rows that name an organisation take its name from the database, so only they are
        # normalised here; the others were prepared with their record and keys.
        records = [
            row.record
            if row.record is not None
            else row.match_record(
                company=organisations.name_for_matching(row.organization_external_id)
            )
            for _source, row in rows
        ]
        all_keys = [
            row.keys if row.keys is not None else record_key_hashes(record)
            for (_source, row), record in zip(rows, records, strict=True)
        ]
        none: list[tuple[MatchRecord, list, int | None, float, list]] = [
            (r, k, None, 0.0, []) for r, k in zip(records, all_keys, strict=True)
        ]
        self._changeable_cache = set()
        if self.job.dedup == ImportJob.Dedup.OFF or not records:
            return none, []
        table_rows = [table_row(r) for r in records]
        compared_rows, pairing = table_rows, PAIRING_CODES
        if not self.compares_id_numbers:
            # As the new-customer form's duplicate check (``dedup.drafts``): the rows' ID numbers
            # are compared with the customers' only for who may see ID numbers in full. Anyone
            # else could tell from a row merged or queued whether the number it gives is a
            # customer's. (Rows of the file are still compared with each other on them: both
            # numbers are the importer's own.)
            compared_rows = [
                table_row(dataclasses.replace(r, id_number="")) if r.id_number else row
                for r, row in zip(records, table_rows, strict=True)
            ]
            pairing = PAIRING_CODES - {RULE_CODES["id"]}
        row_keys = [[key for rule, key in keys if rule in pairing] for keys in all_keys]
        by_key = candidate_ids_by_key({k for keys in row_keys for k in keys})
        candidates = [sorted({c for k in keys for c in by_key.get(k, [])}) for keys in row_keys]
        ids = {c for found in candidates for c in found}
        if not ids:
            return none, table_rows
        # Candidates are compared from their stored profiles' table rows, without making
        # their records: only the comparison reads them.
        known = self._candidate_rows(ids)
        positions = {cid: len(records) + i for i, cid in enumerate(known)}
        left, right = [], []
        for i, found in enumerate(candidates):
            for cid in found:
                if cid in positions and known[cid][0] == records[i].party_type:
                    left.append(i)
                    right.append(positions[cid])
        if not left:
            return none, table_rows
        table = RecordTable.from_rows([*compared_rows, *known.values()])
        left_array, right_array = np.array(left), np.array(right)
        levels = compare_pairs(table, left_array, right_array)
        shares = None
        if self.people:
            counts = self._name_counts(records)
            shares = np.array(
                [max(counts.get(records[i].name.key, 0), 1) / self.people for i in left]
            )
        scores = self.model.probabilities(levels, shares)
        results = list(none)
        ids_by_position = {p: cid for cid, p in positions.items()}
        best: dict[int, int] = {}
        for k, i in enumerate(left):
            if i not in best or scores[k] > scores[best[i]]:
                best[i] = k
        for i, k in best.items():
            results[i] = (
                records[i],
                all_keys[i],
                ids_by_position[right[k]],
                float(scores[k]),
                self.model.explain(levels[k]),
            )
        # Whether the user may change a customer matters only where a row would merge into it.
        self._changeable_cache = self._changeable(
            [r[2] for r in results if r[2] is not None and r[3] >= MERGE_THRESHOLD]
        )
        return results, table_rows

    def _candidate_rows(self, ids: set[int]) -> dict[int, tuple]:
        """The stored candidates' comparison rows (:func:`stored_match_rows`), by id.

        The same customers come back batch after batch — those with common names, or with the
        company's switchboard number — and decoding their profiles is a good part of matching
        (on a 20,000-row file, 100,000 candidates fetched, 57,000 of them distinct). So the rows
        are kept for the import, forgetting those it changes itself (:meth:`_change`) and all
        of them every ``CANDIDATE_CACHE_SECONDS``, so that an edit someone else makes meanwhile
        is seen within that time."""
        if time.monotonic() - self._candidate_cache_started > CANDIDATE_CACHE_SECONDS:
            self._candidate_cache.clear()
            self._candidate_cache_started = time.monotonic()
        cache = self._candidate_cache
        missing = [i for i in ids if i not in cache]
        if missing:
            cache.update(stored_match_rows(missing))
        # (A customer without a stored profile or record is not a candidate: absent here too.)
        return {i: cache[i] for i in sorted(ids) if i in cache}

    def _name_counts(self, records: list[MatchRecord]) -> dict[str, int]:
        """How many customers carry each person's name, counted once per import: names repeat
        from batch to batch (a common name costs a count over thousands of index entries), and
        the rarity weight does not move measurably with the customers the import itself adds."""
        missing = [
            r
            for r in records
            if r.party_type == PERSON and r.name.key and r.name.key not in self._name_count_cache
        ]
        if missing:
            counts = name_counts(missing)
            self._name_count_cache.update(counts)
        return self._name_count_cache

    def _earlier_in_batch(
        self, rows: list[tuple[MatchRecord, list]], table_rows: list[tuple]
    ) -> "_EarlierRows":
        """Each row's earlier rows of the batch that share a pairing key with it (and its party
        type), scored as pairs in one comparison. ``table_rows`` are the records' table rows
        (see :meth:`_match`), empty when nothing is compared."""
        looking = self.job.dedup != ImportJob.Dedup.OFF
        by_key: dict[int, list[int]] = defaultdict(list)
        candidates: list[list[tuple[int, int]]] = []  # per row: (earlier position, pair index)
        left: list[int] = []
        right: list[int] = []
        for position, (record, keys) in enumerate(rows):
            pairing = [key for rule, key in keys if rule in PAIRING_CODES] if looking else []
            # In the order the row's keys name them, as the single-row lookup saw them.
            seen = dict.fromkeys(j for key in pairing for j in by_key.get(key, ()))
            own = []
            for j in seen:
                if rows[j][0].party_type == record.party_type:
                    own.append((j, len(left)))
                    left.append(position)
                    right.append(j)
            candidates.append(own)
            for key in pairing:
                by_key[key].append(position)
        levels = np.empty((0, len(FIELDS)), dtype=np.int8)
        if left:
            table = RecordTable.from_rows(table_rows)
            levels = compare_pairs(table, np.array(left), np.array(right))
        return _EarlierRows(candidates, self.model.probabilities(levels), levels, self.model)

    # --- writing ---------------------------------------------------------------------------

    def _tag_ids(self, names: Iterable[str]) -> dict[str, int]:
        missing = {n for n in names if n not in self._tags}
        if missing:
            for tag in Tag.objects.filter(name__in=missing):
                self._tags[tag.name] = tag.pk
            for name in missing - set(self._tags):
                self._tags[name] = Tag.objects.get_or_create(name=name)[0].pk
        return self._tags

    def _create(
        self,
        new: list[_NewCustomer],
        rules: "_OrganisationRules",
        new_ids: list[int],
        writes: WriteBehind,
    ) -> None:
        """Build the new customers and their rows, and queue their writing. ``new_ids`` are
        their primary keys, reserved beforehand (PostgreSQL); elsewhere the database assigns
        them as they are inserted."""
        if not new:
            return
        now = timezone.now()
        customers = []
        for item in new:  # all combined first: a person's organisation may absorb later rows
            if not item.data:  # (an organisation row's home is, before: see process_batch)
                item.data = _combine(item, rules)
        for item in new:
            data = item.data
            organization = data["organization"]
            item.company = rules.organisations.name_of(organization) or data["scalars"].get(
                "company", ""
            )
            if item.row.search_text and not item.absorbed and organization is None:
                search_text = item.row.search_text  # prepared, and nothing was added to it
            else:
                search_text = build_search_text(
                    name=data["scalars"]["name"],
                    company=data["scalars"].get("company", ""),
                    organisation=rules.organisations.name_of(organization) or "",
                    phones=[(p.parsed.e164, p.parsed.display) for p in data["phones"]],
                    emails=[e["address"] for e in data["emails"]],
                    tags=data["tags"],
                    external_id=data["external_id"],
                    person=data["scalars"].get("party_type", Customer.PartyType.PERSON)
                    == Customer.PartyType.PERSON,
                )
            customer = Customer(
                **data["scalars"],
                organization_id=organization if isinstance(organization, int) else None,
                custom_fields=data["custom_fields"],
                external_id=data["external_id"],
                created_by=self.actor,
                created_at=now,
                updated_at=now,
                search_text=search_text,
            )
            if data["id_number"]:
                customer.id_number_encrypted = encrypt_text(data["id_number"])
                customer.id_number_masked = mask_id_number(data["id_number"])
                customer.id_number_hash = lookup_hash(data["id_number"])
            item.customer = customer
            customers.append(customer)
        # People of organisations the batch creates take their ids once they have them.
        members = [item for item in new if isinstance(item.data["organization"], _NewCustomer)]
        if new_ids:
            for customer, pk in zip(customers, new_ids, strict=True):
                customer.pk = pk
            for item in members:
                item.customer.organization_id = item.data["organization"].customer.pk
            writes.submit(insert, customers, with_ids=True)
        else:
            # Without reserved ids the related rows need the ones the insert assigns; the
            # organisations' before their people's.
            later = {id(item.customer) for item in members}
            first = [customer for customer in customers if id(customer) not in later]
            writes.submit(Customer.objects.bulk_create, first, batch_size=500)
            writes.wait()
            if members:
                for item in members:
                    item.customer.organization_id = item.data["organization"].customer.pk
                writes.submit(
                    Customer.objects.bulk_create, [i.customer for i in members], batch_size=500
                )
                writes.wait()
        phones, emails, addresses, tag_links, events = [], [], [], [], []
        indexed: list[MatchRecord] = []
        known_keys: dict[int, list] = {}
        tag_ids = self._tag_ids(t for item in new for t in item.data["tags"])
        through = Customer.tags.through
        for item in new:
            customer, data = item.customer, item.data
            own_phones = [
                Phone(
                    customer=customer,
                    number=p.parsed.e164,
                    display=p.parsed.display,
                    label=p.label,
                    is_primary=p.is_primary,
                )
                for p in data["phones"]
            ]
            own_emails = [Email(customer=customer, **e) for e in data["emails"]]
            own_addresses = [Address(customer=customer, **a) for a in data["addresses"]]
            phones += own_phones
            emails += own_emails
            addresses += own_addresses
            tag_links += [through(customer=customer, tag_id=tag_ids[t]) for t in data["tags"]]
            if item.absorbed or isinstance(data["organization"], _NewCustomer):
                # Other rows added to it, or its organisation's name is the new customer's:
                # its index is that of the whole.
                indexed.append(_record_with_ref(item, customer.pk))
            else:
                indexed.append(dataclasses.replace(item.record, ref=customer.pk))
                known_keys[customer.pk] = item.keys
            snapshot = snapshot_of(
                customer,
                phones=own_phones,
                emails=own_emails,
                addresses=own_addresses,
                tags=data["tags"],
                consents=(),
            )
            events.append(
                AuditEvent(
                    occurred_at=now,
                    actor=self.actor,
                    action=AuditEvent.Action.CREATE,
                    object_type="customer",
                    object_id=customer.pk,
                    customer_id=customer.pk,
                    summary=customer.name[:300],
                    changes=diff_values({}, snapshot, sensitive=SENSITIVE_FIELDS),
                )
            )
        for rows in (phones, emails, addresses, tag_links):
            writes.submit(insert, rows)
        writes.submit(write_match_index, indexed, known_keys)
        writes.submit(audit_record_many, events)

    def _lock_owners(self, rows: list[CustomerRow]) -> None:
        """Lock the importing user and the users the rows name as owners until the batch
        commits, before any customer is (users before customers, as a deactivation locks the
        leaver and then the customers they own): in one statement, in ascending id order. Each
        was looked up, active, once for the whole import. A deactivation or deletion under way
        is waited for; the rows naming someone it made inactive are then treated as rows naming
        an inactive user (see ``CustomerRow.kept_owner``): refused for a new customer or one
        owned by anyone else, instead of giving customers to someone who has left or failing on
        a user gone.

        The importing user is the default owner of every new customer without an owner cell,
        and the one whose rights the import writes with: deactivated meanwhile, the import stops
        before the batch writes anything, as every other write of theirs is refused."""
        named = [
            row for row in rows if row.cells.get("owner", "").strip() and "owner_id" in row.scalars
        ]
        active = key_share_active_users(
            [self.actor.pk, *(row.scalars["owner_id"] for row in named)]
        )
        if self.actor.pk not in active:
            raise importer_deactivated(self.actor)
        for row in named:
            if row.scalars["owner_id"] not in active:
                row.kept_owner = self.context.owner_left(
                    row.cells["owner"].strip(), row.scalars.pop("owner_id")
                )

    @staticmethod
    def _homes_first(
        new: list[_NewCustomer],
        changing: list[Customer],
        changes: dict[int, _Change],
        organisations: _Organisations,
    ) -> tuple[list[_NewCustomer], list[Customer], list[Customer]]:
        """The new and the stored customers organisation rows of the batch went into (their
        homes), and the other customers the batch changes. A stored home with a row linking it
        to an organisation the batch creates is left with the others, as that link needs the
        new customer built (and an organisation with people belongs to none)."""
        homes = [*organisations.homes.values(), *organisations.heirs.values()]
        new_homes = {id(home) for home in homes if isinstance(home, _NewCustomer)}
        stored_homes = {home for home in homes if isinstance(home, int)}

        def links_to_new(customer: Customer) -> bool:
            return any(
                row.organization_external_id
                and isinstance(organisations.resolve(row.organization_external_id), _NewCustomer)
                for row, _overwrite in changes[customer.pk].rows
            )

        first = [c for c in changing if c.pk in stored_homes and not links_to_new(c)]
        first_ids = {customer.pk for customer in first}
        return (
            [item for item in new if id(item) in new_homes],
            first,
            [customer for customer in changing if customer.pk not in first_ids],
        )

    @staticmethod
    def _without_gone_organisations(
        new: list[_NewCustomer],
        queue: list[tuple[_NewCustomer, "int | _NewCustomer", float, list]],
        organisations: _Organisations,
        unlink: Callable[[CustomerRow, str, str], None],
    ) -> tuple[list[_NewCustomer], list]:
        """The new customers but those whose own row links them to an organisation that is gone
        (:meth:`_locked_customers`), or that its row did not reach (``unreached``): their
        rows, and those that went into them, are rejected. (Rows going into other customers are
        refused as they are applied.)"""
        dropped: list[_NewCustomer] = []
        kept = []
        lost = organisations.gone | organisations.unreached
        for item in new:
            if item.row.organization_external_id in lost:
                dropped.append(item)
                reason = organisations.missing_reason(item.row)
                unlink(item.row, CREATED, reason)
                for row, overwrite in item.absorbed:
                    unlink(row, UPDATED if overwrite else MERGED, reason)
            else:
                kept.append(item)
        queue = [
            entry
            for entry in queue
            if not any(entry[0] is item or entry[1] is item for item in dropped)
        ]
        return kept, queue

    def _locked_customers(
        self, organisations: _Organisations, changes: dict[int, _Change]
    ) -> list[Customer]:
        """Lock what the batch writes to or links to, until it commits, and return the customers
        rows of the batch go into, with their organisations (their contact details and tags:
        :func:`_stored_details`): only those the user may still change, as one may have been
        deleted, merged or reassigned since the batch was matched, and is missing here.

        All in the order every writer locks customers in (``CUSTOMER_LOCK_ORDER``): first, in
        one ascending pass, every organisation of the batch, FOR UPDATE those its rows change and
        FOR KEY SHARE those it only links people to; then, in one ascending pass, the people it
        changes together with every person (in the recycle bin too) of the organisations it hands
        over or renames. Passing over the organisations twice, the linked ones and then the
        changed ones, the import held a higher organisation while it waited for a lower one,
        which a hand-over or a merge of both held while it waited for the higher one: a deadlock.

        The people of an organisation are locked with it only where the database writes them the
        organisation's new owner (``organisation_owner``), or the import rebuilds their search
        text with its new name (``refresh_people_of``), both after the batch's other people were
        locked. Whether a row does either is asked of the organisation as locked, so an owner or
        name changed by someone else since the batch was read is seen: a row naming the owner an
        organisation had then hands it back over.

        The organisations linked to were read without a lock, and someone may delete one
        meanwhile: customer_delete refuses an organisation with people, but it does not see the
        people this batch is adding. FOR KEY SHARE conflicts with the FOR UPDATE every service
        deleting, merging or changing a customer takes first, and with nothing else: such a
        service waits for the batch, then sees its people (or the batch waits, then finds the
        organisation gone). Those deleted, merged away or out of the user's sight since they
        were looked up move to ``organisations.gone``; the others' current names are taken."""
        linked = {organisations.stored[e] for e in organisations.named if e in organisations.stored}
        changed = set(changes)
        locked: dict[int, tuple[int | None, str]] = {}  # organisation -> (owner id, name)
        for run in _runs(sorted(linked | changed), changed):
            queryset = Customer.objects.filter(
                pk__in=run, party_type=Customer.PartyType.ORGANIZATION
            ).order_by("pk")
            if run[0] in changed:
                rows = list(queryset.select_for_update().values_list("pk", "owner_id", "name"))
            else:
                rows = key_shared(queryset.values_list("pk", "owner_id", "name"))
            locked.update((pk, (owner_id, name)) for pk, owner_id, name in rows)
        self._take_linked_organisations(organisations, linked & set(locked))
        if not changes:
            return []
        if connection.features.has_select_for_update:
            self._lock_people(organisations_locked=locked, changes=changes)
        # Read, not locked again: all are held already, so they are read as they are now, and
        # what the user may change is asked of them as they are now.
        return list(
            Customer.objects.visible_to(self.actor, CHANGE)
            .filter(pk__in=list(changes))
            .order_by(*CUSTOMER_LOCK_ORDER)
            .select_related("organization")
        )

    @staticmethod
    def _lock_people(
        *, organisations_locked: dict[int, tuple[int | None, str]], changes: dict[int, _Change]
    ) -> None:
        """Lock, in one ascending pass, the people the batch changes (those of ``changes`` not
        among ``organisations_locked``, each organisation locked with its owner and name) with
        every person of the organisations whose rows give them another owner or name."""
        locked = organisations_locked
        changed = set(changes)
        moving = [
            pk
            for pk in sorted(changed & set(locked))
            if any(
                _hands_over_or_renames(row, overwrite, *locked[pk])
                for row, overwrite in changes[pk].rows
            )
        ]
        people = changed - set(locked)
        for chunk in customer_chunks(moving):
            people.update(
                Customer.objects.filter(organization_id__in=chunk).values_list("pk", flat=True)
            )
        for chunk in customer_chunks(sorted(people)):
            list(
                Customer.objects.select_for_update()
                .filter(pk__in=chunk)
                .order_by("pk")
                .values("pk")
            )

    def _take_linked_organisations(self, organisations: _Organisations, live: set[int]) -> None:
        """Take the current names of the stored organisations rows of the batch link people to,
        as :meth:`_locked_customers` locked them (``live``); those it found gone, and those now
        out of the user's sight, move to ``organisations.gone``."""
        names: dict[int, str] = {}
        for chunk in customer_chunks(sorted(live)):
            names.update(
                Customer.objects.visible_to(self.actor)
                .filter(pk__in=chunk, party_type=Customer.PartyType.ORGANIZATION)
                .values_list("pk", "name")
            )
        organisations.names.update(names)
        for external_id, pk in list(organisations.stored.items()):
            if external_id in organisations.named and pk not in names:
                del organisations.stored[external_id]
                organisations.gone.add(external_id)

    def _change(
        self,
        customers: list[Customer],
        stored: dict[int, _StoredDetails],
        changes: dict[int, _Change],
        rules: "_OrganisationRules",
        writes: WriteBehind,
    ) -> tuple[int, set[int]]:
        """Apply rows to existing customers (as :meth:`_locked_customers` read them, with their
        ``stored`` details) and queue the writing; returns how many rows changed nothing, and
        the organisations renamed (whose people ``refresh_people_of`` brings up to date once
        these writes are done).

        The new contact details are added to those in memory, and the audit rows' "after", the
        search text and the duplicate index are computed from that, without reading the
        customers back."""
        if not changes:
            return 0, set()
        unchanged = 0
        renamed: set[int] = set()
        now = timezone.now()
        changed: list[Customer] = []
        phones, emails, addresses, tag_links, indexed, events = [], [], [], [], [], []
        # Customers given another account manager, by the new one.
        reassigned: dict[int | None, list[int]] = defaultdict(list)
        through = Customer.tags.through
        summary = summary_fields(
            Summary(gettext_noop("Imported from %(file)s"), {"file": self.job.filename})
        )
        for customer in customers:
            own = stored[customer.pk]
            own_phones, own_emails, own_addresses = own.phones, own.emails, own.addresses
            own_tags = own.tags
            before = snapshot_of(
                customer,
                phones=own_phones,
                emails=own_emails,
                addresses=own_addresses,
                tags=own_tags,
                consents=(),  # an import never changes them: left out of both snapshots
            )
            have_phones = {p.number for p in own_phones}
            have_emails = {e.address for e in own_emails}
            # Compared as an export shows them (see address_key), so that a customer's export
            # imported again does not add the address it already has.
            have_addresses = {
                address_key(a.street, a.city, a.region, a.postcode) for a in own_addresses
            }
            touched = False
            applied = 0
            given_id_number = ""  # an ID number an update by external id gave
            for row, overwrite in changes[customer.pk].rows:
                if rules.refused_with_lead(row, overwrite):
                    continue
                if overwrite and "notes" in row.scalars:
                    # Held to what the importer could read of them, as the edit form and the
                    # API hold them (``texts_as_read``): notes sent back as read keep the stored
                    # numbers; changed around a number shown masked, the row is refused rather
                    # than the number written over with the stars.
                    refused: dict[str, list[str]] = {}
                    scalars = texts_as_read(self.actor, customer, row.scalars, ("notes",), refused)
                    if refused:
                        rules.refuse(
                            row,
                            overwrite,
                            field_reason("notes", Summary(NUMBERS_WOULD_BE_LOST)),
                        )
                        continue
                    row = dataclasses.replace(row, scalars=scalars)
                owner_reason = kept_owner_reason(row, customer.owner_id)
                if owner_reason is not None:
                    rules.refuse(row, overwrite, owner_reason)
                    continue
                settled = rules.settle(
                    row,
                    overwrite,
                    party_type=customer.party_type,
                    organization=customer.organization_id,
                    own=customer.pk,
                    external_id=customer.external_id,
                )
                if settled is None:
                    continue
                # Each of the row's own lists is without repeats (the customer checks), so
                # what it adds is what the customer lacks of it.
                new_phones = [p for p in row.phones if p.parsed.e164 not in have_phones]
                new_emails = [e for e in row.emails if e["address"] not in have_emails]
                new_addresses = [
                    a for a in row.addresses if _address_key_of(a) not in have_addresses
                ]
                new_tags = [t for t in row.tags if t not in own_tags]
                beyond = _beyond_list_limits(
                    phones=(len(own_phones), len(new_phones)),
                    emails=(len(own_emails), len(new_emails)),
                    addresses=(len(own_addresses), len(new_addresses)),
                    tags=(len(own_tags), len(new_tags)),
                )
                if beyond is not None:
                    rules.refuse(row, overwrite, beyond)
                    continue
                applied += 1
                touched |= _apply_scalars(
                    customer, row, overwrite=overwrite, blind=not self.compares_id_numbers
                )
                if overwrite and row.id_number:
                    given_id_number = row.id_number
                touched |= rules.apply(customer, settled[1])
                for phone in new_phones:
                    have_phones.add(phone.parsed.e164)
                    own_phones.append(
                        Phone(
                            customer=customer,
                            number=phone.parsed.e164,
                            display=phone.parsed.display,
                            label=phone.label,
                            is_primary=False,
                        )
                    )
                    phones.append(own_phones[-1])
                    touched = True
                for email in new_emails:
                    have_emails.add(email["address"])
                    own_emails.append(
                        Email(
                            customer=customer,
                            address=email["address"],
                            label=email["label"],
                            is_primary=False,
                        )
                    )
                    emails.append(own_emails[-1])
                    touched = True
                for address in new_addresses:
                    have_addresses.add(_address_key_of(address))
                    own_addresses.append(Address(customer=customer, **address))
                    addresses.append(own_addresses[-1])
                    touched = True
                if new_tags:
                    tag_ids = self._tag_ids(new_tags)
                    tag_links += [through(customer=customer, tag_id=tag_ids[t]) for t in new_tags]
                    own_tags += new_tags
                    touched = True
            if not touched:
                unchanged += applied
                continue
            customer.version += 1
            customer.updated_at = now
            if customer.is_organization and customer.name != before["name"]:
                renamed.add(customer.pk)
            if customer.owner_id != before["owner_id"]:
                reassigned[customer.owner_id].append(customer.pk)
            customer.search_text = search_text_of(
                customer, phones=own_phones, emails=own_emails, tags=own_tags
            )
            indexed.append(
                record_for_customer(
                    customer, phones=own_phones, emails=own_emails, addresses=own_addresses
                )
            )
            after = snapshot_of(
                customer,
                phones=own_phones,
                emails=own_emails,
                addresses=own_addresses,
                tags=own_tags,
                consents=(),
            )
            events.append(
                AuditEvent(
                    occurred_at=now,
                    actor=self.actor,
                    action=AuditEvent.Action.UPDATE,
                    object_type="customer",
                    object_id=customer.pk,
                    customer_id=customer.pk,
                    **summary,
                    changes=blind_id_number_change(
                        diff_values(before, after, sensitive=SENSITIVE_FIELDS),
                        id_number=given_id_number,
                        may_view_sensitive=self.compares_id_numbers,
                    ),
                )
            )
            changed.append(customer)
        if not changed:
            return unchanged, renamed
        writes.submit(update, changed, [*UPDATED_FIELDS, "search_text"])
        for rows in (phones, emails, addresses, tag_links):
            writes.submit(insert, rows)
        writes.submit(rewrite_match_index, indexed)
        for record in indexed:  # their stored profiles are about to change
            self._candidate_cache.pop(record.ref, None)
        writes.submit(audit_record_many, events)
        # A new account manager from the file is a reassignment like the reassignment screen's:
        # the customers' open churn follow-ups go with them, each audited.
        for owner_id, customer_ids in reassigned.items():
            writes.submit(
                follow_ups_follow_customers,
                actor=self.actor,
                customer_ids=customer_ids,
                to_owner_id=owner_id,
            )
            # And their open tickets leave whoever saw them only through the old one.
            writes.submit(tickets_customers_release, actor=self.actor, customer_ids=customer_ids)
        return unchanged, renamed

    def _queue(
        self, queue: list[tuple[_NewCustomer, int | _NewCustomer, float, list]], writes: WriteBehind
    ) -> int:
        pairs = []
        for item, other, score, explanation in queue:
            other_id = other.customer.pk if isinstance(other, _NewCustomer) else other
            low, high = sorted((item.customer.pk, other_id))
            pairs.append(
                DuplicatePair(
                    left_id=low,
                    right_id=high,
                    score=score,
                    score_without_id_number=score_without(score, explanation),
                    source=DuplicatePair.Source.IMPORT,
                    details={
                        "fields": rounded_reasons(explanation),
                        "import": self.job.pk,
                    },
                )
            )
        if pairs:
            writes.submit(
                DuplicatePair.objects.bulk_create, pairs, ignore_conflicts=True, batch_size=1000
            )
        return len(pairs)


@dataclass
class _EarlierRows:
    """Scores of a batch's rows against the earlier rows of the batch (see
    :meth:`CustomerImporter._earlier_in_batch`)."""

    candidates: list[list[tuple[int, int]]]
    scores: np.ndarray
    levels: np.ndarray
    model: Any

    def best(
        self, position: int, created: dict[int, "_NewCustomer"]
    ) -> tuple["_NewCustomer | None", float, list]:
        """The best-scoring earlier row that became a new customer (the first of equals)."""
        best_pair = None
        for earlier, pair in self.candidates[position]:
            if earlier in created and (
                best_pair is None or self.scores[pair] > self.scores[best_pair[1]]
            ):
                best_pair = (earlier, pair)
        if best_pair is None:
            return None, 0.0, []
        earlier, pair = best_pair
        return created[earlier], float(self.scores[pair]), self.model.explain(self.levels[pair])


# --- helpers -------------------------------------------------------------------------------


def _take_turn() -> None:
    """Wait until no other customer import is writing a batch, and keep the others waiting until
    this batch's transaction ends.

    A batch looks up the external ids and the duplicate candidates of its rows before it writes,
    and sees only committed customers. Two imports at once naming the same new external id
    would both create it: the second insert waits for the first transaction, then fails on the
    unique external id (or the two wait for each other, in opposite orders); the same new people
    in both would both be created, as strangers. Taking turns batch by batch, a batch sees the
    customers of the batches before it: their ids become updates, their people merges or review
    pairs, as when the files are imported one after the other.

    The lock is transaction-level, so it is released when the batch commits or rolls back, and
    an import alone never waits for it; a dry run, one transaction, takes it batch by batch in
    its session-level form instead (see CustomerImporter._take_dry_run_turn). Only
    batches of customer imports take it: they still wait for row locks as before, but nothing
    holding a row lock waits for it. On SQLite every transaction takes the database's one write
    lock as it begins (``transaction_mode`` IMMEDIATE, in the settings): batches take turns
    already."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [BATCH_LOCK_KEY])


def _combine(item: _NewCustomer, rules: "_OrganisationRules") -> dict[str, Any]:
    """A new customer's data from its row and the later rows of the batch that matched it,
    but those that break a rule about organisations (which are refused).

    Without an external id of its own it takes the first one an absorbed row brings, as an
    existing customer would (:func:`_apply_scalars`): importing the file again then finds it
    by that id instead of changing it."""
    row = item.row
    party_type = row.scalars.get("party_type", PERSON)
    organization = item.organization
    scalars = dict(row.scalars)
    phones = list(row.phones)
    emails = list(row.emails)
    addresses = list(row.addresses)
    tags = list(row.tags)
    custom = dict(row.custom_fields)
    id_number = row.id_number
    absorbed = []
    for other, overwrite in item.absorbed:
        if rules.refused_with_lead(other, overwrite):
            continue
        # The new customer's owner is one who may be given customers: a row naming one who
        # may not would give it to them.
        owner_reason = kept_owner_reason(other, None)
        if owner_reason is not None:
            rules.refuse(other, overwrite, owner_reason)
            continue
        settled = rules.settle(
            other,
            overwrite,
            party_type=party_type,
            organization=organization,
            own=item,
            # The id it has so far (see _external_id_of).
            external_id=row.external_id
            or next((r.external_id for r, _o in absorbed if r.external_id), None),
        )
        if settled is None:
            continue
        numbers = {p.parsed.e164 for p in phones}
        new_phones = [p for p in other.phones if p.parsed.e164 not in numbers]
        known = {e["address"] for e in emails}
        new_emails = [e for e in other.emails if e["address"] not in known]
        # Compared as a row going into a stored customer compares them (see _change).
        have_addresses = {_address_key_of(a) for a in addresses}
        new_addresses = [a for a in other.addresses if _address_key_of(a) not in have_addresses]
        new_tags = [t for t in other.tags if t not in tags]
        # Held to the limits as a row going into a stored customer is (see _change), so that
        # a file imports alike in one batch or in many.
        beyond = _beyond_list_limits(
            phones=(len(phones), len(new_phones)),
            emails=(len(emails), len(new_emails)),
            addresses=(len(addresses), len(new_addresses)),
            tags=(len(tags), len(new_tags)),
        )
        if beyond is not None:
            rules.refuse(other, overwrite, beyond)
            continue
        party_type, organization = settled
        absorbed.append((other, overwrite))
        for name, value in other.scalars.items():
            if name == "owner_id" and not _names_owner(other):
                # A blank owner cell leaves the owner as it is, as it leaves a stored
                # customer's (see _apply_scalars): the importing user is only the default.
                continue
            if overwrite or not scalars.get(name):
                scalars[name] = value
        phones += new_phones
        emails += new_emails
        addresses += new_addresses
        tags += new_tags
        for key, value in other.custom_fields.items():
            if overwrite or key not in custom:
                custom[key] = value
        if other.id_number and (overwrite or not id_number):
            id_number = other.id_number
    item.absorbed = absorbed
    external_id = _external_id_of(item)
    for items in (phones, emails):
        for i, item in enumerate(items):
            if isinstance(item, dict):
                item["is_primary"] = i == 0
            else:
                item.is_primary = i == 0
    return {
        "scalars": scalars,
        "phones": phones,
        "emails": emails,
        "addresses": addresses,
        "tags": tags,
        "custom_fields": custom,
        "id_number": id_number,
        "external_id": external_id,
        "organization": organization,
    }


# The most of each list a customer may hold (the limits every write of a customer is held to,
# so that a customer the API answers in full can be sent back as read), the column a row gives
# it in, and how a row that would take a customer past one is rejected. Every limit is well
# above one, so the plurals are always the right English.
_LIST_LIMITS = {
    "phones": (
        "phone",
        MAX_PHONES,
        gettext_noop(
            "with this row the customer would have %(count)d phone numbers, and a customer "
            "may have at most %(limit)d"
        ),
    ),
    "emails": (
        "email",
        MAX_EMAILS,
        gettext_noop(
            "with this row the customer would have %(count)d email addresses, and a customer "
            "may have at most %(limit)d"
        ),
    ),
    "addresses": (
        "address",
        MAX_ADDRESSES,
        gettext_noop(
            "with this row the customer would have %(count)d addresses, and a customer may "
            "have at most %(limit)d"
        ),
    ),
    "tags": (
        "tags",
        MAX_TAGS,
        gettext_noop(
            "with this row the customer would have %(count)d tags, and a customer may have at "
            "most %(limit)d"
        ),
    ),
}


def _beyond_list_limits(**had_and_added: tuple[int, int]) -> Reason | None:
    """Why a row is rejected that adds to a customer's phones, emails, addresses or tags
    (each given as how many the customer has and how many the row adds) beyond the most a
    customer may hold, naming each such column; None when it does not. A customer past a
    limit already (saved before the limits held everywhere) still takes a row that adds
    nothing to that list: that does not make it worse."""
    reasons: list[Reason] = []
    for name, (had, added) in had_and_added.items():
        column, limit, message = _LIST_LIMITS[name]
        if added and had + added > limit:
            reasons.append(
                field_reason(column, Summary(message, {"count": had + added, "limit": limit}))
            )
    return joined(reasons) if reasons else None


class _ByExternalId:
    """A batch's rows by external id, for its rows rejected for their cells: the number of the
    first row with each, and the custom fields the rows that would follow it (with the id, not
    a Guanxi id) fill."""

    def __init__(
        self,
        rows: list[tuple[SourceRow, CustomerRow]],
        failed: list[tuple[SourceRow, list[Reason], str | None, int | None]],
    ):
        self.first: dict[str, int] = {}
        self.filled: dict[str, set[str]] = defaultdict(set)
        for source, external_id in [
            *((s, r.external_id) for s, r in rows),
            *((s, e) for s, _r, e, _g in failed),
        ]:
            if external_id:
                self.first[external_id] = min(
                    self.first.get(external_id, source.number), source.number
                )
        for _source, row in rows:
            if row.external_id and row.guanxi_id is None:
                self.filled[row.external_id].update(row.custom_fields)


def _stored_reason(reason: Reason) -> dict[str, Any]:
    """A reason as ``ImportRememberedId`` keeps it (see :func:`_reason_from`)."""
    if isinstance(reason, Summary):
        return {"message": reason.message, "params": reason.stored_params()}
    return {"text": str(reason)}


def _reason_from(stored: dict[str, Any]) -> Reason:
    """The reason :func:`_stored_reason` kept: a message whose parts are kept as stored, which
    reads and is stored again as the reason itself would."""
    if "text" in stored:
        return stored["text"]
    return Summary(stored["message"], stored["params"])


def _address_key_of(address: dict[str, Any]) -> tuple[str, ...]:
    """What a row's address is compared by with a customer's (see address_key)."""
    return address_key(address["street"], address["city"], address["region"], address["postcode"])


def _external_id_of(item: _NewCustomer) -> str | None:
    """The external id a new customer will have (see :func:`_combine`), as matched so far."""
    return item.row.external_id or next(
        (row.external_id for row, _o in item.absorbed if row.external_id), None
    )


def _heir_key(target: "int | _NewCustomer") -> tuple:
    """A customer's key among ``_OrganisationRules.heirs_people``: its id, or a new one's row
    number (told apart)."""
    return ("row", target.row.number) if isinstance(target, _NewCustomer) else ("id", target)


def _no_organisation(row: CustomerRow) -> Summary:
    return Summary(
        gettext_noop("organization_external_id: no organisation “%(id)s” that you can see"),
        {"id": row.organization_external_id},
    )


@dataclass
class _OrganisationRules:
    """customer_update's rules about organisations, for the rows of a batch going into one
    customer, in file order: only people belong to an organisation, no customer is its own,
    and an organisation with people stays one. A row that would break them is refused whole,
    rather than let the database refuse the batch. So is a row following one refused before it
    (:meth:`refused_with_lead`)."""

    organisations: _Organisations
    stored_with_people: set[int]  # customer ids
    new_with_people: set[int]  # the row numbers of new customers
    refuse: Callable[[CustomerRow, bool, str], None]
    # The reason the row of the batch that a row follows (by its external id) was rejected
    # with once matched, if it was.
    lead_refused: Callable[[CustomerRow], Reason | None]
    # The external ids rows name that a customer holds only if it takes them (``heirs`` of
    # _Organisations), by customer (_heir_key): it has people while its external id is one of
    # them.
    heirs_people: dict[tuple, set[str]] = field(default_factory=dict)

    def refused_with_lead(self, row: CustomerRow, overwrite: bool) -> bool:
        """Refuse ``row`` with the reason the row it follows was refused with, if it was, and
        say whether it did. A merged row refused as it is applied (it would take the customer
        past a limit, or names an owner who may not have it) leads the later rows with its
        external id into no customer: they go nowhere it did not, as in a later batch, where
        they follow it by what the batch remembered (``_followed``)."""
        reason = self.lead_refused(row)
        if reason is None:
            return False
        self.refuse(row, overwrite, reason)
        return True

    def settle(
        self,
        row: CustomerRow,
        overwrite: bool,
        *,
        party_type: str,
        organization: "int | _NewCustomer | None",
        own: "int | _NewCustomer",
        external_id: str | None = None,
    ) -> "tuple[str, int | _NewCustomer | None] | None":
        """The party type and organisation a customer (``own``: its id, or the new customer)
        has once ``row`` goes into it — all of the row for an update, only what is empty for a
        merge — or None when the row is refused."""
        new_party = row.scalars.get("party_type", party_type) if overwrite else party_type
        new_organization = organization
        if row.organization_external_id and (overwrite or organization is None):
            new_organization = self.organisations.resolve(row.organization_external_id)
            if new_organization is None:  # its row went into a customer with another id, or
                # the stored one is gone
                return self._refused(row, overwrite, self.organisations.missing_reason(row))
            if _same(new_organization, own):
                return self._refused(
                    row,
                    overwrite,
                    field_reason(
                        "organization_external_id",
                        Summary(gettext_noop("a customer cannot be its own organisation")),
                    ),
                )
        if new_organization is not None and new_party != Customer.PartyType.PERSON:
            if new_party != party_type:
                reason = field_reason(
                    "party_type",
                    Summary(
                        gettext_noop("Remove the organisation first: only people belong to one.")
                    ),
                )
            else:
                reason = field_reason(
                    "organization_external_id",
                    Summary(gettext_noop("only people belong to an organisation")),
                )
            return self._refused(row, overwrite, reason)
        if (
            party_type == Customer.PartyType.ORGANIZATION
            and new_party != party_type
            and self._has_people(own, external_id)
        ):
            return self._refused(
                row,
                overwrite,
                field_reason(
                    "party_type",
                    Summary(
                        gettext_noop(
                            "An organisation with people cannot become a person: move its "
                            "people first."
                        )
                    ),
                ),
            )
        return new_party, new_organization

    def apply(self, customer: Customer, organization: "int | _NewCustomer | None") -> bool:
        """Make ``organization`` (as :meth:`settle` gave it) the stored customer's; whether that
        changed it. The organisation is set as an instance with its name, for the customer's
        company label, without reading it."""
        if isinstance(organization, _NewCustomer):
            target = organization.customer
        elif organization is None or organization == customer.organization_id:
            return False
        else:
            target = Customer(
                pk=organization,
                name=self.organisations.names.get(organization, ""),
                party_type=Customer.PartyType.ORGANIZATION,
            )
        if target.pk == customer.organization_id:
            return False
        customer.organization = target
        return True

    def _has_people(self, own: "int | _NewCustomer", external_id: str | None) -> bool:
        """Whether ``own`` has people, its external id being ``external_id`` so far."""
        if external_id and external_id in self.heirs_people.get(_heir_key(own), ()):
            return True
        if isinstance(own, _NewCustomer):
            return own.row.number in self.new_with_people
        return own in self.stored_with_people

    def _refused(self, row: CustomerRow, overwrite: bool, reason: Reason) -> None:
        self.refuse(row, overwrite, reason)
        return None


def _same(target: "int | _NewCustomer", own: "int | _NewCustomer") -> bool:
    if isinstance(target, _NewCustomer) or isinstance(own, _NewCustomer):
        return target is own
    return target == own


def _in_recycle_bin(shown_id: int | str) -> Summary:
    return Summary(
        gettext_noop("the customer %(id)s is in the recycle bin; restore it first"),
        {"id": shown_id},
    )


def _not_yours(external_id: str) -> Summary:
    """Why a row keyed by the external id of a customer the user may not change is rejected,
    whatever its cells say: no correction of them would let it in."""
    return Summary(
        gettext_noop("external_id: the customer %(id)s exists, and it is not yours to change"),
        {"id": external_id},
    )


def _no_such_guanxi_id(guanxi_id: int) -> Summary:
    """Why a row with the Guanxi id of no customer the user may see is rejected: the same for a
    customer they may not see, so that an import never tells which ids exist."""
    return Summary(
        gettext_noop("guanxi_id: no customer %(id)s that you can see"), {"id": guanxi_id}
    )


def _not_yours_by_guanxi_id(guanxi_id: int) -> Summary:
    """As :func:`_not_yours`, for a row keyed by its Guanxi id."""
    return Summary(
        gettext_noop("guanxi_id: the customer %(id)s exists, and it is not yours to change"),
        {"id": guanxi_id},
    )


def _gone_reason(row: CustomerRow, *, by_external_id: bool) -> Summary:
    """Why a row whose customer went away during the import is rejected (see ``process_batch``):
    the customer its Guanxi id or external id names, or the one it (or the row it follows) was
    merged into."""
    if row.guanxi_id is not None:
        return Summary(
            gettext_noop(
                "guanxi_id: the customer %(id)s was deleted, merged or given to someone else "
                "during the import; import this row again"
            ),
            {"id": row.guanxi_id},
        )
    if by_external_id:
        return Summary(
            gettext_noop(
                "external_id: the customer %(id)s was deleted, merged or given to someone else "
                "during the import; import this row again"
            ),
            {"id": row.external_id},
        )
    return Summary(
        gettext_noop(
            "name: the customer this row duplicates was deleted, merged or given to someone else "
            "during the import; import this row again"
        )
    )


def _names_owner(row: CustomerRow) -> bool:
    """Whether ``row`` gives a stored customer an owner: its ``owner_id`` is otherwise only the
    importing user, the default owner of a new customer (see :func:`_apply_scalars`)."""
    return "owner_id" in row.scalars and "owner" in row.cells


def _hands_over_or_renames(
    row: CustomerRow, overwrite: bool, owner_id: int | None, name: str
) -> bool:
    """Whether ``row`` gives the organisation it goes into, owned by ``owner_id`` and called
    ``name``, another owner or another name, as :func:`_apply_scalars` would write them: the
    database then writes the owner to its people, and the import rebuilds their search text."""
    values = [(row.scalars["owner_id"], owner_id)] if _names_owner(row) else []
    if "name" in row.scalars:
        values.append((row.scalars["name"], name))
    return any(
        value != current and (overwrite or current in (None, "")) for value, current in values
    )


def _runs(ids: list[int], changed: set[int]) -> Iterator[list[int]]:
    """``ids`` (ascending) cut where they pass into or out of ``changed``, each piece a
    statement's worth at most: the organisations :meth:`CustomerImporter._locked_customers`
    locks with one strength in one statement, in ascending order piece after piece."""
    run: list[int] = []
    for pk in ids:
        if run and ((pk in changed) != (run[0] in changed) or len(run) == CUSTOMERS_PER_STATEMENT):
            yield run
            run = []
        run.append(pk)
    if run:
        yield run


def _apply_scalars(
    customer: Customer, row: CustomerRow, *, overwrite: bool, blind: bool = False
) -> bool:
    """Put a row's values on a customer: all of them for an update by external id, only into
    empty fields for a merge. Returns whether anything changed.

    ``blind``: the importer may not see ID numbers in full. An ID number such an importer gives
    is then written, and the row counted as a change, even when it is the stored one: the edit
    form lets them set one too, but "updated, unchanged" for the right number and "updated" for
    a wrong one would tell them whether a guess is the customer's (the audit row says the same,
    see ``blind_id_number_change``). Refusing the column would take from them what the form
    allows; the cost is only that their re-import of a file with ID numbers is never unchanged."""
    changed = False
    for name, value in row.scalars.items():
        if name == "owner_id" and not _names_owner(row):
            # The importing user is only the default owner of new customers: a customer without
            # one (in the pool, or exported with its owner cell blank) is not taken by them.
            continue
        if name == "company" and customer.organization_id and value == customer.organization.name:
            # The customer export's company of a person of an organisation is the organisation's
            # name: imported again, it is that organisation, not a company of their own to copy.
            continue
        current = getattr(customer, name)
        if current == value:
            continue
        if overwrite or current in (None, ""):
            setattr(customer, name, value)
            changed = True
    if row.external_id and not customer.external_id:
        customer.external_id = row.external_id
        changed = True
    if row.id_number and (overwrite or not customer.id_number_hash):
        digest = lookup_hash(row.id_number)
        if digest != customer.id_number_hash or blind:
            customer.id_number_encrypted = encrypt_text(row.id_number)
            customer.id_number_masked = mask_id_number(row.id_number)
            customer.id_number_hash = digest
            changed = True
    for key, value in row.custom_fields.items():
        if customer.custom_fields.get(key) != value and (
            overwrite or key not in customer.custom_fields
        ):
            customer.custom_fields = {**customer.custom_fields, key: value}
            changed = True
    return changed


def _record_with_ref(item: _NewCustomer, customer_id: int) -> MatchRecord:
    """The new customer's record with its id (for its stored keys), from its combined data."""
    data = item.data
    return match_record(
        ref=customer_id,
        name=data["scalars"]["name"],
        party_type=data["scalars"].get("party_type", PERSON),
        company=item.company,
        phones=[p.parsed.e164 for p in data["phones"]],
        emails=[e["address"] for e in data["emails"]],
        id_number=item.customer.id_number_hash,
        birth_date=data["scalars"].get("birth_date"),
        addresses=data["addresses"],
    )
