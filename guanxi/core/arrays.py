"""Query results straight into numpy arrays, for aggregations that return a row per customer.

Fetching a million rows the usual way builds a million tuples of Python ints, floats and dates,
then the caller takes them apart again into arrays: at a million customers that took ten of the
analytics refresh's forty seconds. On PostgreSQL the query's rows are instead read with
``COPY … TO STDOUT (FORMAT BINARY)``, whose rows are all the same size when every column is a
non-null ``bigint`` or ``double precision``, so numpy reads the whole answer as one structured
array. No maintained library parses this format into numpy (``pgcopy`` writes it, psycopg reads
it row by row); the layout is small and documented with the ``COPY`` command.

Callers cast every column to ``BIGINT`` or ``DOUBLE PRECISION`` and replace NULLs (dates as day
numbers via :func:`day_number_sql`, with :data:`NO_DAY` for none). On SQLite the rows are
fetched as usual and converted, so the same call works on both databases.
"""

from collections.abc import Sequence

import numpy as np
from django.db import connection

# Binary COPY: an 11-byte signature, 32-bit flags and header-extension length, then per row a
# 16-bit field count and per field a 32-bit length and the value, big-endian; -1 ends the data.
_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
_DTYPES = {"i": ">i8", "f": ">f8"}
# A day number standing for "no date" (any date the data holds is far from it).
NO_DAY = -(2**31)


def day_number_sql(expression: str) -> str:
    """SQL for a date's day number (days since 1970-01-01), :data:`NO_DAY` for NULL."""
    if connection.vendor == "postgresql":
        return f"COALESCE(CAST(({expression}) - DATE '1970-01-01' AS BIGINT), {NO_DAY})"
    return f"COALESCE(CAST(julianday({expression}) - 2440587.5 AS INTEGER), {NO_DAY})"


def days_to_dates(days: np.ndarray) -> np.ndarray:
    """Day numbers to ``datetime64[D]``, :data:`NO_DAY` to NaT."""
    dates = days.astype("datetime64[D]")
    dates[days == NO_DAY] = np.datetime64("NaT")
    return dates


def fetch_columns(sql: str, params: Sequence, kinds: str) -> list[np.ndarray]:
    """The columns of ``sql``'s rows as arrays; ``kinds`` has one letter per column, ``i`` for
    ``bigint`` (int64) or ``f`` for ``double precision`` (float64). No value may be NULL."""
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        columns = list(zip(*rows, strict=True)) if rows else [()] * len(kinds)
        return [
            np.array(column, dtype=np.int64 if kind == "i" else np.float64)
            for column, kind in zip(columns, kinds, strict=True)
        ]
    data = bytearray()
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT BINARY)", params) as copy,
    ):
        for chunk in copy:
            data += chunk
    return _parse_binary_copy(bytes(data), kinds)


def _parse_binary_copy(data: bytes, kinds: str) -> list[np.ndarray]:
    if not data.startswith(_SIGNATURE):
        raise ValueError("not a binary COPY stream")
    extension = int.from_bytes(data[15:19], "big")
    start = 19 + extension
    end = len(data) - 2  # the trailer
    if int.from_bytes(data[end:], "big", signed=True) != -1:
        raise ValueError("binary COPY stream without its trailer")
    fields = [("count", ">i2")]
    for i, kind in enumerate(kinds):
        fields += [(f"length{i}", ">i4"), (f"value{i}", _DTYPES[kind])]
    row = np.dtype(fields)
    wrong = ValueError(
        f"rows are not {len(kinds)} columns of non-null BIGINT or DOUBLE PRECISION (a NULL, "
        "or a column of another type, changes the size of a row)"
    )
    if (end - start) % row.itemsize:
        raise wrong
    rows = np.frombuffer(data, dtype=row, count=(end - start) // row.itemsize, offset=start)
    if (rows["count"] != len(kinds)).any():
        raise wrong
    for i in range(len(kinds)):
        if (rows[f"length{i}"] != 8).any():
            raise wrong
    return [
        rows[f"value{i}"].astype(np.int64 if kind == "i" else np.float64)
        for i, kind in enumerate(kinds)
    ]
