"""Bulk loading of generated demo customers.

The ORM would need hours for a million customers with their phones, emails, interactions and
audit rows; this module writes the generator's rows straight into the tables instead:
PostgreSQL ``COPY`` (psycopg 3's ``cursor.copy``) there, batched ``executemany`` on SQLite.

Rows carry their own ids. Before writing, each table is locked against other writers and the
next free id is read; afterwards the table's id sequence is moved past the rows written, so
later inserts through the ORM continue after them. On PostgreSQL the foreign keys of those
tables are dropped for the load and added back (and so checked) at the end, and their GIN indexes
(the customer search index) are dropped and built again afterwards. Everything happens in
one transaction: an interrupted load leaves nothing behind. The locks this takes make other
sessions wait for the customer tables (and to change users) until it commits, so a big load is
for a fresh or quiet database, not one serving people.
"""

import datetime as dt
import queue
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from django.db import connection, transaction
from django.db.models import DateField, DateTimeField, Model
from tqdm import tqdm

from guanxi.audit.models import AuditEvent
from guanxi.core.crypto import encrypt_text, lookup_hash
from guanxi.core.masking import mask_id_number
from guanxi.customers.models import Address, Customer, Email, MarketingConsent, Phone, Tag
from guanxi.interactions.models import Interaction
from guanxi.orders.models import Invoice, Order, OrderLine, Payment

from .generator import COLUMNS, TAGS, Chunk, CustomerGenerator, IdNumberStorage, StaffIds
from .language import every_wording, worded
from .orders import BUYING_STAGES, ORDER_COLUMNS, Customers, block_rows, day_number, generate_orders

MODELS: dict[str, type[Model]] = {
    "customer": Customer,
    "phone": Phone,
    "email": Email,
    "address": Address,
    "customer_tag": Customer.tags.through,
    "consent": MarketingConsent,
    "interaction": Interaction,
    "audit_event": AuditEvent,
}
ORDER_MODELS: dict[str, type[Model]] = {"order": Order, "invoice": Invoice, "payment": Payment}


def protect_id_number(value: str) -> IdNumberStorage:
    """Encrypted, masked and hashed forms, exactly as ``customers.services`` stores them."""
    return IdNumberStorage(encrypt_text(value), mask_id_number(value), lookup_hash(value))


@dataclass(frozen=True)
class _Table:
    name: str
    columns: tuple[str, ...]
    datetime_positions: tuple[int, ...]
    date_positions: tuple[int, ...]


def _table(model: type[Model], attnames: tuple[str, ...]) -> _Table:
    fields = {f.attname: f for f in model._meta.concrete_fields}
    missing = set(fields) - set(attnames)
    if missing:  # a new column would otherwise silently get no value
        raise RuntimeError(
            f"The demo generator does not fill {model._meta.db_table}.{', '.join(sorted(missing))}"
        )
    return _Table(
        name=model._meta.db_table,
        columns=tuple(fields[a].column for a in attnames),
        datetime_positions=tuple(
            i for i, a in enumerate(attnames) if isinstance(fields[a], DateTimeField)
        ),
        date_positions=tuple(
            i
            for i, a in enumerate(attnames)
            if isinstance(fields[a], DateField) and not isinstance(fields[a], DateTimeField)
        ),
    )


