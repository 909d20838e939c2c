"""What the importers of rows that belong to a customer (interactions, orders) share: running
the file batch by batch, finding each row's customer, and the rejected-row record.

A row names its customer by ``customer_external_id`` (followed through merges) or by Guanxi id
``customer_id``; the importing user must have ``customer_action`` on it (a customer out of their
sight is no customer, as one that does not exist is). A row whose own
``external_id`` names a record imported before rewrites it, so the user must have that right on
the customer the record belongs to now as well. Subclasses check one row in ``_clean`` and write
one batch in ``_run_batch`` (and counts it in the job in memory), inside the transaction
:meth:`LinkedRowImporter.run` opens for it, which saves the counts;
:meth:`LinkedRowImporter.check_rows` runs the same checks for a look before the import.
"""

from collections.abc import Callable, Iterable
from contextlib import ExitStack
from itertools import islice

from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from guanxi.audit.models import AuditEvent
from guanxi.core.locking import key_share_active_users
from guanxi.customers.models import Customer
from guanxi.customers.services import CUSTOMER_LOCK_ORDER
from guanxi.customers.visibility import VIEW
from guanxi.dedup.selectors import merge_successors
from guanxi.web.params import int_param

from .cancelling import ImportCancelled, stop_if_cancel_requested
from .customer_import import BATCH_SIZE, COUNTED, importer_deactivated
from .dry_run import dry_run_database
from .mapping import ColumnMapping
from .models import ImportJob, ImportRowError
from .readers import SourceRow, TableFile
from .reasons import Reason, field_reason, reasons_text, stored_reasons


def customer_column(values: dict[str, str]) -> str:
    """The column a mapped row names its customer by: its external id when it has one."""
    return "customer_external_id" if values.get("customer_external_id") else "customer_id"


