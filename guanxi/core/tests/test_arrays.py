"""Query results read straight into arrays: the same answer on both databases, and a clear
error where the binary rows are not what the caller said."""

import datetime as dt
import struct

import numpy as np
import pytest
from django.db import connection

from guanxi.core.arrays import (
    NO_DAY,
    _parse_binary_copy,
    day_number_sql,
    days_to_dates,
    fetch_columns,
)
from guanxi.core.testing.factories import CustomerFactory


@pytest.mark.django_db
def test_rows_come_back_as_typed_columns_in_order():
    customers = CustomerFactory.create_batch(3)
    for i, customer in enumerate(customers):
        customer.birth_date = dt.date(1990, 1, 1) + dt.timedelta(days=i) if i else None
        customer.save()
    born_sql = day_number_sql("birth_date")
    ids, halves, born = fetch_columns(
        f"SELECT CAST(id AS BIGINT), CAST(id AS DOUBLE PRECISION) / 2, {born_sql} "  # noqa: S608
        "FROM customers_customer WHERE id IN (%s, %s, %s) ORDER BY id",
        [c.pk for c in customers],
        "ifi",
    )
    assert ids.dtype == np.int64 and halves.dtype == np.float64
    assert ids.tolist() == sorted(c.pk for c in customers)
    assert halves.tolist() == [pk / 2 for pk in ids.tolist()]
    assert born[0] == NO_DAY
    dates = days_to_dates(born)
    assert np.isnat(dates[0])
    assert dates[1:].tolist() == [dt.date(1990, 1, 2), dt.date(1990, 1, 3)]


@pytest.mark.django_db
def test_no_rows_give_empty_columns():
    ids, values = fetch_columns(
        "SELECT CAST(id AS BIGINT), CAST(0 AS DOUBLE PRECISION) FROM customers_customer "
        "WHERE id < 0",
        [],
        "if",
    )
    assert len(ids) == len(values) == 0
    assert ids.dtype == np.int64 and values.dtype == np.float64


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the binary path is PostgreSQL's")
def test_a_null_is_refused_not_misread():
    CustomerFactory()
    with pytest.raises(ValueError, match="a NULL"):
        fetch_columns(
            "SELECT CAST(id AS BIGINT), CAST(NULL AS BIGINT) FROM customers_customer", [], "ii"
        )


def _stream(rows: list[tuple], formats: str) -> bytes:
    header = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
    body = b"".join(
        struct.pack(">h", len(row))
        + b"".join(struct.pack(">i" + f, 8, value) for f, value in zip(formats, row, strict=True))
        for row in rows
    )
    return header + body + struct.pack(">h", -1)


def test_the_binary_layout_is_read_and_checked():
    data = _stream([(1, 2.5), (-3, 1e300)], "qd")
    ids, values = _parse_binary_copy(data, "if")
    assert ids.tolist() == [1, -3] and values.tolist() == [2.5, 1e300]
    with pytest.raises(ValueError, match="rows are not 3 columns"):
        _parse_binary_copy(data, "iff")
    with pytest.raises(ValueError, match="not a binary COPY stream"):
        _parse_binary_copy(b"1\t2\n", "i")
    with pytest.raises(ValueError, match="without its trailer"):
        _parse_binary_copy(data[:-2] + b"\x00\x00", "if")