class _PostgresWriter:
    def __init__(self, cursor):
        self.cursor = cursor
        self.raw = cursor.cursor  # psycopg's own cursor, for COPY
        self.sequences: dict[str, str] = {}
        self.foreign_keys: list[tuple[str, str, str]] = []
        self.gin_indexes: list[tuple[str, str, list]] = []

    def suspend_foreign_keys(self, tables: list[_Table]) -> None:
        """Drop the foreign keys of the tables about to be filled; :meth:`restore_foreign_keys`
        adds them back. Checked row by row (Django makes them deferred, so at COMMIT) they cost
        more than the load itself; added back afterwards, each is checked by one join over the
        whole table. This is PostgreSQL's own advice for populating a database, and it happens
        inside the load's transaction, so the constraints are never missing for anyone else."""
        self.cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)"
            " FROM pg_constraint WHERE contype = 'f' AND conrelid = ANY(%s::regclass[])"
            " ORDER BY conrelid::regclass::text, conname",
            [[t.name for t in tables]],
        )
        self.foreign_keys = self.cursor.fetchall()
        # A table with deferred checks still pending in this transaction (users made just
        # before, say) cannot be altered; run those checks now.
        connection.check_constraints()
        for table, name, _definition in self.foreign_keys:
            self.cursor.execute(
                f"ALTER TABLE {table} DROP CONSTRAINT {connection.ops.quote_name(name)}"
            )

    def restore_foreign_keys(self) -> None:
        for table, name, definition in self.foreign_keys:
            self.cursor.execute(
                f"ALTER TABLE {table} ADD CONSTRAINT {connection.ops.quote_name(name)} {definition}"
            )

    def suspend_gin_indexes(self, tables: list[_Table]) -> None:
        """Drop the GIN indexes of the tables about to be filled; :meth:`restore_gin_indexes`
        builds them again. The customer search index holds some sixty tokens a customer:
        kept up to date row by row it costs about 0.5 ms a customer (measured adding 100,000
        to a million), built once at the end about 0.1 ms. Inside the transaction, so nobody
        else sees the index missing."""
        # With each index, the statistics targets set on its columns (they go with it).
        self.cursor.execute(
            "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid),"
            " ARRAY(SELECT ARRAY[attnum, attstattarget] FROM pg_attribute"
            "       WHERE attrelid = indexrelid AND attstattarget >= 0 ORDER BY attnum)"
            " FROM pg_index JOIN pg_class ON pg_class.oid = pg_index.indexrelid"
            " JOIN pg_am ON pg_am.oid = pg_class.relam"
            " WHERE pg_am.amname = 'gin' AND indrelid = ANY(%s::regclass[])"
            " ORDER BY 1",
            [[t.name for t in tables]],
        )
        self.gin_indexes = self.cursor.fetchall()
        for name, _definition, _targets in self.gin_indexes:
            self.cursor.execute(f"DROP INDEX {name}")

    def restore_gin_indexes(self) -> None:
        # The build collects entries in maintenance_work_mem and writes them out when it is full.
        # More memory did not help: for a million customers 512 MB took 120 s against 80 s with
        # the default 64 MB (a bigger in-memory tree is slower to insert into).
        for name, definition, targets in self.gin_indexes:
            self.cursor.execute(definition)
            for column, target in targets:
                self.cursor.execute(
                    f"ALTER INDEX {name} ALTER COLUMN {int(column)} SET STATISTICS {int(target)}"
                )

    def first_id(self, table: _Table) -> int:
        quoted = connection.ops.quote_name(table.name)
        # Blocks other writers until we commit, so no one else takes an id from the range we
        # are about to fill.
        self.cursor.execute(f"LOCK TABLE {quoted} IN SHARE ROW EXCLUSIVE MODE")
        self.cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table.name])
        sequence = self.cursor.fetchone()[0]
        self.sequences[table.name] = sequence
        # Names come from the catalogue, not from input.
        self.cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {quoted}")  # noqa: S608
        highest = self.cursor.fetchone()[0]
        self.cursor.execute(f"SELECT last_value, is_called FROM {sequence}")  # noqa: S608
        last_value, is_called = self.cursor.fetchone()
        return max(highest, last_value if is_called else last_value - 1) + 1

    def write(self, table: _Table, rows: list[tuple]) -> None:
        if not rows:
            return
        columns = ", ".join(connection.ops.quote_name(c) for c in table.columns)
        with self.raw.copy(
            f"COPY {connection.ops.quote_name(table.name)} ({columns}) FROM STDIN"
        ) as copy:
            for row in rows:
                copy.write_row(row)

    def finish(self, table: _Table, next_id: int, first_id: int) -> None:
        if next_id > first_id:
            self.cursor.execute(
                "SELECT setval(%s::regclass, %s)", [self.sequences[table.name], next_id - 1]
            )


