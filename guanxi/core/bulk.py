"""Writing many rows at once: ``COPY`` on PostgreSQL, plain batched statements elsewhere.

The ORM's ``bulk_create`` sends one INSERT with a parameter per value, which psycopg must parse
and PostgreSQL must plan, and ``bulk_update`` builds a CASE expression per field and row; for the
importer's tens of thousands of rows a minute both cost far more than the writing itself.
``COPY`` streams the rows instead, and updates go through a temporary table joined once.

Callers pass model instances (or, for simple rows, tuples); the values written are what
``save()`` would write (JSON as JSON, dates as dates), so the rows read back the same either way.
"""

import json
import zlib
from collections.abc import Iterable, Sequence
from contextlib import contextmanager

from django.db import connection
from django.db.models import JSONField, Model


def _fields(model: type[Model], names: Sequence[str] | None = None) -> list:
    return [
        f
        for f in model._meta.concrete_fields
        if names is None or f.attname in names or f.name in names
    ]


def _getter(field):
    """A function from an instance to the value its column receives."""
    attname = field.attname
    if isinstance(field, JSONField):

        def json_value(instance):
            value = getattr(instance, attname)
            return None if value is None else json.dumps(value, ensure_ascii=False)

        return json_value
    if connection.vendor == "postgresql":  # psycopg adapts Python values itself
        return lambda instance: getattr(instance, attname)
    return lambda instance: field.get_db_prep_save(getattr(instance, attname), connection)


def _copy(cursor, table: str, columns: list[str], rows: Iterable[Sequence]) -> None:
    with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def reserve_ids(model: type[Model], count: int) -> list[int]:
    """``count`` fresh primary keys from the table's sequence (PostgreSQL), for rows written with
    :func:`insert` and pointed at by other rows of the same batch."""
    if count == 0:
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [model._meta.db_table])
        sequence = cursor.fetchone()[0]
        cursor.execute("SELECT nextval(%s) FROM generate_series(1, %s)", [sequence, count])
        return [row[0] for row in cursor.fetchall()]


def insert(instances: Sequence[Model], *, with_ids: bool = False) -> None:
    """Insert the instances. With ``with_ids`` they carry their primary keys already (see
    :func:`reserve_ids`); otherwise the database assigns them (and on PostgreSQL they are not
    read back)."""
    if not instances:
        return
    model = type(instances[0])
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(instances, batch_size=500)
        return
    fields = [f for f in _fields(model) if with_ids or not f.primary_key]
    getters = [_getter(f) for f in fields]
    columns = [connection.ops.quote_name(f.column) for f in fields]
    with connection.cursor() as cursor:
        _copy(
            cursor,
            connection.ops.quote_name(model._meta.db_table),
            columns,
            ([get(instance) for get in getters] for instance in instances),
        )


def insert_values(model: type[Model], columns: Sequence[str], rows: Sequence[Sequence]) -> None:
    """Insert plain tuples of values for ``columns`` (attribute names) — for rows too many and
    too simple to be worth model instances, such as blocking keys."""
    if not rows:
        return
    table = connection.ops.quote_name(model._meta.db_table)
    by_attname = {f.attname: f for f in model._meta.concrete_fields}
    quoted = [connection.ops.quote_name(by_attname[c].column) for c in columns]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            _copy(cursor, table, quoted, rows)
        else:
            marks = ", ".join(["%s"] * len(columns))
            cursor.executemany(
                f"INSERT INTO {table} ({', '.join(quoted)}) VALUES ({marks})",  # noqa: S608
                [tuple(row) for row in rows],
            )


def update(instances: Iterable[Model], field_names: Sequence[str]) -> None:
    """Write ``field_names`` of existing rows, one statement for all of them."""
    instances = list(instances)
    if not instances:
        return
    model = type(instances[0])
    fields = _fields(model, field_names)
    if connection.vendor != "postgresql":
        model._default_manager.bulk_update(instances, [f.name for f in fields], batch_size=200)
        return
    table = connection.ops.quote_name(model._meta.db_table)
    columns = [model._meta.pk, *fields]
    quoted = [connection.ops.quote_name(f.column) for f in columns]
    getters = [_getter(f) for f in columns]
    # One scratch table per model and set of columns, made once per database session: the
    # columns and types of the real table, none of its constraints, emptied at every commit.
    signature = zlib.crc32(",".join(quoted).encode())
    name = f"bulk_{model._meta.db_table}_{signature:x}"
    scratch = connection.ops.quote_name(name)
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [f"pg_temp.{name}"])
        if cursor.fetchone()[0] is None:
            cursor.execute(
                f"CREATE TEMPORARY TABLE {scratch} ON COMMIT DELETE ROWS AS "  # noqa: S608
                f"SELECT {', '.join(quoted)} FROM {table} WITH NO DATA"
            )
        else:
            cursor.execute(f"TRUNCATE {scratch}")
        _copy(cursor, scratch, quoted, ([get(i) for get in getters] for i in instances))
        assignments = ", ".join(f"{column} = s.{column}" for column in quoted[1:])
        cursor.execute(
            f"UPDATE {table} t SET {assignments} FROM {scratch} s "  # noqa: S608
            f"WHERE t.{quoted[0]} = s.{quoted[0]}"
        )


@contextmanager
def indexes_suspended(model: type[Model]):
    """Drop a table's secondary indexes, unique constraints and foreign keys (PostgreSQL) while
    it is filled from empty, and build them again at the end, in the caller's transaction: one
    sort per index and one join per foreign key instead of millions of insertions and row-by-row
    checks, and nobody else sees them missing. Elsewhere a no-op. The primary key stays."""
    if connection.vendor != "postgresql":
        yield
        return
    table = model._meta.db_table
    # A table with deferred foreign-key checks still pending in this transaction cannot be
    # altered; run those checks now.
    connection.check_constraints()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = %s::regclass AND contype IN ('u', 'f')",
            [table],
        )
        constraints = cursor.fetchall()
        cursor.execute(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i"
            " WHERE i.indrelid = %s::regclass AND NOT i.indisprimary"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
            [table],
        )
        indexes = cursor.fetchall()
        quoted = connection.ops.quote_name(table)
        for name, _definition in constraints:
            cursor.execute(
                f"ALTER TABLE {quoted} DROP CONSTRAINT {connection.ops.quote_name(name)}"
            )
        for name, _definition in indexes:
            cursor.execute(f"DROP INDEX {name}")
    yield
    connection.check_constraints()  # (the rows just written have pending checks too)
    with connection.cursor() as cursor:
        for _name, definition in indexes:
            cursor.execute(definition)
        for name, definition in constraints:
            cursor.execute(
                f"ALTER TABLE {quoted} ADD CONSTRAINT {connection.ops.quote_name(name)} "
                f"{definition}"
            )