class LinkedRowImporter:
    customer_action: int  # the visibility level the rows need on their customer
    model: type[models.Model]  # what a row becomes; it has ``external_id`` and ``customer``

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
        job = self.job  # claimed as running by import_job_run
        rows = iter(self.table.rows(start_after=job.last_row))
        try:
            with ExitStack() as dry_run:
                if job.dry_run:
                    # One transaction rolled back at the end, on SQLite against a copy of the
                    # database (see ``dry_run``).
                    dry_run.enter_context(dry_run_database())
                    dry_run.enter_context(transaction.atomic())
                    dry_run.callback(transaction.set_rollback, True)
                while batch := list(islice(rows, self.batch_size)):
                    # Between batches, so that a stopped import has written whole batches (a
                    # stopped dry run is cancelled with nothing kept: all it wrote is undone).
                    stop_if_cancel_requested(job)
                    with transaction.atomic():
                        self._run_batch(batch)
                        if not job.dry_run:
                            # A dry run writes them as it ends: on PostgreSQL, writing the job's
                            # row in its transaction would lock it to the end, and a request
                            # to stop would wait for the whole file instead of stopping it.
                            job.save(update_fields=COUNTED)
                    self.progress(len(batch))
        except ImportCancelled:
            # A stopped dry run keeps nothing: its counts went with all it wrote, and so go
            # its rejected rows.
            self._dry_run_errors = []
            raise
        finally:
            if job.dry_run:
                ImportRowError.objects.bulk_create(self._dry_run_errors, batch_size=2000)
        job.status = ImportJob.Status.FINISHED
        job.finished_at = timezone.now()
        # Only what the run owns: a request to stop that came after the last batch stays
        # recorded (the whole row from memory would write its time and asker back empty).
        job.save(update_fields=["status", "finished_at", *COUNTED])
        return job

    def _run_batch(self, batch: list[SourceRow]) -> None:
        raise NotImplementedError

    def _users_named(self, rows: list[dict[str, str]]) -> set[int]:
        """The ids of the active users the batch's mapped ``rows`` name, as :meth:`_customers`
        looked them up, which the records written will name: none by default."""
        return set()

    def _users_left(self, user_ids: set[int]) -> None:
        """Those of :meth:`_users_named` found inactive or gone once locked, though active when
        looked up: from now on the rows naming them are refused as rows naming someone
        inactive are."""

    def _refused(self, reference: str) -> str:
        """Why a row may not go to the customer it names (one the user may not act on)."""
        raise NotImplementedError

    def _refused_rewrite(self, external_id: str) -> str:
        """Why a row may not rewrite the record imported before under its external id (that
        belongs to a customer the user may not act on)."""
        raise NotImplementedError

    def _clean(
        self, values: dict[str, str], customers: dict[str, int | Reason]
    ) -> tuple[tuple[str | None, dict] | None, list[Reason]]:
        """``((external_id, fields), [])`` for a row that can be imported, else
        ``(None, reasons)``; ``customers`` is what :meth:`_customers` found."""
        raise NotImplementedError

    def _checked(self, batch: list[SourceRow]):
        """The batch's rows checked, nothing written: the good ones as ``(source, external_id,
        fields)``, the others as ``(source, reasons)``, and the records imported before under
        the rows' external ids, as external id -> (id, customer id)."""
        rejected: list[tuple[SourceRow, list[Reason]]] = []
        mapped = []
        for source in batch:
            if source.problem:
                rejected.append((source, [source.problem]))
            else:
                mapped.append((source, self.mapping.apply(source.cells)))
        customers = self._customers([values for _s, values in mapped])
        existing = {
            external_id: (pk, customer_id)
            for external_id, pk, customer_id in self.model.objects.filter(
                external_id__in=[v["external_id"] for _s, v in mapped if v.get("external_id")]
            ).values_list("external_id", "pk", "customer_id")
        }
        if transaction.get_connection().in_atomic_block:
            # A look before the import (outside a transaction) only reads, and locks nothing.
            # The importing user, whom every record written names, and the users the rows name,
            # before the customers and in one statement: a deactivation locks the leaver (and
            # their successor) and then the customers they own, and with the customers held
            # first the two waited for each other as the batch committed. One under way is
            # waited for; whoever it made inactive writes nothing more, and is named by no
            # record the batch writes.
            named = self._users_named([values for _s, values in mapped])
            active = key_share_active_users([self.actor.pk, *named])
            if self.actor.pk not in active:
                raise importer_deactivated(self.actor)
            self._users_left(named - active)
            customers, existing = self._locked(customers, existing)
        # Rewriting a record moves it to the row's customer: the user must be allowed on the
        # customer it belongs to now too, or a row could rewrite (or take away) what they
        # cannot even see.
        allowed = self._allowed({customer_id for _pk, customer_id in existing.values()})
        checked = []
        for source, values in mapped:
            cleaned, reasons = self._clean(values, customers)
            external_id = cleaned[0] if cleaned is not None else None
            if external_id in existing and existing[external_id][1] not in allowed:
                cleaned, reasons = None, [self._refused_rewrite(external_id)]
            checked.append((source, values, cleaned, reasons))
        # The records the good rows would move to another customer, asked about together, each
        # with the customer its row names (two rows of one record may name two).
        moves = {
            (existing[cleaned[0]][0], cleaned[1]["customer_id"])
            for _s, _v, cleaned, _r in checked
            if cleaned is not None
            and cleaned[0] in existing
            and existing[cleaned[0]][1] != cleaned[1]["customer_id"]
        }
        rewritten = {
            existing[cleaned[0]][0]
            for _s, _v, cleaned, _r in checked
            if cleaned is not None and cleaned[0] in existing
        }
        kept = self._kept_where_they_are(moves, rewritten)
        good = []
        for source, values, cleaned, reasons in checked:
            if cleaned is not None and cleaned[0] in existing:
                move = (existing[cleaned[0]][0], cleaned[1]["customer_id"])
                if move in kept:
                    cleaned, reasons = None, [field_reason(customer_column(values), kept[move])]
            if cleaned is None:
                rejected.append((source, reasons))
            else:
                good.append((source, *cleaned))
        return good, rejected, existing

    def _kept_where_they_are(
        self, moves: set[tuple[int, int]], rewritten: set[int]
    ) -> dict[tuple[int, int], Reason]:
        """Why some of the records may not move as the rows would move them, each move a
        (record id, new customer id): move -> reason, naming no column. ``rewritten``: the ids
        of every record the good rows rewrite, the moving ones among them. None is kept by
        default."""
        return {}

    def check_rows(self, rows: list[SourceRow]) -> list[tuple[int, str]]:
        """The rows that would be rejected, as (row number, reasons), found with the checks of
        a run; nothing is written."""
        _good, rejected, _existing = self._checked(rows)
        return sorted(
            (source.number, reasons_text(reasons, self.mapping)) for source, reasons in rejected
        )

    def _rewrite_events(
        self,
        record_id: int,
        *,
        now,
        changes: dict,
        customer_id: int,
        summary: str,
        stored_on: int,
        stored_summary: str,
    ) -> list[AuditEvent]:
        """The audit rows of record ``record_id`` rewritten by a row with ``changes``: under
        ``customer_id``, whose it is now, all of them (``summary`` naming it as it is now); and
        when the row moved it from customer ``stored_on``, under that one too, only that it went,
        named as it stood there (``stored_summary``). Both customers changed, so each one's
        history says so; but what the row wrote on the record is the new customer's, which
        whoever reads the history of the customer it left may not be allowed to see."""

        def event(customer: int, summary: str, changes: dict) -> AuditEvent:
            return AuditEvent(
                occurred_at=now,
                actor=self.actor,
                action=AuditEvent.Action.UPDATE,
                object_type=self.model._meta.model_name,
                object_id=record_id,
                customer_id=customer,
                summary=summary[:300],
                changes=changes,
            )

        events = [event(customer_id, summary, changes)]
        if stored_on != customer_id:
            events.append(event(stored_on, stored_summary, {"customer_id": changes["customer_id"]}))
        return events

    def _allowed(self, customer_ids: Iterable[int]) -> set[int]:
        """Those of the customers the importing user has ``customer_action`` on."""
        return set(
            Customer.objects.visible_to(self.actor, self.customer_action)
            .filter(pk__in=list(customer_ids))
            .values_list("pk", flat=True)
        )

    def _in_sight(self, customer_ids: Iterable[int]) -> set[int]:
        """Those of the customers the importing user may see."""
        if not customer_ids:
            return set()
        return set(
            Customer.objects.visible_to(self.actor, VIEW)
            .filter(pk__in=list(customer_ids))
            .values_list("pk", flat=True)
        )

    def _customers(self, rows: list[dict[str, str]]) -> dict[str, int | Reason]:
        """Customer by the row's reference ("e:<external id>" or "i:<id>") -> id or reason;
        a reference to no customer the user may see is left out."""
        external = {r["customer_external_id"] for r in rows if r.get("customer_external_id")}
        # Read as the pages read ids: str.isdigit() let "²" through to int(), which failed the
        # whole import instead of rejecting the row.
        ids = {r["customer_id"] for r in rows if int_param(r.get("customer_id")) is not None}
        found: dict[str, int | Reason] = {}
        candidates = Customer.objects.filter(
            Q(external_id__in=external) | Q(pk__in=[int_param(i) for i in ids])
        ).values_list("pk", "external_id", "deleted_at")
        candidates = list(candidates)
        # The customers merged away that rows name, looked up together.
        successors = merge_successors(pk for pk, _e, deleted_at in candidates if deleted_at)
        for pk, external_id, deleted_at in candidates:
            target = pk if deleted_at is None else successors.get(pk)
            if external_id in external:
                found[f"e:{external_id}"] = target or pk
            if str(pk) in ids:
                found[f"i:{pk}"] = target or pk
        return self._resolved(found)

    def _resolved(self, found: dict[str, int | Reason]) -> dict[str, int | Reason]:
        """``found`` (reference -> customer id) with each customer the user may not act on
        replaced by the reason, and each one out of their sight left out."""
        targets = {v for v in found.values() if isinstance(v, int)}
        allowed = self._allowed(targets)
        # Only a customer the user may see is refused as such. One out of their sight, or in
        # the recycle bin, is no customer, as an id or external id nobody has is: the reasons
        # of a file must not tell which customers exist.
        in_sight = allowed | self._in_sight(targets - allowed)
        for key, value in list(found.items()):
            if not isinstance(value, int):
                continue
            if value not in in_sight:
                del found[key]
            elif value not in allowed:
                found[key] = self._refused(key[2:])
        return found

    def _locked(
        self, customers: dict[str, int | Reason], existing: dict[str, tuple[int, int]]
    ) -> tuple[dict[str, int | Reason], dict[str, tuple[int, int]]]:
        """Lock the customers the batch touches until it commits, and take ``customers`` (as
        :meth:`_customers` found them) and ``existing`` (the records imported before, external
        id -> (id, customer id)) as they are once locked.

        They are the customers the rows name and those of the records the rows rewrite, locked
        in one query in the order every writer locks customers in (organisations, then people,
        each in ascending id order: ``CUSTOMER_LOCK_ORDER``), as a merge of customers locks
        both of its customers before it moves their records (see ``interaction_import``), and
        those these lead to after a merge, with them in the same order. FOR NO KEY UPDATE, the
        lock setting a customer's last contact takes, so that others may still add records to
        them meanwhile.

        They were looked up without a lock: a merge committed since may have moved a customer
        away, and its records with it. A row naming that one goes where the merge went, as a
        row naming a customer merged away before the import does (:meth:`_customers`), and
        where the merge would have moved what the row writes; or, when the user may not act
        on that customer, or the customer was deleted, it gets the reason the rows of such a
        customer get (which :meth:`_clean` gives under the customer column), as does a row
        naming a customer given since to someone else, out of the user's reach. Without this,
        the batch wrote to a customer in the recycle bin, or to one no longer the user's. A
        record another import moved meanwhile is where that import put it, and the user's
        right on that customer is asked (:meth:`_checked`)."""
        ids = {v for v in customers.values() if isinstance(v, int)}
        ids |= {customer_id for _pk, customer_id in existing.values()}
        while True:
            taken = transaction.savepoint()
            live = self._lock_customers(ids)
            gone = ids - live
            # Where the merges took them.
            successors = merge_successors(gone) if gone else {}
            # And where the records the rows rewrite are now: a merge moves them (but one
            # under a unique rule stays behind), and another import may have moved one to a
            # customer the user may not act on, whose record a row must not rewrite or take.
            # Read once their customers are locked, none moves away from them meanwhile.
            moved = dict(
                self.model.objects.filter(
                    pk__in=[pk for pk, _customer_id in existing.values()]
                ).values_list("pk", "customer_id")
            )
            more = {*successors.values(), *moved.values()} - ids
            if not more:
                transaction.savepoint_commit(taken)
                break
            # Not locked after the others: one of lower id, held by a merge into it waiting
            # for one of those, waited for it while it waited for the batch, a deadlock. The
            # locks are let go (the savepoint's) and all taken again in one ascending order;
            # the merge or import that made them the rows' customers has committed.
            transaction.savepoint_rollback(taken)
            ids |= more
        # The user's right on each is asked again now that it is locked, as the customer
        # import asks it as it locks its customers: one still there may have been given to
        # someone else since it was looked up, and the batch wrote to a customer the user may
        # no longer act on, or even see.
        followed = {
            key: successors.get(value, value)
            for key, value in customers.items()
            if isinstance(value, int)
        }
        resolved = self._resolved({k: v for k, v in followed.items() if v in live})
        for key in followed:
            # One deleted, or now out of the user's sight, is no customer.
            if key in resolved:
                customers[key] = resolved[key]
            else:
                del customers[key]
        existing = {
            external_id: (pk, moved.get(pk, customer_id))
            for external_id, (pk, customer_id) in existing.items()
        }
        return customers, existing

    @staticmethod
    def _lock_customers(ids: set[int]) -> set[int]:
        """Lock the customers ``ids`` (see :meth:`_locked`); those of them not in the recycle
        bin."""
        if not ids:
            return set()
        return {
            pk
            for pk, deleted_at in Customer.objects.select_for_update(no_key=True)
            .filter(pk__in=ids)
            .order_by(*CUSTOMER_LOCK_ORDER)
            .values_list("pk", "deleted_at")
            if deleted_at is None
        }

    def _error(self, source: SourceRow, reasons: list[Reason]) -> ImportRowError:
        return ImportRowError(
            job=self.job,
            row_number=source.number,
            cells=source.cells,
            reason=reasons_text(reasons, self.mapping),
            reasons=stored_reasons(reasons, self.mapping),
        )