class _SqliteWriter:
    """SQLite checks the (deferred) foreign keys at commit, quickly enough for demo sizes."""

    def __init__(self, cursor):
        self.cursor = cursor
        self.adapt_datetime = connection.ops.adapt_datetimefield_value
        self.adapt_date = connection.ops.adapt_datefield_value

    def first_id(self, table: _Table) -> int:
        quoted = connection.ops.quote_name(table.name)
        self.cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {quoted}")  # noqa: S608
        highest = self.cursor.fetchone()[0]
        # AUTOINCREMENT tables never reuse an id, even of a deleted row; neither do we.
        self.cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table.name])
        row = self.cursor.fetchone()
        return max(highest, row[0] if row else 0) + 1

    def write(self, table: _Table, rows: list[tuple]) -> None:
        if not rows:
            return
        if table.datetime_positions or table.date_positions:
            rows = [self._adapt(table, row) for row in rows]
        columns = ", ".join(connection.ops.quote_name(c) for c in table.columns)
        placeholders = ", ".join(["%s"] * len(table.columns))
        self.cursor.executemany(
            f"INSERT INTO {connection.ops.quote_name(table.name)} ({columns})"  # noqa: S608
            f" VALUES ({placeholders})",
            rows,
        )

    def _adapt(self, table: _Table, row: tuple) -> list:
        values = list(row)
        for i in table.datetime_positions:
            if values[i] is not None:
                values[i] = self.adapt_datetime(values[i])
        for i in table.date_positions:
            if values[i] is not None:
                values[i] = self.adapt_date(values[i])
        return values

    def suspend_foreign_keys(self, tables: list[_Table]) -> None:
        pass

    def restore_foreign_keys(self) -> None:
        pass

    def suspend_gin_indexes(self, tables: list[_Table]) -> None:
        """SQLite's search table is kept by triggers, row by row; quick enough for demo sizes."""

    def restore_gin_indexes(self) -> None:
        pass

    def finish(self, table: _Table, next_id: int, first_id: int) -> None:
        """SQLite moves an AUTOINCREMENT table's sequence past explicit ids by itself."""


_Item = TypeVar("_Item")


def _customer_chunks(generator: CustomerGenerator, count: int, chunk_size: int) -> Iterator[Chunk]:
    remaining = count
    while remaining > 0:
        size = min(chunk_size, remaining)
        yield generator.chunk(size)
        remaining -= size


def _made_ahead(items: Iterator[_Item]) -> Iterator[_Item]:
    """``items``, made one or two ahead in a second thread.

    While the database takes in one chunk (the loading thread waits on the socket and releases
    the GIL), the next one is being generated; measured, this takes about a quarter off a
    million-customer load on two cores. The items come out in order, so the data is the same as
    generating them inline.
    """
    made: queue.Queue = queue.Queue(maxsize=2)
    stop = threading.Event()

    def produce() -> None:
        item: object = None
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        made.put(item, timeout=0.5)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            item = None
        except BaseException as exc:  # handed to the loading thread, which raises it
            item = exc
        while not stop.is_set():
            try:
                made.put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    thread = threading.Thread(target=produce, name="demo-data-generator", daemon=True)
    thread.start()
    try:
        while True:
            item = made.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


# The generator's English tags in Chinese, for a demo in Chinese (its others are Chinese, or VIP).
CHINESE_TAGS = {"key account": "大客户", "newsletter": "订阅简报", "price sensitive": "价格敏感"}


def _demo_tag_ids(language: str) -> dict[str, int]:
    """The ids of the demo's tags by their names, made in ``language`` where missing. One a
    load in another language made is found under its name in that one and given again, as the
    departments and teams are, instead of a second tag of the same meaning."""
    ids: dict[str, int] = {}
    for name in TAGS:
        chinese = CHINESE_TAGS.get(name, name)
        own = worded(name, chinese, language)
        tag = (
            Tag.objects.filter(name=own).first()
            or Tag.objects.filter(name__in=every_wording(name, chinese)).order_by("pk").first()
            or Tag.objects.get_or_create(name=own)[0]
        )
        ids[tag.name] = tag.pk
    return ids


def load_customers(
    *,
    count: int,
    seed: int,
    staff: StaffIds,
    language: str = "en",
    now: dt.datetime | None = None,
    chunk_size: int = 5000,
    progress: bool = True,
) -> dict[str, int]:
    """Generate ``count`` customers with their related rows and write them, their tags in
    ``language``; return how many rows went into each table."""
    from django.utils import timezone

    now = now or timezone.now()
    tables = {key: _table(MODELS[key], COLUMNS[key]) for key in COLUMNS}
    written = dict.fromkeys(COLUMNS, 0)
    with transaction.atomic(), connection.cursor() as cursor:
        writer = (
            _PostgresWriter(cursor) if connection.vendor == "postgresql" else _SqliteWriter(cursor)
        )
        tag_ids = _demo_tag_ids(language)
        first_ids = {key: writer.first_id(table) for key, table in tables.items()}
        writer.suspend_foreign_keys(list(tables.values()))
        writer.suspend_gin_indexes(list(tables.values()))
        generator = CustomerGenerator(
            total=count,
            seed=seed,
            now=now,
            staff=staff,
            tag_ids=tag_ids,
            first_ids=first_ids,
            protect_id_number=protect_id_number,
        )
        with tqdm(
            total=count,
            unit=" customers",
            unit_scale=True,
            file=sys.stderr,
            disable=not progress,
            dynamic_ncols=True,
        ) as bar:
            for chunk in _made_ahead(_customer_chunks(generator, count, chunk_size)):
                for key, rows in chunk.rows.items():
                    writer.write(tables[key], rows)
                    written[key] += len(rows)
                bar.update(chunk.customer_count)
        writer.restore_foreign_keys()
        writer.restore_gin_indexes()
        for key, table in tables.items():
            writer.finish(table, generator.next_id[key], first_ids[key])
    if connection.vendor == "postgresql":
        # Fresh statistics, so the planner knows the tables grew by orders of magnitude.
        with connection.cursor() as cursor:
            for table in tables.values():
                cursor.execute(f"ANALYZE {connection.ops.quote_name(table.name)}")
    return written


