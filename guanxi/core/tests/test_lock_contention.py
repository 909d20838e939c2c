"""Which database errors are another transaction's locks (answered 503, to try again) and which
are faults, from the errors the databases really raise: PostgreSQL's by their SQLSTATE, which
says the same in every language the server speaks, SQLite's by their words."""

import pytest
from django.db import OperationalError, connection, transaction

from guanxi.core.locking import is_lock_contention
from guanxi.core.testing.threads import in_thread
from guanxi.customers.models import Customer

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL's own errors"
)


def _raised(statements: list[str]) -> OperationalError:
    """The error PostgreSQL raises for the last of ``statements``, run in one transaction on
    a connection of its own while this one holds the customers table."""
    results: dict = {}

    def run():
        with transaction.atomic(), connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {Customer._meta.db_table} IN ACCESS EXCLUSIVE MODE")
        other = in_thread(run, results, "other")
        other.join(30)
        assert not other.is_alive(), "the other connection never gave up"
    assert results["other"][0] == "error", results["other"]
    error = results["other"][1]
    assert isinstance(error, OperationalError), results["other"][-1]
    return error


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_lock_not_had_within_lock_timeout_is_contention():
    error = _raised(
        [
            "SET LOCAL lock_timeout = '100ms'",
            f"SELECT count(*) FROM {Customer._meta.db_table}",  # noqa: S608
        ]
    )
    assert error.__cause__.sqlstate == "55P03"
    assert is_lock_contention(error)


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_lock_refused_to_nowait_is_contention():
    error = _raised([f"LOCK TABLE {Customer._meta.db_table} IN SHARE MODE NOWAIT"])
    assert error.__cause__.sqlstate == "55P03"
    assert is_lock_contention(error)


@on_postgresql
@pytest.mark.django_db
def test_a_statement_cancelled_for_its_own_slowness_is_a_fault():
    # The organisation look-up gives up on a slow walk this way, and catches it itself.
    with (
        pytest.raises(OperationalError) as raised,
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("SET LOCAL statement_timeout = '50ms'")
        cursor.execute("SELECT pg_sleep(1)")
    assert raised.value.__cause__.sqlstate == "57014"
    assert not is_lock_contention(raised.value)


@on_postgresql
@pytest.mark.django_db
def test_a_deadlock_is_told_by_its_sqlstate_in_any_language():
    with (
        pytest.raises(OperationalError) as raised,
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        # What a server speaking another language says is not matched by words.
        cursor.execute("DO $$ BEGIN RAISE EXCEPTION '检测到死锁' USING ERRCODE = '40P01'; END $$")
    assert is_lock_contention(raised.value)


@pytest.mark.parametrize(
    ("message", "contention"),
    [
        ("database is locked", True),
        ("database table is locked: django_session", True),
        ("no such table: customers_customer", False),
        ("disk I/O error", False),
    ],
)
def test_sqlite_is_told_by_its_words(message, contention):
    assert is_lock_contention(OperationalError(message)) is contention


def test_other_errors_are_never_contention():
    assert not is_lock_contention(RuntimeError("database is locked"))