# --- orders ----------------------------------------------------------------------------------


def order_customers(*, after_id: int = 0) -> Customers:
    """The customers (not deleted, id above ``after_id``) orders are made for, as arrays."""
    from django.utils import timezone

    rows = list(
        Customer.objects.filter(deleted_at__isnull=True, pk__gt=after_id)
        .order_by("pk")
        .values_list("pk", "party_type", "lifecycle_stage", "created_at", "owner_id")
        .iterator(chunk_size=20_000)
    )
    columns = list(zip(*rows, strict=True)) if rows else [()] * 5
    ids, party_types, stages, created, owners = columns
    return Customers(
        ids=np.array(ids, dtype=np.int64),
        is_organisation=np.array(party_types, dtype=object) == Customer.PartyType.ORGANIZATION,
        buys=np.isin(np.array(stages, dtype=object), BUYING_STAGES),
        since=np.array(
            [day_number(timezone.localdate(value)) for value in created], dtype=np.int64
        ),
        created_by=np.array([owner or 0 for owner in owners], dtype=np.int64),
    )


def delete_orders() -> None:
    """Every order, order line, invoice and payment (on PostgreSQL with their id sequences
    restarted, so a reload hands out the same ids), and the links of tickets to them."""
    from guanxi.service.models import Ticket

    models = (Ticket.orders.through, Payment, Invoice, OrderLine, Order)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            names = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in models)
            cursor.execute(f"TRUNCATE {names} RESTART IDENTITY")
        else:
            for model in models:
                cursor.execute(f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)}")  # noqa: S608


def load_orders(
    *,
    total: int,
    seed: int,
    now: dt.datetime | None = None,
    after_customer_id: int = 0,
    replace: bool = False,
    progress: bool = True,
) -> dict[str, int]:
    """Generate ``total`` orders (with invoices and payments) for the customers with ids above
    ``after_customer_id`` and write them, after deleting every existing order when ``replace``;
    return how many rows went into each table. See :mod:`guanxi.demo.orders` for the model."""
    from django.utils import timezone

    now = now or timezone.now()
    tables = {key: _table(ORDER_MODELS[key], ORDER_COLUMNS[key]) for key in ORDER_COLUMNS}
    written = dict.fromkeys(ORDER_COLUMNS, 0)
    with transaction.atomic():
        if replace:
            delete_orders()
        customers = order_customers(after_id=after_customer_id)
        with connection.cursor() as cursor:
            writer = (
                _PostgresWriter(cursor)
                if connection.vendor == "postgresql"
                else _SqliteWriter(cursor)
            )
            first_ids = {key: writer.first_id(table) for key, table in tables.items()}
            writer.suspend_foreign_keys(list(tables.values()))
            blocks = generate_orders(
                customers,
                total=total,
                seed=seed,
                today=day_number(timezone.localdate(now)),
                now_seconds=int(now.timestamp()),
                first_ids=first_ids,
            )
            with tqdm(
                total=total,
                unit=" orders",
                unit_scale=True,
                file=sys.stderr,
                disable=not progress,
                dynamic_ncols=True,
            ) as bar:
                for rows in _made_ahead(block_rows(block) for block in blocks):
                    for key, table_rows in rows.items():
                        writer.write(tables[key], table_rows)
                        written[key] += len(table_rows)
                    bar.update(len(rows["order"]))
            writer.restore_foreign_keys()
            for key, table in tables.items():
                writer.finish(table, first_ids[key] + written[key], first_ids[key])
    if connection.vendor == "postgresql" and any(written.values()):
        with connection.cursor() as cursor:
            for table in tables.values():
                cursor.execute(f"ANALYZE {connection.ops.quote_name(table.name)}")
    return written
